import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from impasto import Interrupted, Stylizer, stylize
from impasto.errors import OptionError, WeightsError
from impasto.imaging.images import image_to_tensor, tensor_to_image
from impasto.config.options import resolve_options
from tests.conftest import gradient_image, stripes_image

# The engine's mechanics on tiny images: without the default's TV, which at 64 px on hard stripes holds the
# style term back (the default is tuned at 512 px; tests/test_presets.py pins its values).
SMALL = dict(size=64, scales=1, iterations=20, style_weight=1.0, tv_weight=0.0)


def run(content, style, weights, **options):
    stylizer = Stylizer(content, style, resolve_options(**{**SMALL, **options}), weights=weights)
    return stylizer, stylizer.run()


def test_end_to_end_lowers_the_loss_and_changes_the_image(vgg19_weights):
    content = gradient_image(96, 64)
    stylizer, result = run(content, stripes_image(80, 80), vgg19_weights, seed=0)
    assert result.size == (64, 43)
    first, last = stylizer.history[0], stylizer.history[-1]
    # The default's relative losses start from the palette-matched photo: the style term halves in 20 steps
    # while the content term, zero-ish at the start, gives some of it back.
    assert last["style"] < 0.55 * first["style"]
    assert last["total"] < 0.65 * first["total"]
    start = np.asarray(content.resize(result.size, Image.Resampling.LANCZOS), dtype=np.float32)
    assert np.abs(np.asarray(result, dtype=np.float32) - start).mean() > 5.0


def test_coarse_to_fine_warm_starts_each_scale(vgg19_weights):
    stylizer, result = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights,
                           size=96, scales=2, min_size=48, iterations=[8, 4])
    assert [stage.shape for stage in stylizer.stages] == [(32, 48), (64, 96)]
    assert [row["stage"] for row in stylizer.history] == [1] * 8 + [2] * 4
    assert result.size == (96, 64)


def test_same_seed_same_bits(vgg19_weights):
    options = dict(init="uniform", iterations=5)
    _, first = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, seed=7, **options)
    _, second = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, seed=7, **options)
    _, other = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, seed=8, **options)
    assert np.array_equal(np.asarray(first), np.asarray(second))
    assert not np.array_equal(np.asarray(first), np.asarray(other))


def test_a_bfloat16_run_paints_like_a_float32_run_and_says_so(vgg19_weights):
    from impasto.api import run_metadata

    pair = gradient_image(96, 64), stripes_image(80, 80)
    exact, exact_result = run(*pair, vgg19_weights, seed=0, precision="float32")
    lower, lower_result = run(*pair, vgg19_weights, seed=0, precision="bfloat16")
    assert lower.placement.compute_dtype == torch.bfloat16
    # Not the same bits, but the same descent and nearly the same picture.
    assert not np.array_equal(np.asarray(exact_result), np.asarray(lower_result))
    assert lower.history[-1]["style"] < 0.55 * lower.history[0]["style"]
    assert abs(lower.history[-1]["total"] / exact.history[-1]["total"] - 1) < 0.05
    exact_pixels, lower_pixels = (np.asarray(image, dtype=np.float32) for image in (exact_result, lower_result))
    start = np.asarray(pair[0].resize(exact_result.size, Image.Resampling.LANCZOS), dtype=np.float32)
    # The two runs differ by a small share of what painting changed (measured: 9 against 55 grey levels).
    assert np.abs(exact_pixels - lower_pixels).mean() < 0.25 * np.abs(exact_pixels - start).mean()
    assert run_metadata(lower, False)["precision_used"] == "bfloat16"
    assert run_metadata(exact, False)["precision_used"] == "float32"


def test_lbfgs_lowers_the_loss(vgg19_weights):
    stylizer, _ = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, optimizer="lbfgs",
                      iterations=12, init="normal", seed=1, tv_weight=1.0)
    totals = [row["total"] for row in stylizer.history]
    assert len(totals) <= 12 and min(totals) < 0.5 * totals[0]


