"""The run plan: everything a run decides before its first step, decided once, in order, and then frozen.

``plan_run`` reads the options and the opened images and settles, in this order: the scales and their
optimizers; the sizes the network and the machine can take (refused here, before anything large is
allocated) and whether large scales are painted in tiles; the loss weights as the losses use them (the
options' per-layer weights, times the measured calibration for weights tuned on torchvision's VGG, with the
Keras blog's constant folded in); and the style weight for this pair (the style balance, which runs the
network on the photo and the paintings at the output size). The result is a frozen ``RunPlan``.
"""
from __future__ import annotations

import functools
import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Optional

from PIL import Image

from ..config.choices import KERAS_STYLE_NORMALIZATION
from ..config.layers import layer_geometry, min_input_side
from ..config.options import Options
from ..errors import ImpastoWarning, OptionError
from ..imaging.images import fit_long_side, image_to_tensor
from ..loss.statistics import GramStatistic, StyleStatistic, blend_targets, style_statistic
from ..net.calibration import torchvision_calibration
from ..net.features import VGGFeatures
from .device import Placement
from .inputs import RunInputs
from .schedule import Stage, plan_stages
from .targets import StyleCache, TargetCache
from .tiles import TILED_STYLE_SIDE, Tiling, plan_tiling

MIN_STYLE_SIDE = 32
# style_balance: the median energy ratio of benchmarks/panel.py's eight pairs at 512 px (0.67 to 19.6 there),
# and the factor's bounds, so that no painting is painted at less than a quarter or more than 4x the preset's
# style weight.
BALANCE_REFERENCE = 7.0
BALANCE_CLAMP = (0.25, 4.0)

WeightedLayers = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class StyleSizing:
    """How large the paintings are seen: ``style_size`` px or ``style_scale`` times the output's long side at
    the output scale, scaled with the image at coarser scales; squashed to the image's shape with
    ``style_shape="content"`` (D2L's and the Keras blog's resize to one shape)."""

    output_long_side: int
    base_long_side: float
    squash: bool
    tiled: bool

    def long_side(self, shape: tuple[int, int]) -> int:
        long_side = max(MIN_STYLE_SIDE, round(self.base_long_side * max(shape) / self.output_long_side))
        # A tiled run sees each painting whole, in one pass: at most TILED_STYLE_SIDE (see impasto.engine.tiles).
        return min(long_side, TILED_STYLE_SIDE) if self.tiled else long_side

    def size(self, image: Image.Image, shape: tuple[int, int]) -> tuple[int, int]:
        """(height, width) of a painting when the image being painted is ``shape``."""
        if self.squash:
            return fit_long_side(shape[1], shape[0], self.long_side(shape))
        return fit_long_side(image.width, image.height, self.long_side(shape))


@dataclass(frozen=True)
class RunPlan:
    """A run's decisions. ``content_layers`` and ``style_layers`` carry the weights the losses use (the
    options', calibrated and folded); ``style_weight`` is the options' times the balance factor."""

    stages: tuple[Stage, ...]
    optimizers: tuple[str, ...]  # one per stage
    layers: tuple[str, ...]  # every layer the run reads
    smallest_side: int  # the least side an image may have for the deepest layer to keep a pixel
    tiling: Tiling
    style_sizing: StyleSizing
    statistic: StyleStatistic
    content_layers: WeightedLayers
    style_layers: WeightedLayers
    tv_weight: float
    style_weight: float
    calibration: Optional[dict]
    style_balance: Optional[dict]
    seed: int

    @property
    def output_shape(self) -> tuple[int, int]:
        return self.stages[-1].shape

    @functools.cached_property
    def total_steps(self) -> int:
        return sum(stage.iterations * len(self.tiling.boxes(stage.shape)) for stage in self.stages)

    @functools.cached_property
    def total_work(self) -> int:
        """Pixel-iterations of the whole run: a fair basis for an ETA when later scales are slower."""
        return sum(stage.iterations * box.pixels for stage in self.stages for box in self.tiling.boxes(stage.shape))


