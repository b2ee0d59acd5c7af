"""The run: paint the content image in the style images' statistics, scale by scale.

``Stylizer`` holds everything that lives for a whole run (images, network, schedule, history, best image)
and builds each scale's objective; the optimizers themselves are functions in ``impasto.optimizers``. It
exposes the loop to callers who want it: a callback per iteration, the best image so far at any time (also
after an interrupt), and a ``stop()`` request. A scale too large for memory is painted in tiles by
``impasto.tiles`` through ``optimize`` and ``stage_objective(stage, box)``; callers add loss terms of their
own with ``extra_terms`` (``impasto.video``'s temporal term).
"""
from __future__ import annotations

import functools
from collections import OrderedDict
import hashlib
import os
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from PIL import Image

from ..net.calibration import torchvision_calibration
from ..errors import ImpastoWarning, NumericalError, OptionError
from ..net.features import VGGFeatures
from ..imaging.images import ImageLike, fit_long_side, image_to_tensor, load_image, open_image, tensor_to_image
from ..config.layers import layer_geometry, min_input_side
from ..config.choices import INIT_KINDS, KERAS_STYLE_NORMALIZATION
from ..loss.statistics import GramStatistic, StyleStatistic, Target, blend_targets, style_statistic
from ..loss.terms import ContentLoss, StyleLoss, TotalVariationLoss
from ..loss.objective import NamedTerm, Objective
from .optimizers import Step, adam, lbfgs
from ..config.options import Options, resolve_options
from ..imaging.palette import blend_color_statistics, color_statistics, luminance_image, match_colors, with_chroma
from .schedule import Stage, learning_rate, plan_stages
from .tiles import TILED_STYLE_SIDE, Box, Tiling, paint_in_tiles, plan_tiling
from ..net.weights import VGGWeights, load_weights