def test_one_optimizer_per_scale(vgg19_weights):
    stylizer, _ = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, optimizer="lbfgs,adam",
                      size=96, scales=2, min_size=48, iterations=[6, 3])
    assert stylizer.plan.optimizers == ("lbfgs", "adam")
    assert [row["lr"] for row in stylizer.history if row["stage"] == 2] == [0.1] * 3


def test_blend_weights_select_style_images(vgg19_weights):
    content, stripes, other = gradient_image(96, 64), stripes_image(80, 80), gradient_image(50, 50, seed=5)
    _, single = run(content, stripes, vgg19_weights, iterations=4)
    _, blended = run(content, [stripes, other], vgg19_weights, iterations=4, style_blend=[2.0, 0.0])
    assert np.array_equal(np.asarray(single), np.asarray(blended))
    _, mixed = run(content, [stripes, other], vgg19_weights, iterations=4, style_blend=[1.0, 1.0])
    assert not np.array_equal(np.asarray(single), np.asarray(mixed))
    with pytest.raises(OptionError, match="2 weights for 1"):
        run(content, [stripes], vgg19_weights, style_blend=[1.0, 2.0])


def test_init_from_an_image_file(tmp_path, vgg19_weights):
    init = tmp_path / "init.png"
    Image.new("RGB", (30, 20), (255, 0, 0)).save(init)
    stylizer = Stylizer(gradient_image(96, 64), stripes_image(40, 40),
                        resolve_options(**{**SMALL, "init": str(init), "iterations": 1, "lr": 1e-6}),
                        weights=vgg19_weights)
    result = np.asarray(stylizer.run())
    assert result[..., 0].mean() > 250 and result[..., 1].mean() < 5


def test_callback_and_stop(vgg19_weights):
    seen = []

    def callback(progress):
        seen.append((progress.step, progress.iteration, round(progress.work_fraction, 3)))
        if progress.step == 3:
            stylizer.stop()

    stylizer = Stylizer(gradient_image(96, 64), stripes_image(40, 40), resolve_options(**SMALL),
                        weights=vgg19_weights, callback=callback)
    stylizer.run()
    assert [step for step, _, _ in seen] == [1, 2, 3] and seen[-1][2] == 0.15


def test_interrupt_saves_the_best_image(tmp_path, content_path, style_path):
    output = tmp_path / "result.png"

    def interrupt(progress):
        if progress.step == 4:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as caught:
        stylize(content_path, style_path, output=output, history=tmp_path / "h.csv", callback=interrupt, **SMALL)
    assert output.exists() and (tmp_path / "h.csv").read_text().count("\n") == 1 + 4  # header + 4 iterations
    assert caught.value.image.size == (64, 43) and output in caught.value.saved


def test_transparent_content_keeps_alpha(vgg19_weights):
    content = gradient_image(64, 64).convert("RGBA")
    content.putpixel((0, 0), (0, 0, 0, 0))
    _, result = run(content, stripes_image(40, 40), vgg19_weights, iterations=2)
    assert result.mode == "RGBA" and result.getpixel((0, 0))[3] < 128


def test_vgg16_needs_weights_and_runs_with_a_keras_file(tmp_path):
    with pytest.raises(WeightsError, match="Give weights"):
        Stylizer(gradient_image(64, 64), stripes_image(40, 40), resolve_options("keras-blog"))
    h5py = pytest.importorskip("h5py")
    from tests.test_weights import random_convs
    from impasto.config.layers import conv_layer_names

    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with h5py.File(path, "w") as file:
        for name, (weight, bias) in zip(conv_layer_names("vgg16"), random_convs("vgg16")):
            block, index = name[4:].split("_")
            group = file.create_group(f"block{block}_conv{index}")
            group.create_dataset("kernel:0", data=weight.transpose(2, 3, 1, 0) * 10)
            group.create_dataset("bias:0", data=bias)
    stylizer = Stylizer(gradient_image(64, 64), stripes_image(40, 40),
                        resolve_options("keras-blog", weights=str(path), size=48, iterations=6, seed=0))
    stylizer.run()
    assert stylizer.stages[0].shape == (48, 48) and stylizer.history[-1]["total"] < stylizer.history[0]["total"]


