"""The run: paint the content image in the style images' statistics, scale by scale.

``Stylizer`` is a facade over collaborators with one job each, built in this order: ``RunInputs`` (the
images, opened and checked), a ``Placement`` (device and dtype) and the network, the frozen ``RunPlan``
(scales, sizes, tiling, loss weights, style balance, seed) with the ``TargetCache`` it filled,
``StageObjectives`` (each scale's loss terms), ``StartImages`` (each scale's first image) and a ``Recorder``
(history, best image, progress). ``run()`` walks the scales; a scale too large for memory is handed to
``impasto.engine.tiles.paint_in_tiles`` with a function that paints one tile. Callers get the loop's
hooks: a callback per iteration, the best image so far at any time (also after an interrupt), ``stop()``,
and ``extra_terms`` for loss terms of their own (``impasto.apps.video``'s temporal term).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from ..config.options import Options, resolve_options
from ..config.prints import print_long_side
from ..errors import OptionError
from ..imaging.images import ImageLike, image_to_tensor
from ..loss.objective import Objective
from ..net.features import VGGFeatures
from ..net.weights import VGGWeights, load_weights
from .device import Placement, pick_device
from .inputs import RunInputs
from .objectives import ExtraTerms, StageObjectives
from .optimizers import OPTIMIZERS, ScaleRun
from .plan import plan_run
from .recorder import Progress, Recorder, TileInPlay
from .schedule import Stage
from .start import StartImages
from .tiles import Box, paint_in_tiles

__all__ = ["Stylizer", "Progress", "pick_device", "load_network"]


def load_network(weights: Optional[str] = None, model: str = "vgg19") -> VGGFeatures:
    """A whole VGG stack, loaded once, for many runs (``Stylizer(..., network=...)``, ``stylize(network=...)``)."""
    return VGGFeatures(load_weights(weights, model))


class Stylizer:
    """One style-transfer run. ``run()`` returns the stylized image; ``best_image()`` works at any time.

    Images may be paths, PIL images or arrays. ``network`` (from ``load_network``) lets many runs share one
    loaded VGG; ``weights`` a loaded ``VGGWeights``; ``init_image`` an image to start from instead of
    ``options.init``; ``style_masks``, one per style image, where each style paints (white: here; grey: a
    share; black: not here); ``style_cache``, an ``OrderedDict`` kept by the caller, the paintings' targets
    between runs (the least recently used dropped past ``impasto.engine.targets.STYLE_CACHE_ENTRIES``);
    ``extra_terms``, called with each scale (and the tile of it being painted, the whole scale when
    untiled), more named loss terms for that scale's objective.
    """

    def __init__(
        self,
        content: ImageLike,
        styles: ImageLike | Sequence[ImageLike],
        options: Optional[Options] = None,
        *,
        weights: Optional[VGGWeights] = None,
        network: Optional[VGGFeatures] = None,
        init_image: Optional[ImageLike] = None,
        style_masks: Optional[Sequence[ImageLike]] = None,
        callback: Optional[Callable[[Progress], None]] = None,
        style_cache: Optional["OrderedDict[tuple, dict]"] = None,
        extra_terms: Optional[ExtraTerms] = None,
        **overrides,
    ):
        if options is None:
            options = resolve_options(**overrides)
        elif overrides:
            raise OptionError("pass either an Options object or keyword options, not both")
        self.inputs = RunInputs(content, styles, options, init_image, style_masks)
        if options.print_size is not None:
            # A print size is a size for this photo's aspect ratio (and a batch's options serve many photos).
            options = replace(options, size=print_long_side(options.print_size, options.dpi,
                                                            *self.inputs.content_image.size))
        self.options = options
        self.placement = Placement.named(options.device, options.precision)
        layers = tuple(name for name, _ in options.content_layers + options.style_layers)
        if network is None:
            weights = weights if weights is not None else load_weights(options.weights, options.model)
            network = VGGFeatures(weights, layers)  # cut after the deepest layer this run uses
        if network.model != options.model:
            raise OptionError(f"the network is {network.model}, but the options ask for {options.model}")
        self.network = self.placement.put(network)
        self.plan, self.targets = plan_run(options, self.inputs, self.network, self.placement, style_cache)
        self.objectives = StageObjectives(options, self.plan, self.inputs, self.targets, self.network,
                                          self.placement, extra_terms)
        self.start = StartImages(options, self.inputs, self.network.normalization, self.placement, self.plan.seed)
        self.recorder = Recorder(self.plan, options.log_every, callback)
        self.elapsed = 0.0

    # -- what callers read: views of the collaborators' state ----------------------------------------------

    stages = property(lambda self: self.plan.stages)  # tuple[Stage, ...]
    tiling = property(lambda self: self.plan.tiling)  # Tiling
    seed = property(lambda self: self.plan.seed)  # int, the seed used (drawn when the options gave none)
    total_steps = property(lambda self: self.plan.total_steps)  # int
    output_shape = property(lambda self: self.plan.output_shape)  # (height, width)
    device = property(lambda self: self.placement.device)  # torch.device
    history = property(lambda self: self.recorder.history)  # list[dict], one per logged iteration
    step = property(lambda self: self.recorder.step)  # int, steps done
    content_image = property(lambda self: self.inputs.content_image)  # PIL image
    style_images = property(lambda self: self.inputs.style_images)  # list of PIL images

    @property
    def callback(self) -> Optional[Callable[[Progress], None]]:
        return self.recorder.callback

    @callback.setter
    def callback(self, callback: Optional[Callable[[Progress], None]]) -> None:
        self.recorder.callback = callback

    def stop(self) -> None:
        """Ask the loop to finish after the current iteration (from a callback or another thread)."""
        self.recorder.stop_requested = True

    # -- the loop -----------------------------------------------------------------------------------------

    def run(self) -> Image.Image:
        recorder = self.recorder
        recorder.start_clock()
        previous: Optional[torch.Tensor] = None
        try:
            for stage in self.plan.stages:
                rgb = self.start.first(stage, previous)
                if self.plan.tiling.covers(stage.shape):
                    recorder.canvas = rgb
                    rgb = paint_in_tiles(self.plan.tiling.boxes(stage.shape), rgb, self._tile_painter(stage),
                                         lambda: recorder.stop_requested)
                else:
                    rgb = self.optimize(stage, self.stage_objective(stage), rgb)
                previous = rgb.detach()
                recorder.finish_stage(previous)
                if recorder.stop_requested:
                    break
        finally:
            self.elapsed = recorder.seconds()
        return self.best_image()

    def stage_objective(self, stage: Stage, box: Optional[Box] = None) -> Objective:
        """The named loss terms of one scale (or one tile ``box`` of it): see ``StageObjectives.build``."""
        return self.objectives.build(stage, box)

    def optimize(self, stage: Stage, objective: Objective, rgb: torch.Tensor,
                 tile: Optional[TileInPlay] = None) -> torch.Tensor:
        """Run the stage's optimizer on ``rgb`` (the whole image, or one ``tile`` of it) for the stage's
        iterations, recording every step; returns the optimized image."""
        self.recorder.begin(stage, tile)
        where = f" at scale {stage.index + 1}" + (f", tile {tile.number}/{tile.count}" if tile else "")
        scale = ScaleRun(self.options, stage, self.network.normalization, where)
        optimizer = OPTIMIZERS[self.plan.optimizers[stage.index]]
        return optimizer(rgb, objective, lambda step: self.recorder.record(stage, step), scale)

    def _tile_painter(self, stage: Stage) -> Callable[[int, Box, torch.Tensor], torch.Tensor]:
        count = len(self.plan.tiling.boxes(stage.shape))

        def paint_tile(number: int, box: Box, start: torch.Tensor) -> torch.Tensor:
            return self.optimize(stage, self.stage_objective(stage, box), start, TileInPlay(number, count, box))

        return paint_tile

    # -- images -------------------------------------------------------------------------------------------

    def best_image(self) -> Image.Image:
        """The best image so far, at the output size (upsampled when the run stopped at a coarse scale)."""
        return self.inputs.output_image(self._best_rgb(), self.output_shape)

    def best_pixels(self) -> np.ndarray:
        """``best_image``'s colours in floating point, (H, W, 3) in 0..1: what a 16-bit file is written from."""
        return self.inputs.output_rgb(self._best_rgb(), self.output_shape)[0].permute(1, 2, 0).numpy()

    def _best_rgb(self) -> torch.Tensor:
        rgb = self.recorder.best_rgb()
        return image_to_tensor(self.inputs.painted_content, self.output_shape) if rgb is None else rgb

    def current_image(self) -> Image.Image:
        """The image the optimizer evaluated last (not necessarily the best), at the output size."""
        if self.recorder.current is None or self.recorder.canvas is not None:
            return self.best_image()
        return self.inputs.output_image(self.recorder.current, self.output_shape)