__all__ = ["Stylizer", "Progress", "NumericalError", "pick_device", "load_network"]


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def pick_device(name: str) -> torch.device:
    """``auto`` takes CUDA, then Apple's MPS, then the CPU; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise OptionError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU (use 'auto' or 'cpu')")
    if name == "mps" and not _mps_available():
        raise OptionError("device 'mps' was asked for, but Apple's MPS backend is not available")
    return torch.device(name)


def load_network(weights: Optional[str] = None, model: str = "vgg19") -> VGGFeatures:
    """A whole VGG stack, loaded once, for many runs (``Stylizer(..., network=...)``, ``stylize(network=...)``)."""
    return VGGFeatures(load_weights(weights, model))


@dataclass
class Progress:
    """What the callback gets after every iteration."""

    stage: Stage
    stages: int
    iteration: int  # 1-based within the stage
    step: int  # 1-based over the whole run
    total_steps: int
    terms: dict[str, float]  # the weighted loss terms by name ("content", "style", "tv"...)
    total: float
    lr: float
    elapsed: float
    work_fraction: float  # share of the run's pixel-iterations done: a fair basis for an ETA
    tile: int = 1  # 1-based tile within the stage (big outputs are painted in tiles, see impasto.tiles)
    tiles: int = 1

    @property
    def eta(self) -> float:
        """Seconds left, extrapolated from the pixel-weighted work done so far."""
        return self.elapsed * (1.0 - self.work_fraction) / self.work_fraction if self.work_fraction else float("inf")


class Stylizer:
    """One style-transfer run. ``run()`` returns the stylized image; ``best_image()`` works at any time.

    Images may be paths, PIL images or arrays. ``network`` (from ``load_network``) lets many runs share one
    loaded VGG; ``weights`` a loaded ``VGGWeights``; ``init_image`` an image to start from instead of
    ``options.init``; ``style_masks``, one per style image, where each style paints (white: here; grey: a
    share; black: not here); ``style_cache``, an ``OrderedDict`` kept by the caller, the paintings' targets
    between runs (the least recently used dropped past ``STYLE_CACHE_ENTRIES``); ``extra_terms``, called
    with each scale (and the tile of it being painted, the whole scale when untiled), more named loss terms
    for that scale's objective (``impasto.video``'s temporal term).
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
        extra_terms: Optional[Callable[[Stage, Box], Sequence[NamedTerm]]] = None,
        **overrides,
    ):
        if options is None:
            options = resolve_options(**overrides)
        elif overrides:
            raise OptionError("pass either an Options object or keyword options, not both")
        self.options = options
        self.callback = callback
        self.extra_terms = extra_terms
        limit = options.max_input_pixels
        self.content_image, self.content_alpha = open_image(content, "content image", limit)
        style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        if not style_list:
            raise OptionError("at least one style image is needed")
        self.style_images = [load_image(style, f"style image {i + 1}", limit) for i, style in enumerate(style_list)]
        blend = options.style_blend or [1.0] * len(self.style_images)
        if len(blend) != len(self.style_images):
            raise OptionError(f"style_blend has {len(blend)} weights for {len(self.style_images)} style images")
        self.style_blend = [w / sum(blend) for w in blend]
        self.style_mask_sources = list(style_masks) if isinstance(style_masks, (list, tuple)) else \
            ([style_masks] if style_masks is not None else None)
        self.style_masks = self._open_masks(self.style_mask_sources, limit)
        # What the losses see: the user's images, or their luminance / recoloured versions (preserve_colors).
        self.painted_content, self.painted_styles = self._painted_images()
        self.init_image = None
        if init_image is not None:
            if options.init != "content":
                raise OptionError(f"init is {options.init!r} and an init image was given too: give one of them")
            self.init_image = load_image(init_image, "init image", limit)
        elif options.init not in INIT_KINDS:
            self.init_image = load_image(options.init, "init image", limit)
        self.device = pick_device(options.device)
        self.layers = tuple(name for name, _ in options.content_layers + options.style_layers)
        if network is None:
            weights = weights if weights is not None else load_weights(options.weights, options.model)
            network = VGGFeatures(weights, self.layers)  # cut after the deepest layer this run uses
        if network.model != options.model:
            raise OptionError(f"the network is {network.model}, but the options ask for {options.model}")
        self.network = network.to(self.device)
        keras = options.style_normalization == KERAS_STYLE_NORMALIZATION
        self.statistic = style_statistic(options.style_loss, "gatys" if keras else options.style_normalization)
        self.stages = plan_stages(options, self.content_image.size)
        self.stage_optimizers = options.stage_optimizers()
        self._smallest_side = min_input_side(self.layers, options.model)
        self.tiling = Tiling()
        self._check_sizes()
        self.calibration = self._calibrate()
        # The per-layer weights the losses use: the options', times the calibration where there is one.
        self.content_layers = [(name, w * self.calibration["content"][name] if self.calibration else w)
                               for name, w in options.content_layers]
        self.style_layers = [(name, w * self.calibration["style"][name] if self.calibration else w)
                             for name, w in options.style_layers]
        if keras:
            # The blog's 4 * 3^2 * (H W)^2 for every layer = Gatys' 4 C^2 (h w)^2 * C^2 / (9 * 16^poolings).
            geometry = {name: layer_geometry(name, options.model) for name, _ in self.style_layers}
            self.style_layers = [(name, w * geometry[name][0] ** 2 / (9 * 16 ** geometry[name][1]))
                                 for name, w in self.style_layers]
        self.tv_weight = options.tv_weight * (self.calibration["tv"] if self.calibration else 1.0)
        self._kept_features: dict[tuple, dict[str, torch.Tensor]] = {}
        self._fingerprints: dict[int, str] = {}
        if style_cache is not None and not isinstance(style_cache, OrderedDict):
            raise OptionError("style_cache must be a collections.OrderedDict (kept least recently used first)")
        # A tiled scale asks for the same style targets once per tile: a private cache when none was given.
        self.style_cache = style_cache if style_cache is not None or not self.tiling.tile else OrderedDict()
        self.style_balance = self._style_balance()
        self.style_weight = options.style_weight * (self.style_balance["factor"] if self.style_balance else 1.0)
        self.total_steps = sum(stage.iterations * len(self.tiling.boxes(stage.shape)) for stage in self.stages)
        self._total_work = sum(stage.iterations * box.pixels for stage in self.stages
                               for box in self.tiling.boxes(stage.shape))
        self._work_done = 0
        self.history: list[dict] = []
        self.step = 0
        self.elapsed = 0.0
        self._start = 0.0
        self._stop_requested = False
        # Both hold RGB (0..1, unclipped), whatever units the stage's optimizer moves.
        self._best: Optional[tuple[float, torch.Tensor]] = None  # (loss, image) of the current stage
        self._result: Optional[torch.Tensor] = None  # image at the end of the latest finished stage
        self._current: Optional[torch.Tensor] = None  # the latest evaluated image
        self._canvas: Optional[torch.Tensor] = None  # a tiled scale's image, done tiles laid in (impasto.tiles)
        self._tile: tuple[int, int, Box] = (1, 1, Box(0, 0, 0, 0))  # (number, count, box) being optimized
        self.generator = torch.Generator()
        # Without a seed, a fresh one from the operating system: torch.seed() would reseed PyTorch's global
        # generator and change the caller's random state. The seed used is kept (and recorded in the output).
        self.seed = options.seed if options.seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
        self.generator.manual_seed(self.seed)

    # -- public -------------------------------------------------------------------------------------------

    @property
    def output_shape(self) -> tuple[int, int]:
        return self.stages[-1].shape

    def stop(self) -> None:
        """Ask the loop to finish after the current iteration (from a callback or another thread)."""
        self._stop_requested = True

    def run(self) -> Image.Image:
        self._start = time.perf_counter()
        previous: Optional[torch.Tensor] = None
        try:
            for stage in self.stages:
                rgb = self._initial_rgb(stage, previous)
                if self.tiling.covers(stage.shape):
                    rgb = paint_in_tiles(self, stage, rgb)
                else:
                    rgb = self.optimize(stage, self.stage_objective(stage), rgb)
                previous = rgb.detach()
                self._result = previous
                self._best = self._canvas = None
                if self._stop_requested:
                    break
        finally:
            self.elapsed = time.perf_counter() - self._start
        return self.best_image()

    def optimize(self, stage: Stage, objective: Objective, rgb: torch.Tensor,
                 tile: Optional[tuple[int, int, Box]] = None) -> torch.Tensor:
        """Run the stage's optimizer on ``rgb`` (the whole image, or one ``tile`` = (number, count, box)
        of it) for the stage's iterations, recording every step; returns the optimized image."""
        self._tile = tile or (1, 1, Box(0, 0, *stage.shape))
        self._best = None
        where = f" at scale {stage.index + 1}" + (f", tile {tile[0]}/{tile[1]}" if tile else "")
        on_step = lambda step: self._record(stage, step)  # noqa: E731
        if self.stage_optimizers[stage.index] == "adam":
            schedule = lambda i: learning_rate(self.options, stage, i)  # noqa: E731
            return adam(rgb, objective, stage.iterations, on_step, schedule, where, clamp=self.options.clamp_pixels)
        return lbfgs(rgb, objective, stage.iterations, on_step, self.network.normalization,
                     self.options.lbfgs_history, None if self.options.line_search == "none" else self.options.line_search,
                     where, restart=self.options.lbfgs_restart)

    def best_image(self) -> Image.Image:
        """The best image so far, at the output size (upsampled when the run stopped at a coarse scale)."""
        if self._canvas is not None:
            return self._output_image(self._canvas)  # a tiled scale: its finished tiles over the warm start
        if self._best is not None and (self._result is None or self._result.shape[-2:] != self._best[1].shape[-2:]):
            rgb = self._best[1]
        elif self._result is not None:
            rgb = self._result
        else:
            return self._output_image(image_to_tensor(self.painted_content, self.output_shape))
        return self._output_image(rgb)

    def current_image(self) -> Image.Image:
        """The image the optimizer evaluated last (not necessarily the best), at the output size."""
        if self._current is None or self._canvas is not None:
            return self.best_image()
        return self._output_image(self._current)

    @functools.cached_property
    def _photo_at_output_size(self) -> torch.Tensor:
        """The content image resized to the output once, not again for every snapshot and timelapse frame."""
        return image_to_tensor(self.content_image, self.output_shape)

    def _output_image(self, rgb: torch.Tensor) -> Image.Image:
        """An iterate as the user gets it: at the output size, with the photo's colours or alpha if kept."""
        rgb = rgb.detach().float().cpu()
        if tuple(rgb.shape[-2:]) != self.output_shape:
            rgb = F.interpolate(rgb, size=self.output_shape, mode="bicubic", align_corners=False)
        if self.options.preserve_colors == "luminance":
            rgb = with_chroma(rgb.clamp(0, 1), self._photo_at_output_size)
        image = tensor_to_image(rgb)
        if self.content_alpha is not None:
            # A transparent content image keeps its transparency: its alpha, resized, goes on the result.
            image.putalpha(self.content_alpha.resize(image.size, Image.Resampling.LANCZOS))
        return image

    def _check_sizes(self) -> None:
        """Refuse sizes the network or the machine cannot take, before anything large is allocated."""
        smallest = self._smallest_side
        for stage in self.stages:
            if min(stage.shape) < smallest:
                width, height = self.content_image.size
                raise OptionError(
                    f"at scale {stage.index + 1} the image would be {stage.shape[1]}x{stage.shape[0]} px, but the "
                    f"deepest layer needs at least {smallest} px on each side; content {width}x{height} is too "
                    f"thin for an output of {max(self.output_shape)} px (crop it, or raise size / min_size)")
        style_layers = [name for name, _ in self.options.style_layers]
        style_smallest = min_input_side(style_layers, self.options.model)
        first_shape = min(self.stages, key=lambda stage: stage.pixels).shape
        for index, image in enumerate(self.style_images, start=1):
            height, width = self._style_size(image, first_shape)
            if min(height, width) < style_smallest:
                raise OptionError(
                    f"style image {index} is {image.width}x{image.height}: at the first scale it would be "
                    f"{width}x{height} px, but the style layers need at least {style_smallest} px on each side "
                    f"(crop it to a less elongated shape, or raise style_size / style_scale)")
        self.tiling = plan_tiling([stage.shape for stage in self.stages], self.device, self.options.tile,
                                  self.options.tile_overlap)
        upscale = max(self.output_shape) / max(self.content_image.size)
        if upscale > 2:
            warnings.warn(f"the content image is {self.content_image.width}x{self.content_image.height}; it is "
                          f"upscaled {upscale:.1f}x to the output size, so expect a soft result", ImpastoWarning)

    # -- per stage ----------------------------------------------------------------------------------------

    def stage_objective(self, stage: Stage, box: Optional[Box] = None) -> Objective:
        """The named loss terms of one scale, their targets computed once: ``content``, ``style``, ``tv``.

        With ``style_octaves`` > 1 the style is also matched on the image average-pooled 2x, 4x... against
        the paintings at that size (part of the ``style`` term). Without it the finest scale refines texture
        at its own size and undoes part of the large strokes the coarse scales placed. An octave is used only
        where its long side is at least MIN_OCTAVE_SIDE. With ``box`` (a tile of a large scale), the objective
        of that tile alone: the photo's targets cropped to it, the paintings' as for the whole scale.
        """
        options = self.options
        box = box or Box(0, 0, *stage.shape)
        terms = []
        if options.content_weight and self.content_layers:
            terms.append(NamedTerm("content", self._content_loss(stage.shape, box)))
        if options.style_weight:
            for octave in range(options.style_octaves):
                factor = 2**octave
                shape = (stage.shape[0] // factor, stage.shape[1] // factor)
                view = (box.height // factor, box.width // factor)
                if octave and (max(view) < MIN_OCTAVE_SIDE or min(view) < self._smallest_side):
                    break
                terms += [NamedTerm("style", loss, downsample=factor)
                          for loss in self._style_losses(shape, _scaled_box(box, factor))]
        if self.tv_weight:
            terms.append(NamedTerm("tv", TotalVariationLoss(self.tv_weight, options.tv_kind, options.tv_beta)))
        if self.extra_terms is not None:
            terms += list(self.extra_terms(stage, box))
        return Objective(self.network, terms, options.pooling)

    @torch.no_grad()
    def _content_loss(self, shape: tuple[int, int], box: Box) -> ContentLoss:
        options = self.options
        names = [name for name, _ in options.content_layers]
        features = self._features(self.painted_content, shape, names, box=box)
        return ContentLoss({name: features[name] for name in names}, self.content_layers,
                           options.content_weight, options.content_reduction)

    def _style_long_side(self, shape: tuple[int, int]) -> int:
        """The paintings' long side when the image is ``shape``: style_size or style_scale at the output
        size, scaled with the image at coarser scales."""
        final_long = max(self.output_shape)
        base = self.options.style_size or (self.options.style_scale or 1.0) * final_long
        long_side = max(MIN_STYLE_SIDE, round(base * max(shape) / final_long))
        # A tiled run sees each painting whole, in one pass: at most TILED_STYLE_SIDE (see impasto.tiles).
        return min(long_side, TILED_STYLE_SIDE) if self.tiling.tile else long_side

    def _style_size(self, image: Image.Image, shape: tuple[int, int]) -> tuple[int, int]:
        """(height, width) a painting is seen at when the image is ``shape``: its own aspect ratio, or with
        ``style_shape="content"`` squashed to the image's (D2L's and the Keras blog's resize to one shape)."""
        long_side = self._style_long_side(shape)
        if self.options.style_shape == "content":
            return fit_long_side(shape[1], shape[0], long_side)
        return fit_long_side(image.width, image.height, long_side)

    @torch.no_grad()
    def _style_losses(self, shape: tuple[int, int], box: Box) -> list[StyleLoss]:
        """Style terms for the ``box`` of an image of ``shape``, each painting seen at the size matching
        the whole image.

        Without masks: one term, the paintings' targets blended by weight. With masks: one term per painting,
        on its own region only (a guided statistic), weighted by its blend weight.
        """
        options = self.options
        names = [name for name, _ in options.style_layers]
        per_image = [self._style_targets(image, self._style_size(image, shape), names, self.statistic)
                     for image in self.painted_styles]
        if self.style_masks is None:
            targets = {name: self.statistic.prepare(blend_targets([t[name] for t in per_image], self.style_blend))
                       for name in names}
            return [StyleLoss(self.statistic, targets, self.style_layers, self.style_weight)]
        losses = []
        for targets, mask, weight in zip(per_image, self._region_masks(shape, box), self.style_blend):
            layer_masks = self.network.propagate_mask(mask.to(self.device), names)
            prepared = {name: self.statistic.prepare(target) for name, target in targets.items()}
            # Blend weights sum to 1; each region's term is scaled so that equal weights give each the full
            # style weight, as a single painting would have.
            losses.append(StyleLoss(self.statistic, prepared, self.style_layers,
                                    self.style_weight * weight * len(self.style_images), layer_masks))
        return losses

    def _initial_rgb(self, stage: Stage, previous: Optional[torch.Tensor]) -> torch.Tensor:
        if previous is not None:
            # Warm start: the coarser result, upsampled, carries its large strokes into this scale.
            if self.options.stage_handoff == "d2l":
                # D2L: postprocess (clamp, 8-bit PIL image), then preprocess (PIL's bilinear Resize).
                image = tensor_to_image(previous).resize((stage.shape[1], stage.shape[0]),
                                                         Image.Resampling.BILINEAR)
                return image_to_tensor(image).to(self.device)
            return F.interpolate(previous, size=stage.shape, mode="bicubic", align_corners=False)
        init = self.options.init
        height, width = stage.shape
        if self.init_image is not None:
            rgb = image_to_tensor(self.init_image, stage.shape, resample=self.options.resample)
        elif init == "content":
            rgb = image_to_tensor(self.painted_content, stage.shape, resample=self.options.resample)
        elif init == "uniform":
            rgb = torch.rand((1, 3, height, width), generator=self.generator)
        elif init == "normal":
            rgb = 0.5 + 0.25 * torch.randn((1, 3, height, width), generator=self.generator)
        elif init == "mean":
            # jcjohnson's "-init random": the network's mean pixel plus noise of std 0.001 in its input units.
            noise = 0.001 * torch.randn((1, 3, height, width), generator=self.generator)
            rgb = self.network.normalization.postprocess(noise)
        elif init == "keras":
            # The Keras blog: np.random.uniform(0, 255, shape) - 128 in the preprocessed (network) space.
            noise = torch.rand((1, 3, height, width), generator=self.generator) * 255.0 - 128.0
            rgb = self.network.normalization.postprocess(noise)
        else:
            raise OptionError(f"unknown init {init!r}")  # options.validate lets nothing else through
        if self.options.init_palette == "style":
            stats = [color_statistics(image_to_tensor(image, fit_long_side(image.width, image.height, 256)))
                     for image in self.painted_styles]  # at 256 px: plenty for colour statistics
            if self.style_masks is None:
                rgb = match_colors(rgb, blend_color_statistics(stats, self.style_blend))
            else:
                # Each region in its own painting's colours; where no mask paints, the start keeps its own.
                masks = self._region_masks(stage.shape)
                rgb = sum((mask * match_colors(rgb, stat) for mask, stat in zip(masks, stats)),
                          (1 - sum(masks)) * rgb)
        return rgb.to(self.device)

    # -- inputs -------------------------------------------------------------------------------------------

    def _calibrate(self) -> Optional[dict]:
        """With ``loss_units="torchvision"``, the factors that carry D2L-tuned weights to this network
        (``impasto.calibration``); None otherwise."""
        options = self.options
        if options.loss_units != "torchvision":
            return None
        rgb = image_to_tensor(self.content_image, self.stages[0].shape, resample=options.resample).to(self.device)
        return torchvision_calibration(self.network, rgb, [name for name, _ in options.content_layers],
                                       [name for name, _ in options.style_layers], options.pooling)

    @torch.no_grad()
    def _features(self, image: Image.Image, shape: tuple[int, int], names: list[str],
                  keep: bool = False, box: Optional[Box] = None) -> dict[str, torch.Tensor]:
        """The network's activations of ``image`` resized to ``shape`` (only its ``box`` when given); with
        ``keep``, held until the next request for the same image, shape and layers takes them (a target
        computed early is not computed twice)."""
        if box is not None and (box.height, box.width) != tuple(shape):
            rgb = image_to_tensor(image, shape, _box_tuple(box), self.options.resample)
            return self.network(rgb.to(self.device), names, self.options.pooling)
        key = (id(image), tuple(shape), tuple(names))
        if key in self._kept_features:
            return self._kept_features.pop(key)
        rgb = image_to_tensor(image, shape, resample=self.options.resample)
        features = self.network(rgb.to(self.device), names, self.options.pooling)
        if keep:
            self._kept_features[key] = features
        return features

    @torch.no_grad()
    def _style_targets(self, image: Image.Image, size: tuple[int, int], names: list[str],
                       statistic: StyleStatistic, keep: bool = False) -> dict[str, Target]:
        """One painting's ``statistic`` targets at ``size``, from ``style_cache`` when a caller shares one
        between runs (``impasto batch``: the same painting for many photos). ``keep`` as in ``_features``."""
        key = None
        if self.style_cache is not None:  # the pixel digest is only worth its time when there is a cache
            key = (self._fingerprint(image), tuple(size), tuple(names), self.options.pooling, statistic.name,
                   statistic.normalization, str(self.device))
        if key is not None and key in self.style_cache:
            self.style_cache.move_to_end(key)
            self._kept_features.pop((id(image), tuple(size), tuple(names)), None)
            return self.style_cache[key]
        features = self._features(image, size, names, keep=keep)
        targets = {name: statistic.target(features[name]) for name in names}
        if key is not None:
            self.style_cache[key] = targets
            while len(self.style_cache) > STYLE_CACHE_ENTRIES:
                self.style_cache.popitem(last=False)  # the least recently used
        return targets

    def _fingerprint(self, image: Image.Image) -> str:
        """A digest of the pixels: two runs' paintings share cached targets only if they are the same image."""
        if id(image) not in self._fingerprints:
            digest = hashlib.blake2b(image.tobytes(), digest_size=16)
            digest.update(f"{image.mode}{image.size}".encode())
            self._fingerprints[id(image)] = digest.hexdigest()
        return self._fingerprints[id(image)]

    @torch.no_grad()
    def _style_balance(self) -> Optional[dict]:
        """The style weight's factor for this pair when ``options.style_balance`` > 0, else None.

        The energy ratio E = sum_l w_l mean(A_l^2) / sum_c w_c mean(P_c^2) sets the paintings' Gram matrices
        A_l (over C H W, blended as the styles are) against the photo's content activations P_c, at the output
        size, with the options' layer weights. It is the factor by which jcjohnson/neural-style's absolute
        losses weigh style against content for this pair: a painting whose textures are faint in the network
        (udnie's greys) or a photo whose activations are strong is painted more lightly there and keeps its
        structure. Relative losses give every pair the same balance, which over-paints those pairs; the factor
        (E / BALANCE_REFERENCE) ** style_balance brings part of jcjohnson's balance back, clamped to
        BALANCE_CLAMP. BALANCE_REFERENCE is the median E of the development panel: a typical pair keeps the
        preset's style weight.
        """
        options = self.options
        if not options.style_balance or not options.style_weight or not options.content_layers:
            return None
        content_names = [name for name, _ in options.content_layers]
        style_names = [name for name, _ in options.style_layers]
        # The final scale needs these same activations: they are kept for it (see _features). A tiled run
        # takes the means tile by tile (the output would not fit through the network whole).
        shape = self.output_shape
        whole = not self.tiling.covers(shape)
        sums = {name: 0.0 for name in content_names}
        counts = {name: 0 for name in content_names}
        for box in self.tiling.boxes(shape):
            photo = self._features(self.painted_content, shape, content_names, keep=whole,
                                   box=None if whole else box)
            for name in content_names:
                sums[name] += photo[name].square().sum()
                counts[name] += photo[name].numel()
        content_energy = sum(w * sums[name] / counts[name] for name, w in options.content_layers)
        per_image = [self._style_targets(image, self._style_size(image, shape), style_names,
                                         GramStatistic("d2l"), keep=whole)
                     for image in self.painted_styles]
        blended = {name: blend_targets([targets[name] for targets in per_image], self.style_blend)[0]
                   for name in style_names}
        style_energy = sum(w * blended[name].square().mean() for name, w in options.style_layers)
        ratio = (style_energy / content_energy.clamp_min(1e-30)).item()
        low, high = BALANCE_CLAMP
        factor = min(high, max(low, (ratio / BALANCE_REFERENCE) ** options.style_balance))
        return {"energy_ratio": round(ratio, 4), "factor": round(factor, 4)}

    def _open_masks(self, style_masks: Optional[Sequence[ImageLike]], limit) -> Optional[list[Image.Image]]:
        """One greyscale mask per style image, with the content's aspect ratio, each painting somewhere."""
        if style_masks is None:
            return None
        masks = list(style_masks)
        count = len(self.style_images)
        if len(masks) != count:
            raise OptionError(f"{len(masks)} style mask(s) for {count} style image(s): give one mask per style")
        width, height = self.content_image.size
        opened = []
        for index, mask in enumerate(masks, start=1):
            image = load_image(mask, f"style mask {index}", limit).convert("L")
            ratio = (image.width / image.height) / (width / height)
            if not 1 / MASK_RATIO_TOLERANCE <= ratio <= MASK_RATIO_TOLERANCE:
                raise OptionError(f"style mask {index} is {image.width}x{image.height} but the content image is "
                                  f"{width}x{height}: a mask needs the content's aspect ratio (it is laid over it)")
            if image.getextrema()[1] == 0:
                raise OptionError(f"style mask {index} is all black: its style would paint nowhere")
            opened.append(image)
        return opened

    def _region_masks(self, shape: tuple[int, int], box: Optional[Box] = None) -> list[torch.Tensor]:
        """The masks at ``shape`` (only their ``box`` when given) as (1, 1, H, W) shares in 0..1; where they
        add up to more than 1 they are scaled to sum 1 (grey overlaps blend the styles)."""
        crop = _box_tuple(box) if box is not None and (box.height, box.width) != tuple(shape) else None
        masks = [image_to_tensor(mask.convert("RGB"), shape, crop)[:, :1] for mask in self.style_masks]
        total = sum(masks).clamp_min(1.0)
        return [mask / total for mask in masks]

    def _painted_images(self) -> tuple[Image.Image, list[Image.Image]]:
        """The content and style images the losses see.

        ``preserve_colors="histogram"`` recolours each painting to the photo's colour mean and covariance
        (the painting's strokes in the photo's palette); ``"luminance"`` paints in luminance only, each
        painting's luminance matched to the photo's mean and spread, and the photo's chroma is put back on
        the result (Gatys et al. 2016, "Preserving color in neural artistic style transfer").
        """
        mode = self.options.preserve_colors
        if mode is None:
            return self.content_image, self.style_images
        content = image_to_tensor(self.content_image)
        if mode == "histogram":
            photo_colours = color_statistics(content)
            return self.content_image, [tensor_to_image(match_colors(image_to_tensor(style), photo_colours))
                                        for style in self.style_images]
        return (tensor_to_image(luminance_image(content)),
                [tensor_to_image(luminance_image(image_to_tensor(style), content)) for style in self.style_images])

    def _record(self, stage: Stage, step: Step) -> bool:
        """Log one evaluation, keep the best iterate, tell the callback; True asks the optimizer to stop."""
        self.step += 1
        number, count, box = self._tile
        self._work_done += box.pixels
        self._current = step.rgb
        if self._best is None or step.total < self._best[0]:
            self._best = (step.total, step.rgb)
        elapsed = time.perf_counter() - self._start
        if step.iteration % self.options.log_every == 0 or step.iteration == stage.iterations:
            self.history.append({
                "step": self.step, "stage": stage.index + 1, "height": stage.shape[0], "width": stage.shape[1],
                "iteration": step.iteration, **({"tile": number} if count > 1 else {}), **step.terms,
                "total": step.total, "lr": step.lr, "elapsed": round(elapsed, 4),
            })
        if self.callback is not None:
            self.callback(Progress(stage, len(self.stages), step.iteration, self.step, self.total_steps,
                                   step.terms, step.total, step.lr, elapsed,
                                   min(1.0, self._work_done / self._total_work), number, count))
        return self._stop_requested


def _scaled_box(box: Box, factor: int) -> Box:
    """``box`` on the image average-pooled by ``factor`` (a style octave's view of a tile)."""
    return Box(box.top // factor, box.left // factor, box.height // factor, box.width // factor)


def _box_tuple(box: Box) -> tuple[int, int, int, int]:
    return box.top, box.left, box.height, box.width


MIN_STYLE_SIDE = 32
# A style cache's bound: each entry is one painting's targets at one size (about 2.5 MB for the default's
# Gram matrices), and a run uses about 8 (4 scales, 2 octaves).
STYLE_CACHE_ENTRIES = 256
# style_balance: the median energy ratio of benchmarks/panel.py's eight pairs at 512 px (0.67 to 19.6 there),
# and the factor's bounds, so that no painting is painted at less than a quarter or more than 4x the preset's
# style weight.
BALANCE_REFERENCE = 7.0
BALANCE_CLAMP = (0.25, 4.0)
MIN_OCTAVE_SIDE = 192
MASK_RATIO_TOLERANCE = 1.05  # a mask's aspect ratio may differ from the content's by 5% (rounding, crops)