def test_style_palette_init_starts_in_the_paintings_colours(vgg19_weights):
    from impasto.imaging.images import image_to_tensor
    from impasto.imaging.palette import color_statistics

    content, style = gradient_image(96, 64), stripes_image(80, 80)
    stylizer = Stylizer(content, style, resolve_options(**SMALL, init_palette="style"), weights=vgg19_weights)
    first = stylizer.start.first(stylizer.stages[0], None).cpu()
    target = color_statistics(image_to_tensor(style))
    # Clipping to 0..1 moves the statistics a little; without palette transfer the mean is far off.
    assert torch.allclose(color_statistics(first).mean, target.mean, atol=0.05)
    plain = Stylizer(content, style, resolve_options(**SMALL, init_palette="content"), weights=vgg19_weights)
    assert (color_statistics(plain.start.first(plain.stages[0], None).cpu()).mean - target.mean).abs().max() > 0.1


def test_mean_init_is_the_networks_mean_pixel(vgg19_weights):
    options = resolve_options(**SMALL, init="mean", init_palette="content", seed=0)
    stylizer = Stylizer(gradient_image(96, 64), stripes_image(80, 80), options, weights=vgg19_weights)
    first = stylizer.start.first(stylizer.stages[0], None)
    caffe_mean_rgb = torch.tensor([123.68, 116.779, 103.939]) / 255
    assert torch.allclose(first.mean(dim=(2, 3)).flatten(), caffe_mean_rgb, atol=1e-4)
    # Noise of std 0.001 in Caffe's 0..255 units: about 4e-6 in 0..1 RGB.
    assert 1e-6 < first.std(dim=(2, 3)).max() < 1e-5


def test_jcjohnson_lbfgs_without_line_search_lowers_the_loss(vgg19_weights):
    options = resolve_options("jcjohnson", size=64, iterations=30, seed=0, log_every=1)
    stylizer = Stylizer(gradient_image(96, 64), stripes_image(80, 80), options, weights=vgg19_weights)
    stylizer.run()
    totals = [row["total"] for row in stylizer.history]
    # One evaluation per iteration (no line search) and a real descent from faint noise.
    assert len(totals) == 30 and min(totals) < 0.7 * totals[0]


def test_jcjohnsons_normalized_gradients_descend_and_paint_another_picture(vgg19_weights):
    images = []
    for normalize in (False, True):
        options = resolve_options("jcjohnson", size=64, iterations=30, seed=0, log_every=1,
                                  normalize_gradients=normalize)
        stylizer = Stylizer(gradient_image(96, 64), stripes_image(80, 80), options, weights=vgg19_weights)
        images.append(np.asarray(stylizer.run(), dtype=np.float32))
        totals = [row["total"] for row in stylizer.history]
        assert len(totals) == 30 and min(totals) < 0.7 * totals[0]
    # Same start, same loss, other gradients: another picture.
    assert np.abs(images[0] - images[1]).mean() > 10.0


def test_style_octaves_add_a_half_size_style_term(vgg19_weights):
    content, style = gradient_image(480, 320), stripes_image(200, 200)
    options = dict(size=400, scales=2, min_size=100, iterations=[1, 1], style_octaves=2, tv_weight=0.0, seed=0)
    stylizer = Stylizer(content, style, resolve_options(**{**SMALL, **options}), weights=vgg19_weights)
    # Only the 400 px scale has a half size (200 px) above the 192 px floor; the 100 px scale has none.
    coarse, fine = (stylizer.stage_objective(stage) for stage in stylizer.stages)
    assert [(term.name, term.downsample) for term in coarse.terms] == [("content", 1), ("style", 1)]
    assert [(term.name, term.downsample) for term in fine.terms] == [("content", 1), ("style", 1), ("style", 2)]
    rgb = stylizer.start.first(stylizer.stages[1], None)
    both = fine(rgb)
    assert list(both) == ["content", "style"]
    half = F.avg_pool2d(rgb, 2)
    octave = fine.terms[2].loss
    dtype = stylizer.placement.compute_dtype  # bfloat16 on AMX or AVX-512 BF16: the preset says auto
    expected = octave(stylizer.network(half, octave.layers, compute_dtype=dtype))
    full = fine.terms[1].loss(stylizer.network(rgb, fine.terms[1].loss.layers, compute_dtype=dtype))
    assert torch.allclose(both["style"], full + expected, rtol=1e-5)


