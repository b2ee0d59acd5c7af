"""Painting with a trained model (``impasto train``): one pass of the feed-forward network per image.

``InstantPainter`` holds one loaded model on its device and paints photos, video frames or web uploads.
The network is fully convolutional, so any size goes through whole; above ``tile`` px on a side it is
painted in overlapping tiles (``impasto.engine.tiles``' boxes and blend ramps), each tile with context
around it so that no tile sees a border that the picture does not have. Instance normalization would take
its statistics tile by tile, and each tile would come out in a slightly different tone; instead every
tile is normalized with the statistics of one pass over the whole image shrunk to ``STATISTICS_SIDE``.

``precision`` is a still's (``Options.precision``): ``auto`` runs the whole network in bfloat16 where the
CPU multiplies it in hardware (a bfloat16 copy of its weights, not autocast: autocast casts each
convolution's input and leaves the padding and the normalizations in float32, which took half of a pass's
time). On an AVX-512 BF16 EPYC that paints a 512x512 image in 0.6-0.75 of autocast's time (0.8 for 512x288
video frames) and changes a pixel by 0.4 of a level of 255 on average against float32, 10 at most
(benchmarks/RESULTS.md, "The painter all in bfloat16"); ``float32`` is exact.

``preserve_colors`` works on the result, as a still's does on its own: ``luminance`` puts the photo's
chroma back on the painted luminance, ``histogram`` moves the result's colour mean and covariance to the
photo's.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Optional

import torch
import torch.nn.functional as F
from PIL import Image

from ..config.choices import PRESERVE_COLORS
from ..config.limits import DEFAULT_MAX_INPUT_PIXELS
from ..errors import OptionError
from ..imaging.images import ImageLike, fit_long_side, image_to_tensor, open_image, tensor_to_image
from ..imaging.palette import color_statistics, match_colors, with_chroma
from ..net.model_file import TrainedModel, load_model
from ..net.transformer import STRIDE
from .device import Placement
from .tiles import Box, blend_into, tile_boxes

# At 2048 x 2048 px the slim network's activations take about 2 GB; larger images go in tiles of this side.
DEFAULT_MODEL_TILE = 2048
# Context painted around each tile and then dropped: the receptive field of the network is about 100 px.
TILE_CONTEXT = 64
# A tiled image's instance-normalization statistics come from one pass over it shrunk to this long side.
STATISTICS_SIDE = 1024


class InstantPainter:
    """A trained model (a ``TrainedModel`` or the path of a model file) ready to paint on ``device`` in
    ``precision`` (``auto``, ``float32``, ``bfloat16``)."""

    def __init__(self, model: TrainedModel | str, device: str = "auto", precision: str = "auto"):
        self.placement = Placement.named(device, precision)
        self.model = model if isinstance(model, TrainedModel) else load_model(model, self.device)
        network = self.model.network
        if self.placement.compute_dtype != torch.float32:
            network = copy.deepcopy(network).to(self.placement.compute_dtype)  # the model keeps float32 weights
        self.network = network.to(self.device).eval()

    @property
    def record(self) -> dict:
        return self.model.record

    @property
    def device(self) -> torch.device:
        return self.placement.device

    @property
    def precision_used(self) -> str:
        """The network's precision by name (``float32``, ``bfloat16``), as records state it."""
        return self.placement.precision_used

    def _run(self, rgb: torch.Tensor) -> torch.Tensor:
        """One pass of the network on ``rgb`` (on any device), in the painter's precision; float32 on the CPU."""
        return self.network.paint(rgb.to(self.device, self.placement.compute_dtype)).float().cpu()

    def paint_tensor(self, rgb: torch.Tensor, tile: Optional[int] = None,
                     preserve_colors: Optional[str] = None) -> torch.Tensor:
        """(1, 3, H, W) in 0..1 -> the painted image, same shape; tiled above ``tile`` px; ``preserve_colors``
        puts the photo's colours back on it."""
        if preserve_colors is not None and preserve_colors not in PRESERVE_COLORS:
            raise OptionError(f"preserve_colors must be one of {', '.join(PRESERVE_COLORS)}, got {preserve_colors!r}")
        painted = self._paint(rgb, tile)
        if preserve_colors == "luminance":
            return with_chroma(painted, rgb)
        if preserve_colors == "histogram":
            return match_colors(painted, color_statistics(rgb)).clamp(0.0, 1.0)
        return painted

    def _paint(self, rgb: torch.Tensor, tile: Optional[int]) -> torch.Tensor:
        tile = tile or DEFAULT_MODEL_TILE
        height, width = rgb.shape[-2:]
        if max(height, width) <= tile:
            return self._run(rgb)
        canvas = torch.zeros_like(rgb)
        statistics = self._normalization_statistics(_shrunk(rgb, STATISTICS_SIDE))
        with _fixed_normalization(self.network, statistics):
            for box in tile_boxes((height, width), tile, tile // 8):
                self._paint_tile(rgb, box, canvas)
        return canvas

    def _normalization_statistics(self, rgb: torch.Tensor) -> dict:
        """Each instance normalization's per-channel mean and variance on ``rgb``, in float32."""
        statistics = {}

        def record(module, inputs, _output):
            features = inputs[0].float()
            statistics[module] = (features.mean((2, 3), keepdim=True),
                                  features.var((2, 3), keepdim=True, unbiased=False))

        hooks = [norm.register_forward_hook(record) for norm in _instance_norms(self.network)]
        try:
            self._run(rgb)
        finally:
            for hook in hooks:
                hook.remove()
        return statistics

    def _paint_tile(self, rgb: torch.Tensor, box: Box, canvas: torch.Tensor) -> None:
        """One tile, painted with context around it, blended into ``canvas``."""
        height, width = rgb.shape[-2:]
        # The network is shift-equivariant by multiples of its stride: a tile cut there paints what the
        # whole image would.
        top = max(0, box.top - TILE_CONTEXT) // STRIDE * STRIDE
        left = max(0, box.left - TILE_CONTEXT) // STRIDE * STRIDE
        bottom = min(height, box.top + box.height + TILE_CONTEXT)
        right = min(width, box.left + box.width + TILE_CONTEXT)
        painted = self._run(rgb[..., top:bottom, left:right])
        inner = painted[..., box.top - top:box.top - top + box.height, box.left - left:box.left - left + box.width]
        blend_into(canvas, inner, box)

    def paint(self, photo: ImageLike, size: Optional[int] = None, preserve_colors: Optional[str] = None,
              tile: Optional[int] = None, max_pixels: Optional[int] = DEFAULT_MAX_INPUT_PIXELS) -> Image.Image:
        """``photo`` painted, its long side ``size`` px (None: its own size). A transparent photo keeps its
        transparency. ``max_pixels`` as for a still (None: no limit)."""
        image, alpha = open_image(photo, "content image", max_pixels)
        shape = fit_long_side(image.width, image.height, size) if size else (image.height, image.width)
        result = tensor_to_image(self.paint_tensor(image_to_tensor(image, shape), tile, preserve_colors))
        if alpha is not None:
            result.putalpha(alpha.resize(result.size, Image.Resampling.LANCZOS))
        return result


def _instance_norms(network: torch.nn.Module) -> list[torch.nn.InstanceNorm2d]:
    return [module for module in network.modules() if isinstance(module, torch.nn.InstanceNorm2d)]


def _shrunk(rgb: torch.Tensor, long_side: int) -> torch.Tensor:
    height, width = rgb.shape[-2:]
    if max(height, width) <= long_side:
        return rgb
    shape = fit_long_side(width, height, long_side)
    return F.interpolate(rgb, size=shape, mode="bilinear", antialias=True, align_corners=False)


@contextlib.contextmanager
def _fixed_normalization(network: torch.nn.Module, statistics: dict):
    """Within the block, each instance normalization uses the given statistics instead of its input's."""
    def fixed(norm):
        mean, variance = statistics[norm]
        scale = norm.weight.float().view(1, -1, 1, 1) / (variance + norm.eps).sqrt()
        bias = norm.bias.float().view(1, -1, 1, 1)
        return lambda x: ((x.float() - mean) * scale + bias).to(x.dtype)

    norms = _instance_norms(network)
    for norm in norms:
        norm.forward = fixed(norm)
    try:
        yield
    finally:
        for norm in norms:
            del norm.forward
