"""Painting with a trained model (``impasto train``): one pass of the feed-forward network per image.

``InstantPainter`` holds one loaded model on its device and paints photos, video frames or web uploads.
The network is fully convolutional, so any size goes through whole; above ``tile`` px on a side it is
painted in overlapping tiles (``impasto.engine.tiles``' boxes and blend ramps), each tile with context
around it so that no tile sees a border that the picture does not have. Instance normalization takes its
statistics per tile, so tiles are large (``DEFAULT_MODEL_TILE``) and blended across their overlap.

``preserve_colors`` works on the result, as a still's does on its own: ``luminance`` puts the photo's
chroma back on the painted luminance, ``histogram`` moves the result's colour mean and covariance to the
photo's.
"""
from __future__ import annotations

from typing import Optional

import torch
from PIL import Image

from ..config.choices import PRESERVE_COLORS
from ..errors import OptionError
from ..imaging.images import ImageLike, fit_long_side, image_to_tensor, open_image, tensor_to_image
from ..imaging.palette import color_statistics, match_colors, with_chroma
from ..net.model_file import TrainedModel, load_model
from .device import pick_device
from .tiles import blend_into, tile_boxes

# At 2048 x 2048 px the slim network's activations take about 2 GB; larger images go in tiles of this side.
DEFAULT_MODEL_TILE = 2048
# Context painted around each tile and then dropped: the receptive field of the network is about 100 px.
TILE_CONTEXT = 64


class InstantPainter:
    """A trained model (a ``TrainedModel`` or the path of a model file) ready to paint on ``device``."""

    def __init__(self, model: TrainedModel | str, device: str = "auto"):
        self.device = pick_device(device)
        self.model = model if isinstance(model, TrainedModel) else load_model(model, self.device)
        self.network = self.model.network.to(self.device).eval()

    @property
    def record(self) -> dict:
        return self.model.record

    def paint_tensor(self, rgb: torch.Tensor, tile: Optional[int] = None) -> torch.Tensor:
        """(1, 3, H, W) in 0..1 -> the painted image, same shape, clamped; tiled above ``tile`` px."""
        tile = tile or DEFAULT_MODEL_TILE
        height, width = rgb.shape[-2:]
        if max(height, width) <= tile:
            return self.network.paint(rgb.to(self.device)).cpu()
        canvas = torch.zeros_like(rgb)
        for box in tile_boxes((height, width), tile, tile // 8):
            top, left = max(0, box.top - TILE_CONTEXT), max(0, box.left - TILE_CONTEXT)
            bottom = min(height, box.top + box.height + TILE_CONTEXT)
            right = min(width, box.left + box.width + TILE_CONTEXT)
            painted = self.network.paint(rgb[..., top:bottom, left:right].to(self.device)).cpu()
            inner = painted[..., box.top - top:box.top - top + box.height, box.left - left:box.left - left + box.width]
            blend_into(canvas, inner, box)
        return canvas

    def paint(self, photo: ImageLike, size: Optional[int] = None, preserve_colors: Optional[str] = None,
              tile: Optional[int] = None, max_pixels: Optional[int] = None) -> Image.Image:
        """``photo`` painted, its long side ``size`` px (None: its own size). A transparent photo keeps its
        transparency."""
        if preserve_colors is not None and preserve_colors not in PRESERVE_COLORS:
            raise OptionError(f"preserve_colors must be one of {', '.join(PRESERVE_COLORS)}, got {preserve_colors!r}")
        kwargs = {} if max_pixels is None else {"max_pixels": max_pixels}
        image, alpha = open_image(photo, "content image", **kwargs)
        shape = fit_long_side(image.width, image.height, size) if size else (image.height, image.width)
        rgb = image_to_tensor(image, shape)
        painted = self.paint_tensor(rgb, tile)
        if preserve_colors == "luminance":
            painted = with_chroma(painted, rgb)
        elif preserve_colors == "histogram":
            painted = match_colors(painted, color_statistics(rgb)).clamp(0.0, 1.0)
        result = tensor_to_image(painted)
        if alpha is not None:
            result.putalpha(alpha.resize(result.size, Image.Resampling.LANCZOS))
        return result

    def paint_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """A batch of frames (N, 3, H, W) painted in one pass (the video path)."""
        return self.network.paint(frames.to(self.device)).cpu()