def test_a_loaded_network_and_an_in_memory_init_image(vgg19_weights):
    from impasto import load_network

    network = load_network()
    content, style = gradient_image(96, 64), stripes_image(80, 80)
    init = Image.new("RGB", (30, 20), (0, 0, 255))
    stylizer = Stylizer(content, style,
                        resolve_options(**{**SMALL, "iterations": 1, "lr": 1e-6, "init_palette": "content"}),
                        network=network, init_image=init)
    assert stylizer.network is network
    assert np.asarray(stylizer.run())[..., 2].mean() > 250
    # The same network serves a run with other layers; the result equals a run on its own network.
    options = resolve_options(**{**SMALL, "iterations": 3, "seed": 0, "style_layers": "relu1_1,relu2_1"})
    shared = Stylizer(content, style, options, network=network).run()
    alone = Stylizer(content, style, options, weights=vgg19_weights).run()
    assert np.array_equal(np.asarray(shared), np.asarray(alone))
    with pytest.raises(OptionError, match="init image was given too"):
        Stylizer(content, style, resolve_options(**SMALL, init="uniform"), network=network, init_image=init)


def test_meancov_style_loss_runs_and_lowers_its_term(vgg19_weights):
    stylizer, _ = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, style_loss="meancov",
                      iterations=15, seed=0)
    assert stylizer.plan.statistic.name == "meancov"
    assert stylizer.history[-1]["style"] < 0.6 * stylizer.history[0]["style"]


def test_an_unseeded_run_leaves_the_callers_random_state_alone(vgg19_weights):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    stylizer, _ = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, iterations=1, init="uniform")
    assert torch.equal(torch.rand(3), expected)
    assert 0 <= stylizer.seed < 2**63


def test_d2l_weights_are_carried_to_the_caffe_network_layer_by_layer(vgg19_weights):
    from impasto.net.calibration import CONTENT_LOG_FACTOR, STYLE_LOG_FACTOR
    from impasto.config.layers import conv_layer_names
    from impasto.net.weights import TORCHVISION, VGGWeights

    options = resolve_options("d2l", size=64, scales=1, iterations=1, seed=0)
    stylizer = Stylizer(gradient_image(96, 64), stripes_image(80, 80), options, weights=vgg19_weights)
    calibration = stylizer.plan.calibration
    # Caffe input is 0..255 minus the mean; torchvision's is mean/std-normalized: about 57x apart at the input.
    assert 50 < calibration["input_ratio"] < 65 and calibration["tv"] == pytest.approx(1 / calibration["input_ratio"])
    # On top of the input units, the measured gap between the Caffe weights and torchvision's (impasto.net.calibration).
    assert "Dive-into-DL-PyTorch" in calibration["network_gap"]["source"]
    for name, weight in stylizer.plan.style_layers:
        assert calibration["ratios"][name] > 10
        assert weight == pytest.approx(calibration["ratios"][name] ** -4 * math.exp(STYLE_LOG_FACTOR))
    assert stylizer.plan.content_layers[0][1] == pytest.approx(calibration["ratios"]["relu4_4"] ** -2
                                                          * math.exp(CONTENT_LOG_FACTOR))
    stylizer.run()
    uncalibrated = Stylizer(gradient_image(96, 64), stripes_image(80, 80),
                            resolve_options("d2l", size=64, scales=1, iterations=1, seed=0, loss_units="network"),
                            weights=vgg19_weights)
    uncalibrated.run()
    assert uncalibrated.history[0]["style"] > 1e5 * stylizer.history[0]["style"]
    # Weights in torchvision's own units need nothing carried.
    torchvision_like = VGGWeights("vgg19", vgg19_weights.convs, TORCHVISION, source="test")
    stylizer = Stylizer(gradient_image(96, 64), stripes_image(80, 80), options, weights=torchvision_like)
    assert stylizer.plan.calibration is None
    # The weights gap was measured for the Caffe VGG-19 only: a Caffe-convention VGG-16 gets the input units alone.
    vgg16 = VGGWeights("vgg16", {name: vgg19_weights.convs[name] for name in conv_layer_names("vgg16")},
                       vgg19_weights.normalization, source="test")
    vgg16_run = Stylizer(gradient_image(96, 64), stripes_image(80, 80),
                         resolve_options("d2l", size=64, scales=1, iterations=1, seed=0, model="vgg16",
                                         content_layers="relu4_3"), weights=vgg16)
    assert vgg16_run.plan.calibration["network_gap"] is None
    assert vgg16_run.plan.style_layers[0][1] == pytest.approx(vgg16_run.plan.calibration["ratios"]["relu1_1"] ** -4)