def plan_run(options: Options, inputs: RunInputs, network: VGGFeatures, placement: Placement,
             style_cache: Optional[StyleCache] = None) -> tuple[RunPlan, TargetCache]:
    """The plan of a run, and the target cache it filled on the way (the balance's activations are kept
    there for the last scale)."""
    stages = tuple(plan_stages(options, inputs.content_image.size))
    layers = tuple(name for name, _ in options.content_layers + options.style_layers)
    smallest_side = min_input_side(layers, options.model)
    output_shape = stages[-1].shape
    output_long = max(output_shape)
    sizing = StyleSizing(output_long, options.style_size or (options.style_scale or 1.0) * output_long,
                         options.style_shape == "content", tiled=False)
    _check_sizes(options, inputs, stages, smallest_side, sizing)
    tiling = plan_tiling([stage.shape for stage in stages], placement.device, options.tile, options.tile_overlap,
                         placement.dtype)
    if tiling.tile:
        sizing = replace(sizing, tiled=True)
    _warn_upscale(inputs, output_shape)
    if style_cache is not None and not isinstance(style_cache, OrderedDict):
        raise OptionError("style_cache must be a collections.OrderedDict (kept least recently used first)")
    # A tiled scale asks for the same style targets once per tile: a private cache when none was given.
    targets = TargetCache(network, placement, options.resample, options.pooling,
                          style_cache if style_cache is not None or not tiling.tile else OrderedDict())
    calibration = _calibrate(options, inputs, stages[0], network, placement)
    content_layers, style_layers, tv_weight = _loss_weights(options, calibration)
    balance = _style_balance(options, inputs, output_shape, tiling, sizing, targets)
    keras = options.style_normalization == KERAS_STYLE_NORMALIZATION
    # Without a seed, a fresh one from the operating system: torch.seed() would reseed PyTorch's global
    # generator and change the caller's random state. The seed used is kept (and recorded in the output).
    seed = options.seed if options.seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
    plan = RunPlan(
        stages=stages, optimizers=tuple(options.stage_optimizers()), layers=layers, smallest_side=smallest_side,
        tiling=tiling, style_sizing=sizing,
        statistic=style_statistic(options.style_loss, "gatys" if keras else options.style_normalization),
        content_layers=content_layers, style_layers=style_layers, tv_weight=tv_weight,
        style_weight=options.style_weight * (balance["factor"] if balance else 1.0),
        calibration=calibration, style_balance=balance, seed=seed)
    return plan, targets


def _check_sizes(options: Options, inputs: RunInputs, stages: tuple[Stage, ...], smallest: int,
                 sizing: StyleSizing) -> None:
    """Refuse sizes the network cannot take, before anything large is allocated."""
    output_long = max(stages[-1].shape)
    for stage in stages:
        if min(stage.shape) < smallest:
            width, height = inputs.content_image.size
            raise OptionError(
                f"at scale {stage.index + 1} the image would be {stage.shape[1]}x{stage.shape[0]} px, but the "
                f"deepest layer needs at least {smallest} px on each side; content {width}x{height} is too "
                f"thin for an output of {output_long} px (crop it, or raise size / min_size)")
    style_smallest = min_input_side([name for name, _ in options.style_layers], options.model)
    first_shape = min(stages, key=lambda stage: stage.pixels).shape
    for index, image in enumerate(inputs.style_images, start=1):
        height, width = sizing.size(image, first_shape)
        if min(height, width) < style_smallest:
            raise OptionError(
                f"style image {index} is {image.width}x{image.height}: at the first scale it would be "
                f"{width}x{height} px, but the style layers need at least {style_smallest} px on each side "
                f"(crop it to a less elongated shape, or raise style_size / style_scale)")


def _warn_upscale(inputs: RunInputs, output_shape: tuple[int, int]) -> None:
    content = inputs.content_image
    upscale = max(output_shape) / max(content.size)
    if upscale > 2:
        warnings.warn(f"the content image is {content.width}x{content.height}; it is upscaled {upscale:.1f}x to "
                      f"the output size, so expect a soft result", ImpastoWarning)


