"""The optimization loop: paint the content image in the style images' statistics, scale by scale.

``Stylizer`` holds everything that lives for a whole run (images, network, schedule, history) and exposes
the loop to callers who want it: a callback per iteration, the best image so far at any time (also after an
interrupt), and a ``stop()`` request.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from PIL import Image

from .errors import ImpastoError, ImpastoWarning, OptionError
from .features import VGGFeatures
from .images import ImageLike, fit_long_side, image_to_tensor, load_image, open_image, tensor_to_image
from .layers import INPUT_LAYER, min_input_side
from .losses import LossTerms, StyleTransferLoss, gram_matrix
from .options import INIT_KINDS, Options, resolve_options
from .palette import blend_color_statistics, color_statistics, match_colors
from .resources import check_memory
from .schedule import Stage, learning_rate, plan_stages
from .weights import VGGWeights, load_weights

# The optimized image lives in ImageNet-normalized RGB whatever the network: D2L's learning rates are
# defined in these units, and Adam's step size is in the units of the variable it moves.
PARAM_MEAN = (0.485, 0.456, 0.406)
PARAM_STD = (0.229, 0.224, 0.225)


def _stats(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(PARAM_MEAN, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
    std = torch.tensor(PARAM_STD, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
    return mean, std


def rgb_to_param(rgb: torch.Tensor) -> torch.Tensor:
    mean, std = _stats(rgb)
    return (rgb - mean) / std


def param_to_rgb(param: torch.Tensor) -> torch.Tensor:
    mean, std = _stats(param)
    return param * std + mean


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
        raise OptionError("--device cuda was asked for, but PyTorch sees no CUDA GPU (use --device auto or cpu)")
    if name == "mps" and not _mps_available():
        raise OptionError("--device mps was asked for, but Apple's MPS backend is not available")
    return torch.device(name)


@dataclass
class Progress:
    """What the callback gets after every iteration."""

    stage: Stage
    stages: int
    iteration: int  # 1-based within the stage
    step: int  # 1-based over the whole run
    total_steps: int
    content: float
    style: float
    tv: float
    total: float
    lr: float
    elapsed: float
    work_fraction: float  # share of the run's pixel-iterations done: a fair basis for an ETA

    @property
    def eta(self) -> float:
        """Seconds left, extrapolated from the pixel-weighted work done so far."""
        return self.elapsed * (1.0 - self.work_fraction) / self.work_fraction if self.work_fraction else float("inf")


class Stylizer:
    """One style-transfer run. ``run()`` returns the stylized image; ``best_image()`` works at any time."""

    def __init__(
        self,
        content: ImageLike,
        styles: ImageLike | Sequence[ImageLike],
        options: Optional[Options] = None,
        *,
        weights: Optional[VGGWeights] = None,
        callback: Optional[Callable[[Progress], None]] = None,
        **overrides,
    ):
        if options is None:
            options = resolve_options(**overrides)
        elif overrides:
            raise OptionError("pass either an Options object or keyword options, not both")
        self.options = options
        self.callback = callback
        limit = options.max_input_pixels
        self.content_image, self.content_alpha = open_image(content, "content image", limit)
        style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        if not style_list:
            raise OptionError("at least one style image is needed")
        self.style_images = [load_image(style, f"style image {i + 1}", limit) for i, style in enumerate(style_list)]
        blend = options.style_blend or [1.0] * len(self.style_images)
        if len(blend) != len(self.style_images):
            raise OptionError(f"--style-blend has {len(blend)} weights for {len(self.style_images)} style images")
        self.style_blend = [w / sum(blend) for w in blend]
        self.init_image = None
        if options.init not in INIT_KINDS:
            self.init_image = load_image(options.init, "init image", limit)
        self.device = pick_device(options.device)
        self.weights = weights if weights is not None else load_weights(options.weights, options.model)
        if self.weights.model != options.model:
            raise OptionError(f"the weights are {self.weights.model}, but the options ask for {options.model}")
        layers = [name for name, _ in options.content_layers + options.style_layers]
        if options.tv_weight:
            layers.append(INPUT_LAYER)
        self.network = VGGFeatures(self.weights, layers, options.pooling).to(self.device)
        self.stages = plan_stages(options, self.content_image.size)
        self.stage_optimizers = options.stage_optimizers()
        self._smallest_side = min_input_side(layers, options.model)
        self._octave_losses: list[StyleTransferLoss] = []
        self._check_sizes()
        self.total_steps = sum(stage.iterations for stage in self.stages)
        self._total_work = sum(stage.iterations * stage.pixels for stage in self.stages)
        self._work_done = 0
        self.history: list[dict] = []
        self.step = 0
        self.elapsed = 0.0
        self._stop_requested = False
        # Both hold RGB (0..1, unclipped), whatever units the stage's optimizer moves.
        self._best: Optional[tuple[float, torch.Tensor]] = None  # (loss, image) of the current stage
        self._result: Optional[torch.Tensor] = None  # image at the end of the latest finished stage
        self.generator = torch.Generator()
        self.generator.manual_seed(options.seed if options.seed is not None else torch.seed())

    # -- public -------------------------------------------------------------------------------------------

    @property
    def output_shape(self) -> tuple[int, int]:
        return self.stages[-1].shape

    def stop(self) -> None:
        """Ask the loop to finish after the current iteration (from a callback or another thread)."""
        self._stop_requested = True

    def run(self) -> Image.Image:
        start = time.perf_counter()
        previous: Optional[torch.Tensor] = None
        try:
            for stage in self.stages:
                loss_fn = self._stage_loss(stage)
                self._octave_losses = self._style_octaves(stage)
                rgb = self._initial_rgb(stage, previous)
                self._best = None
                if self.stage_optimizers[stage.index] == "adam":
                    rgb = self._run_adam(stage, loss_fn, rgb, start)
                else:
                    rgb = self._run_lbfgs(stage, loss_fn, rgb, start)
                previous = rgb.detach()
                self._result = previous
                self._best = None
                if self._stop_requested:
                    break
        finally:
            self.elapsed = time.perf_counter() - start
        return self.best_image()

    def best_image(self) -> Image.Image:
        """The best image so far, at the output size (upsampled when the run stopped at a coarse scale)."""
        if self._best is not None and (self._result is None or self._result.shape[-2:] != self._best[1].shape[-2:]):
            rgb = self._best[1]
        elif self._result is not None:
            rgb = self._result
        else:
            rgb = image_to_tensor(self.content_image, self.output_shape)
        if tuple(rgb.shape[-2:]) != self.output_shape:
            rgb = F.interpolate(rgb, size=self.output_shape, mode="bicubic", align_corners=False)
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
                    f"thin for --size {max(self.output_shape)} (crop it, or raise --size / --min-size)")
        check_memory(max(self.stages, key=lambda stage: stage.pixels).shape, self.device)
        upscale = max(self.output_shape) / max(self.content_image.size)
        if upscale > 2:
            warnings.warn(f"the content image is {self.content_image.width}x{self.content_image.height}; it is "
                          f"upscaled {upscale:.1f}x to the output size, so expect a soft result", ImpastoWarning)

    # -- per stage ----------------------------------------------------------------------------------------

    def _stage_loss(self, stage: Stage, style_only: bool = False) -> StyleTransferLoss:
        """Targets for one scale, computed once: content activations and the blended style Grams.

        ``style_only`` (the octaves) leaves out the content term and TV, so neither their targets nor their
        per-step terms are computed.
        """
        options = self.options
        content_layers = [] if style_only else options.content_layers
        style_names = [name for name, _ in options.style_layers]
        with torch.no_grad():
            content_targets = {}
            if content_layers:
                content = image_to_tensor(self.content_image, stage.shape).to(self.device)
                content_features = self.network(content)
                content_targets = {name: content_features[name].detach() for name, _ in content_layers}
            final_long = max(self.output_shape)
            style_long = max(MIN_STYLE_SIDE, round((options.style_size or final_long) * max(stage.shape) / final_long))
            grams: dict[str, torch.Tensor] = {}
            for image, weight in zip(self.style_images, self.style_blend):
                shape = fit_long_side(image.width, image.height, style_long)
                features = self.network(image_to_tensor(image, shape).to(self.device))
                for name in style_names:
                    gram = weight * gram_matrix(features[name], options.style_normalization)
                    grams[name] = grams[name] + gram if name in grams else gram
        return StyleTransferLoss(
            content_targets, grams, content_layers, options.style_layers,
            options.content_weight, options.style_weight, 0.0 if style_only else options.tv_weight,
            options.content_reduction, options.style_normalization, options.tv_kind, options.tv_beta,
        )

    def _style_octaves(self, stage: Stage) -> list[StyleTransferLoss]:
        """Style-only losses for the image downsampled 2x, 4x...: strokes are then judged at several sizes.

        Without them the finest scale refines texture at its own size and undoes part of the large strokes
        the coarse scales placed (the image seen at half size drifts away from the painting at half size).
        An octave is used only where its long side is at least MIN_OCTAVE_SIDE.
        """
        losses = []
        for octave in range(1, self.options.style_octaves):
            factor = 2**octave
            shape = (stage.shape[0] // factor, stage.shape[1] // factor)
            if max(shape) < MIN_OCTAVE_SIDE or min(shape) < self._smallest_side:
                break
            losses.append(self._stage_loss(Stage(stage.index, shape, stage.iterations, stage.lr_decay_every),
                                           style_only=True))
        return losses

    def _initial_rgb(self, stage: Stage, previous: Optional[torch.Tensor]) -> torch.Tensor:
        if previous is not None:
            # Warm start: the coarser result, upsampled, carries its large strokes into this scale.
            return F.interpolate(previous, size=stage.shape, mode="bicubic", align_corners=False)
        init = self.options.init
        height, width = stage.shape
        if init == "content":
            rgb = image_to_tensor(self.content_image, stage.shape)
        elif init == "uniform":
            rgb = torch.rand((1, 3, height, width), generator=self.generator)
        elif init == "normal":
            rgb = 0.5 + 0.25 * torch.randn((1, 3, height, width), generator=self.generator)
        elif init == "mean":
            # jcjohnson's "-init random": the network's mean pixel plus noise of std 0.001 in its input units.
            noise = 0.001 * torch.randn((1, 3, height, width), generator=self.generator)
            rgb = self.weights.normalization.postprocess(noise)
        else:
            rgb = image_to_tensor(self.init_image, stage.shape)
        if self.options.init_palette == "style":
            rgb = match_colors(rgb, self._style_colors())
        return rgb.to(self.device)

    def _style_colors(self):
        """Pixel mean and covariance of the style images, blended by their weights (at 256 px: plenty)."""
        stats = [color_statistics(image_to_tensor(image, fit_long_side(image.width, image.height, 256)))
                 for image in self.style_images]
        return blend_color_statistics(stats, self.style_blend)

    def _evaluate(self, rgb: torch.Tensor, loss_fn: StyleTransferLoss) -> LossTerms:
        features = self.network(rgb)
        terms = loss_fn(features, features.get(INPUT_LAYER, rgb))
        for octave, octave_loss in enumerate(self._octave_losses, start=1):
            smaller = F.avg_pool2d(rgb, 2**octave)
            octave_features = self.network(smaller)
            octave_style = octave_loss(octave_features, octave_features.get(INPUT_LAYER, smaller)).style
            terms = LossTerms(terms.content, terms.style + octave_style, terms.tv)
        return terms

    def _record(self, stage: Stage, iteration: int, terms: LossTerms, lr: float, rgb: torch.Tensor,
                start: float) -> bool:
        """Log one evaluation and keep the best iterate; False (and nothing kept) if the loss is not finite."""
        values = {
            "content": terms.content.item(), "style": terms.style.item(), "tv": terms.tv.item(),
            "total": terms.total.item(),
        }
        if not math.isfinite(values["total"]):
            if self._best is None:
                raise NumericalError(
                    f"the loss is {values['total']} from the first iteration of scale {stage.index + 1}: "
                    f"the loss weights are too large for 32-bit floats (lower --style-weight/--content-weight)")
            return False
        self.step += 1
        self._work_done += stage.pixels
        if self._best is None or values["total"] < self._best[0]:
            self._best = (values["total"], rgb.detach().clone())
        elapsed = time.perf_counter() - start
        if iteration % self.options.log_every == 0 or iteration == stage.iterations:
            self.history.append({
                "step": self.step, "stage": stage.index + 1, "height": stage.shape[0], "width": stage.shape[1],
                "iteration": iteration, **values, "lr": lr, "elapsed": round(elapsed, 4),
            })
        if self.callback is not None:
            self.callback(Progress(stage, len(self.stages), iteration, self.step, self.total_steps,
                                   values["content"], values["style"], values["tv"], values["total"], lr, elapsed,
                                   min(1.0, self._work_done / self._total_work)))
        return True

    def _run_adam(self, stage: Stage, loss_fn: StyleTransferLoss, rgb: torch.Tensor, start: float) -> torch.Tensor:
        """Adam in ImageNet-normalized units (D2L's learning rates are defined in them), pixels kept in 0..1."""
        param = rgb_to_param(rgb).requires_grad_(True)
        optimizer = torch.optim.Adam([param], lr=self.options.lr)
        low, high = rgb_to_param(torch.zeros_like(param)), rgb_to_param(torch.ones_like(param))
        step_scale, failures = 1.0, 0
        for iteration in range(1, stage.iterations + 1):
            lr = learning_rate(self.options, stage, iteration - 1) * step_scale
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            current = param_to_rgb(param)
            terms = self._evaluate(current, loss_fn)
            terms.total.backward()
            if not self._record(stage, iteration, terms, lr, current, start):
                # Roll back to the best iterate and go on with half the step; give up after a few tries.
                failures += 1
                with torch.no_grad():
                    param.copy_(rgb_to_param(self._best[1]))
                if failures > MAX_NUMERIC_RETRIES:
                    warnings.warn(f"the loss kept becoming NaN/inf at scale {stage.index + 1}; "
                                  f"stopping that scale with its best image", ImpastoWarning)
                    break
                step_scale *= 0.5
                optimizer = torch.optim.Adam([param], lr=lr * 0.5)
                warnings.warn(f"the loss became NaN/inf at scale {stage.index + 1}, iteration {iteration}; "
                              f"rolled back and halved the step", ImpastoWarning)
                continue
            optimizer.step()
            with torch.no_grad():
                # Keep every pixel a displayable color; out-of-range values would be clipped at the end anyway.
                param.copy_(torch.maximum(torch.minimum(param, high), low))
            if self._stop_requested:
                break
        return param_to_rgb(param.detach())

    def _run_lbfgs(self, stage: Stage, loss_fn: StyleTransferLoss, rgb: torch.Tensor, start: float) -> torch.Tensor:
        """L-BFGS; one "iteration" is one loss evaluation, as in the Keras blog and jcjohnson/neural-style.

        The image moves in the network's own input units (Caffe: 0..255 BGR minus the mean), as in every
        L-BFGS recipe we reproduce: without a line search the step lengths depend on those units. The stage
        ends with its best iterate (L-BFGS may finish on a line-search probe that is worse).
        """
        normalization = self.weights.normalization
        param = normalization.preprocess(rgb).contiguous().requires_grad_(True)
        optimizer = torch.optim.LBFGS(
            [param], lr=1.0, max_iter=stage.iterations, max_eval=stage.iterations,
            history_size=self.options.lbfgs_history, tolerance_grad=0.0, tolerance_change=0.0,
            line_search_fn=None if self.options.line_search == "none" else self.options.line_search,
        )
        evaluations = 0

        def closure() -> torch.Tensor:
            nonlocal evaluations
            if self._stop_requested:
                raise _StopStage
            optimizer.zero_grad(set_to_none=True)
            current = normalization.postprocess(param)
            terms = self._evaluate(current, loss_fn)
            terms.total.backward()
            # The network runs channels_last; L-BFGS flattens the gradient with view(), which needs NCHW.
            param.grad = param.grad.contiguous()
            evaluations += 1
            if not self._record(stage, evaluations, terms, 1.0, current, start):
                warnings.warn(f"the loss became NaN/inf at scale {stage.index + 1}; "
                              f"stopping that scale with its best image", ImpastoWarning)
                raise _StopStage
            return terms.total

        try:
            optimizer.step(closure)
        except _StopStage:
            pass
        return self._best[1] if self._best is not None else normalization.postprocess(param.detach())


MIN_STYLE_SIDE = 32
MIN_OCTAVE_SIDE = 192
MAX_NUMERIC_RETRIES = 3


class NumericalError(ImpastoError):
    """The loss stopped being a finite number."""


class _StopStage(Exception):
    """Raised inside the L-BFGS closure to end the stage early."""
