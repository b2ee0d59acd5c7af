"""A run's images, opened and checked once: the photo (and its alpha), the paintings and their blend, the
style masks, a start image; what the losses see of them (``preserve_colors``); and the way an iterate goes
back to the user (the output size, the photo's colours or transparency put back).
"""
from __future__ import annotations

from functools import cached_property
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from PIL import Image

from ..config.choices import INIT_KINDS
from ..config.options import Options
from ..errors import OptionError
from ..imaging.images import ImageLike, image_to_tensor, load_image, open_image, tensor_to_image
from ..imaging.people import protection_mask, require_detectors
from ..imaging.palette import color_statistics, luminance_image, match_colors, with_chroma
from .tiles import Box

MASK_RATIO_TOLERANCE = 1.05  # a mask's aspect ratio may differ from the content's by 5% (rounding, crops)


def _as_list(items: ImageLike | Sequence[ImageLike] | None) -> Optional[list]:
    if items is None:
        return None
    return list(items) if isinstance(items, (list, tuple)) else [items]


class RunInputs:
    """The images of one run. ``style_blend`` holds the paintings' weights normalized to sum 1;
    ``painted_content`` and ``painted_styles`` are the images the losses see (the user's, or their luminance
    or recoloured versions with ``preserve_colors``)."""

    def __init__(self, content: ImageLike, styles: ImageLike | Sequence[ImageLike], options: Options,
                 init_image: Optional[ImageLike] = None, style_masks: Optional[Sequence[ImageLike]] = None):
        self.preserve_colors = options.preserve_colors
        limit = options.max_input_pixels
        self.content_image, self.content_alpha = open_image(content, "content image", limit)
        style_list = _as_list(styles)
        if not style_list:
            raise OptionError("at least one style image is needed")
        self.style_images = [load_image(style, f"style image {i + 1}", limit) for i, style in enumerate(style_list)]
        blend = options.style_blend or [1.0] * len(self.style_images)
        if len(blend) != len(self.style_images):
            raise OptionError(f"style_blend has {len(blend)} weights for {len(self.style_images)} style images")
        self.style_blend = [w / sum(blend) for w in blend]
        self.style_mask_sources = _as_list(style_masks)
        self.style_masks = self._open_masks(self.style_mask_sources, limit)
        self.protect = options.protect
        if self.protect in ("faces", "people"):
            require_detectors()  # asked for by name: say now, not when painting starts, if they are missing
        self.painted_content, self.painted_styles = self._painted_images()
        self._photos: dict[tuple[int, int], torch.Tensor] = {}
        self.init_image: Optional[Image.Image] = None
        if init_image is not None:
            if options.init != "content":
                raise OptionError(f"init is {options.init!r} and an init image was given too: give one of them")
            self.init_image = load_image(init_image, "init image", limit)
        elif options.init not in INIT_KINDS:
            self.init_image = load_image(options.init, "init image", limit)

    def _open_masks(self, sources: Optional[list], limit: Optional[int]) -> Optional[list[Image.Image]]:
        """One greyscale mask per style image, with the content's aspect ratio, each painting somewhere."""
        if sources is None:
            return None
        count = len(self.style_images)
        if len(sources) != count:
            raise OptionError(f"{len(sources)} style mask(s) for {count} style image(s): give one mask per style")
        width, height = self.content_image.size
        opened = []
        for index, mask in enumerate(sources, start=1):
            image = load_image(mask, f"style mask {index}", limit, colours=False).convert("L")
            ratio = (image.width / image.height) / (width / height)
            if not 1 / MASK_RATIO_TOLERANCE <= ratio <= MASK_RATIO_TOLERANCE:
                raise OptionError(f"style mask {index} is {image.width}x{image.height} but the content image is "
                                  f"{width}x{height}: a mask needs the content's aspect ratio (it is laid over it)")
            if image.getextrema()[1] == 0:
                raise OptionError(f"style mask {index} is all black: its style would paint nowhere")
            opened.append(image)
        return opened

    def _painted_images(self) -> tuple[Image.Image, list[Image.Image]]:
        """The content and style images the losses see.

        ``preserve_colors="histogram"`` recolours each painting to the photo's colour mean and covariance
        (the painting's strokes in the photo's palette); ``"luminance"`` paints in luminance only, each
        painting's luminance matched to the photo's mean and spread, and the photo's chroma is put back on
        the result (Gatys et al. 2016, "Preserving color in neural artistic style transfer").
        """
        mode = self.preserve_colors
        if mode is None:
            return self.content_image, self.style_images
        content = image_to_tensor(self.content_image)
        if mode == "histogram":
            photo_colours = color_statistics(content)
            return self.content_image, [tensor_to_image(match_colors(image_to_tensor(style), photo_colours))
                                        for style in self.style_images]
        return (tensor_to_image(luminance_image(content)),
                [tensor_to_image(luminance_image(image_to_tensor(style), content)) for style in self.style_images])

    def region_masks(self, shape: tuple[int, int], box: Optional[Box] = None) -> list[torch.Tensor]:
        """The style masks at ``shape`` (only their ``box`` when given) as (1, 1, H, W) shares in 0..1; where
        they add up to more than 1 they are scaled to sum 1 (grey overlaps blend the styles)."""
        crop = box.rect if box is not None and (box.height, box.width) != tuple(shape) else None
        masks = [image_to_tensor(mask.convert("RGB"), shape, crop)[:, :1] for mask in self.style_masks]
        total = sum(masks).clamp_min(1.0)
        return [mask / total for mask in masks]

    @cached_property
    def protection(self) -> Optional[Image.Image]:
        """The faces (or people) ``protect`` finds, white where protected; None: nothing to protect. Found
        when painting first needs it, so that a run which fails before (a size, the weights) never loads the
        detectors."""
        return protection_mask(self.content_image, self.protect)

    def protected_share(self, shape: tuple[int, int], box: Optional[Box] = None) -> Optional[torch.Tensor]:
        """The protected area at ``shape`` (only its ``box`` when given) as (1, 1, H, W) in 0..1, or None."""
        if self.protection is None:
            return None
        crop = box.rect if box is not None and (box.height, box.width) != tuple(shape) else None
        return image_to_tensor(self.protection.convert("RGB"), shape, crop)[:, :1]

    def photo_at(self, shape: tuple[int, int]) -> torch.Tensor:
        """The content image resized to ``shape`` once, not again for every snapshot and timelapse frame."""
        if shape not in self._photos:
            self._photos[shape] = image_to_tensor(self.content_image, shape)
        return self._photos[shape]

    def output_rgb(self, rgb: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """An iterate's colours as the user gets them, in floating point (a 16-bit file's pixels): at
        ``shape`` (the output's), with the photo's colours if kept, clamped to 0..1."""
        rgb = rgb.detach().float().cpu()
        if tuple(rgb.shape[-2:]) != shape:
            rgb = F.interpolate(rgb, size=shape, mode="bicubic", align_corners=False)
        if self.preserve_colors == "luminance":
            rgb = with_chroma(rgb.clamp(0, 1), self.photo_at(shape))
        return rgb.clamp(0, 1)

    def output_image(self, rgb: torch.Tensor, shape: tuple[int, int]) -> Image.Image:
        """An iterate as the user gets it (``output_rgb`` in 8 bits), with the photo's alpha if it had one."""
        image = tensor_to_image(self.output_rgb(rgb, shape))
        if self.content_alpha is not None:
            # A transparent content image keeps its transparency: its alpha, resized, goes on the result.
            image.putalpha(self.content_alpha.resize(image.size, Image.Resampling.LANCZOS))
        return image