def test_d2l_hands_an_8_bit_bilinear_image_to_its_second_scale_and_does_not_clamp(vgg19_weights):
    options = resolve_options("d2l", size=96, min_size=48, iterations=[3, 1], seed=0, lr=0.5)
    assert options.stage_handoff == "d2l" and options.clamp_pixels is False
    stylizer = Stylizer(gradient_image(96, 64), stripes_image(80, 80), options, weights=vgg19_weights)
    coarse = torch.rand(1, 3, 32, 48) * 1.4 - 0.2  # out of range, not on the 8-bit grid
    start = stylizer.start.first(stylizer.stages[1], coarse)
    expected = image_to_tensor(tensor_to_image(coarse).resize((96, 64), Image.Resampling.BILINEAR))
    assert torch.equal(start, expected) and start.min() >= 0 and start.max() <= 1
    assert torch.allclose(start * 255, (start * 255).round(), atol=1e-4)
    # Without clamping, a large step leaves pixels outside 0..1 (the default preset's clamp would not).
    seen = []
    stylizer.callback = lambda progress: seen.append(stylizer.recorder.current.clone())
    stylizer.run()
    assert any(image.min() < 0 or image.max() > 1 for image in seen)


@pytest.mark.parametrize("preset, pillow_filter", [("d2l", Image.Resampling.BILINEAR),
                                                    ("keras-blog", Image.Resampling.NEAREST),
                                                    ("impasto", Image.Resampling.LANCZOS)])
def test_a_recipe_resizes_its_inputs_with_its_own_librarys_filter(vgg19_weights, preset, pillow_filter):
    # D2L's preprocess is torchvision's Resize (Pillow bilinear); the 2019 Keras blog resized with Pillow 5's
    # default (nearest). The start image and the targets must be those pixels, not impasto's Lanczos ones.
    photo, painting = gradient_image(97, 61, seed=3), stripes_image(83, 71)
    extra = {"model": "vgg19"} if preset == "keras-blog" else {}
    options = resolve_options(preset, size=48, scales=1, iterations=1, seed=0, init="content",
                              init_palette="content", **extra)
    stylizer = Stylizer(photo, painting, options, weights=vgg19_weights)
    shape = stylizer.stages[0].shape
    expected = image_to_tensor(photo.resize((shape[1], shape[0]), pillow_filter))
    assert torch.equal(stylizer.start.first(stylizer.stages[0], None).cpu(), expected)
    # Both documents also resize the painting to the photo's shape; impasto keeps its aspect ratio.
    squashed = preset != "impasto"
    assert stylizer.plan.style_sizing.size(painting, shape) == (shape if squashed else (round(48 * 71 / 83), 48))
    targets = stylizer.targets.features(painting, shape, ["relu1_1"])["relu1_1"]
    reference = stylizer.network(image_to_tensor(painting.resize((shape[1], shape[0]), pillow_filter)),
                                 ["relu1_1"], options.pooling, stylizer.placement.compute_dtype)["relu1_1"]
    assert torch.allclose(targets, reference)
    others = [f for f in (Image.Resampling.BILINEAR, Image.Resampling.NEAREST, Image.Resampling.LANCZOS)
              if f != pillow_filter]
    for other in others:  # the filters really differ on these pixels, so the test can tell them apart
        assert not torch.equal(expected, image_to_tensor(photo.resize((shape[1], shape[0]), other)))


