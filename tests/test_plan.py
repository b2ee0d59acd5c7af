"""The run plan and its helpers: what a run decides before its first step (impasto.engine.plan)."""
import dataclasses
from collections import OrderedDict

import pytest
import torch
from PIL import Image

from impasto.config.options import resolve_options
from impasto.engine.device import Placement
from impasto.engine.inputs import RunInputs
from impasto.engine.plan import MIN_STYLE_SIDE, StyleSizing, plan_run
from impasto.errors import OptionError
from impasto.net.features import VGGFeatures
from tests.conftest import gradient_image, stripes_image

CPU = Placement(torch.device("cpu"))


def planned(weights, content=None, style=None, style_cache=None, **options):
    options = resolve_options(**{"size": 96, "scales": 2, "min_size": 48, "iterations": [5, 3], **options})
    inputs = RunInputs(content or gradient_image(96, 64), style or stripes_image(80, 80), options)
    network = VGGFeatures(weights, [name for name, _ in options.content_layers + options.style_layers])
    return plan_run(options, inputs, network, CPU, style_cache)


def test_a_plan_is_frozen_and_counts_the_run(vgg19_weights):
    plan, _ = planned(vgg19_weights, optimizer="lbfgs,adam", seed=11)
    assert [stage.shape for stage in plan.stages] == [(32, 48), (64, 96)] and plan.output_shape == (64, 96)
    assert plan.optimizers == ("lbfgs", "adam") and plan.seed == 11
    assert plan.total_steps == 8 and plan.total_work == 5 * 32 * 48 + 3 * 64 * 96
    assert plan.layers == ("relu4_2", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert plan.smallest_side == 16  # relu5_1 lies behind four poolings
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.style_weight = 2.0


def test_the_plan_draws_a_seed_when_none_is_given(vgg19_weights):
    first, _ = planned(vgg19_weights)
    second, _ = planned(vgg19_weights)
    assert 0 <= first.seed < 2**63 and first.seed != second.seed


def test_tiled_scales_count_every_tile_and_get_a_private_style_cache(vgg19_weights):
    plan, targets = planned(vgg19_weights, content=gradient_image(320, 200), size=320, min_size=160, tile=160,
                            iterations=[2, 1], style_balance=0.0)
    tiles = len(plan.tiling.boxes(plan.output_shape))
    assert plan.tiling.tile == 160 and tiles > 1
    assert plan.total_steps == 2 + 1 * tiles
    assert isinstance(targets.style_cache, OrderedDict)  # each tile asks for the same paintings' targets
    whole, untiled_targets = planned(vgg19_weights)
    assert whole.tiling.tile == 0 and untiled_targets.style_cache is None


def test_a_callers_style_cache_must_be_an_ordered_dict(vgg19_weights):
    with pytest.raises(OptionError, match="style_cache must be a collections.OrderedDict"):
        planned(vgg19_weights, style_cache={})
    cache = OrderedDict()
    _, targets = planned(vgg19_weights, style_cache=cache)
    assert targets.style_cache is cache and len(cache) > 0  # the balance's targets are in it already


def test_keras_normalization_folds_the_blogs_constant_into_the_layer_weights(vgg19_weights):
    plan, _ = planned(vgg19_weights, style_normalization="keras", style_layers="relu1_1,relu3_1:0.5",
                      style_balance=0.0)
    # Gatys' 4 C^2 (h w)^2 times C^2 / (9 * 16^poolings): relu1_1 has 64 channels and no pooling, relu3_1 256
    # channels behind two poolings.
    assert plan.style_layers == (("relu1_1", 64**2 / 9), ("relu3_1", 0.5 * 256**2 / (9 * 16**2)))
    assert plan.statistic.name == "gram" and plan.statistic.normalization == "gatys"


def test_style_sizing_scales_the_paintings_with_the_image():
    sizing = StyleSizing(output_long_side=512, base_long_side=256, squash=False, tiled=False)
    painting = Image.new("RGB", (300, 200))
    assert sizing.size(painting, (341, 512)) == (171, 256)  # its own aspect ratio, at half the output
    assert sizing.size(painting, (85, 128)) == (43, 64)
    assert sizing.long_side((8, 8)) == MIN_STYLE_SIDE
    squashed = dataclasses.replace(sizing, squash=True)
    assert squashed.size(painting, (341, 512)) == (170, 256)  # the image's shape
    huge = StyleSizing(output_long_side=8192, base_long_side=8192, squash=False, tiled=True)
    assert huge.long_side((5461, 8192)) == 2048  # a tiled run sees each painting whole, at most 2048 px


def test_sizes_too_small_for_the_network_are_refused_before_anything_is_allocated(vgg19_weights):
    with pytest.raises(OptionError, match="deepest layer needs at least 16 px"):
        planned(vgg19_weights, content=gradient_image(400, 20), size=400, min_size=200)
    with pytest.raises(OptionError, match="style image 1 is 400x10"):
        planned(vgg19_weights, style=stripes_image(400, 10))


def test_the_balance_and_calibration_are_in_the_plan(vgg19_weights):
    plan, targets = planned(vgg19_weights, style_balance=0.5, style_weight=2.0)
    assert plan.style_weight == pytest.approx(2.0 * plan.style_balance["factor"])
    assert plan.calibration is None
    assert targets.kept  # the balance's activations wait for the last scale
    carried, _ = planned(vgg19_weights, loss_units="torchvision", style_balance=0.0, tv_weight=3.0)
    assert 50 < carried.calibration["input_ratio"] < 65
    assert carried.tv_weight == pytest.approx(3.0 * carried.calibration["tv"])
    assert carried.style_layers[0][1] == pytest.approx(carried.calibration["style"]["relu1_1"])