def _calibrate(options: Options, inputs: RunInputs, first: Stage, network: VGGFeatures,
               placement: Placement) -> Optional[dict]:
    """With ``loss_units="torchvision"``, the factors that carry D2L-tuned weights to this network
    (``impasto.net.calibration``); None otherwise."""
    if options.loss_units != "torchvision":
        return None
    rgb = placement.put(image_to_tensor(inputs.content_image, first.shape, resample=options.resample))
    return torchvision_calibration(network, rgb, [name for name, _ in options.content_layers],
                                   [name for name, _ in options.style_layers], options.pooling)


def _loss_weights(options: Options, calibration: Optional[dict]) -> tuple[WeightedLayers, WeightedLayers, float]:
    """The per-layer weights the losses use: the options', times the calibration where there is one, and
    the TV weight likewise."""
    content_layers = tuple((name, w * calibration["content"][name] if calibration else w)
                           for name, w in options.content_layers)
    style_layers = tuple((name, w * calibration["style"][name] if calibration else w)
                         for name, w in options.style_layers)
    if options.style_normalization == KERAS_STYLE_NORMALIZATION:
        # The blog's 4 * 3^2 * (H W)^2 for every layer = Gatys' 4 C^2 (h w)^2 * C^2 / (9 * 16^poolings).
        geometry = {name: layer_geometry(name, options.model) for name, _ in style_layers}
        style_layers = tuple((name, w * geometry[name][0] ** 2 / (9 * 16 ** geometry[name][1]))
                             for name, w in style_layers)
    return content_layers, style_layers, options.tv_weight * (calibration["tv"] if calibration else 1.0)


def _style_balance(options: Options, inputs: RunInputs, shape: tuple[int, int], tiling: Tiling,
                   sizing: StyleSizing, targets: TargetCache) -> Optional[dict]:
    """The style weight's factor for this pair when ``options.style_balance`` > 0, else None.

    The energy ratio E = sum_l w_l mean(A_l^2) / sum_c w_c mean(P_c^2) sets the paintings' Gram matrices
    A_l (over C H W, blended as the styles are) against the photo's content activations P_c, at the output
    size ``shape``, with the options' layer weights. It is the factor by which jcjohnson/neural-style's
    absolute losses weigh style against content for this pair: a painting whose textures are faint in the
    network (udnie's greys) or a photo whose activations are strong is painted more lightly there and keeps
    its structure. Relative losses give every pair the same balance, which over-paints those pairs; the
    factor (E / BALANCE_REFERENCE) ** style_balance brings part of jcjohnson's balance back, clamped to
    BALANCE_CLAMP. BALANCE_REFERENCE is the median E of the development panel: a typical pair keeps the
    preset's style weight.
    """
    if not options.style_balance or not options.style_weight or not options.content_layers:
        return None
    content_names = [name for name, _ in options.content_layers]
    style_names = [name for name, _ in options.style_layers]
    # The final scale needs these same activations: they are kept for it (TargetCache.kept). A tiled run
    # takes the means tile by tile (the output would not fit through the network whole).
    whole = not tiling.covers(shape)
    sums = {name: 0.0 for name in content_names}
    counts = {name: 0 for name in content_names}
    for box in tiling.boxes(shape):
        photo = targets.features(inputs.painted_content, shape, content_names, keep=whole, box=None if whole else box)
        for name in content_names:
            sums[name] += photo[name].square().sum()
            counts[name] += photo[name].numel()
    content_energy = sum(w * sums[name] / counts[name] for name, w in options.content_layers)
    per_image = [targets.style_targets(image, sizing.size(image, shape), style_names, GramStatistic("d2l"),
                                       keep=whole)
                 for image in inputs.painted_styles]
    blended = {name: blend_targets([image_targets[name] for image_targets in per_image], inputs.style_blend)[0]
               for name in style_names}
    style_energy = sum(w * blended[name].square().mean() for name, w in options.style_layers)
    ratio = (style_energy / content_energy.clamp_min(1e-30)).item()
    low, high = BALANCE_CLAMP
    factor = min(high, max(low, (ratio / BALANCE_REFERENCE) ** options.style_balance))
    return {"energy_ratio": round(ratio, 4), "factor": round(factor, 4)}