def test_an_unknown_resampling_filter_is_refused():
    with pytest.raises(OptionError, match="resample must be one of"):
        resolve_options("impasto", resample="box")
    with pytest.raises(OptionError, match="resample must be one of"):
        image_to_tensor(gradient_image(8, 8), (4, 4), resample="box")


def test_style_balance_follows_the_paintings_energy_against_the_photos(vgg19_weights):
    from impasto.engine.plan import BALANCE_CLAMP, BALANCE_REFERENCE
    from impasto.net.features import VGGFeatures
    from impasto.loss.statistics import gram_matrix

    content, style = gradient_image(96, 64), stripes_image(80, 80)
    layers = [("relu2_1", 1.0), ("relu3_1", 0.5)]
    stylizer, _ = run(content, style, vgg19_weights, style_layers=layers, style_balance=1.0, style_weight=2.0,
                      iterations=2)
    # By hand: the (C H W)-normalized Grams of the painting against the photo's relu4_2, at the output size.
    network = VGGFeatures(vgg19_weights)
    photo = network(image_to_tensor(content, (43, 64)), ["relu4_2"])["relu4_2"]
    painting = network(image_to_tensor(style, (64, 64)), ["relu2_1", "relu3_1"])
    ratio = sum(w * gram_matrix(painting[name], "d2l").square().mean() for name, w in layers) / photo.square().mean()
    factor = min(BALANCE_CLAMP[1], max(BALANCE_CLAMP[0], ratio.item() / BALANCE_REFERENCE))
    assert stylizer.plan.style_balance["energy_ratio"] == pytest.approx(ratio.item(), rel=1e-3)
    assert stylizer.plan.style_balance["factor"] == pytest.approx(factor, rel=1e-3)
    assert stylizer.plan.style_weight == pytest.approx(2.0 * stylizer.plan.style_balance["factor"])
    # A faint copy of the same painting (a quarter of its contrast) has far less energy: painted more lightly.
    faint = Image.blend(Image.new("RGB", style.size, (128, 128, 128)), style, 0.25)
    faint_run = Stylizer(content, faint, resolve_options(**{**SMALL, "style_layers": layers, "style_balance": 1.0}),
                         weights=vgg19_weights)
    assert faint_run.plan.style_balance["energy_ratio"] < 0.5 * stylizer.plan.style_balance["energy_ratio"]
    # Off: the options' weight as it is.
    plain = Stylizer(content, style, resolve_options(**{**SMALL, "style_balance": 0.0}), weights=vgg19_weights)
    assert plain.plan.style_balance is None and plain.plan.style_weight == SMALL["style_weight"]


def test_the_balances_early_activations_are_the_final_scales_targets(vgg19_weights):
    # The activations measured for the balance are kept for the last scale's targets: the run is bit for bit
    # the run without the balance at the same effective style weight, and nothing stays held afterwards.
    balanced, first = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, seed=3, iterations=4,
                          style_balance=0.7)
    assert not balanced.targets.kept
    _, second = run(gradient_image(96, 64), stripes_image(80, 80), vgg19_weights, seed=3, iterations=4,
                    style_balance=0.0, style_weight=balanced.plan.style_weight)
    assert np.array_equal(np.asarray(first), np.asarray(second))
