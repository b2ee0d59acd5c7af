"""Colour management with LittleCMS (Pillow's ``ImageCms``): every input goes to sRGB, every output says so.

A photo from a phone (Display P3) or a camera set to Adobe RGB stores its colours in its own space and says
which in an embedded ICC profile. Read as if it were sRGB its colours shift (P3 reds turn orange, Adobe RGB
greens go dull) before the painting starts. The reader converts such a photo to sRGB once, on opening, and
keeps the original profile (``SOURCE_PROFILE_KEY`` in the image's ``info``) so that an output may go back
into it (``--keep-profile``).

Out-of-gamut colours: the conversion uses the perceptual intent, which LittleCMS honours where a profile
carries perceptual tables (most printer and some camera profiles) and otherwise (matrix profiles such as
Display P3 and Adobe RGB) replaces with relative colorimetric: colours outside sRGB are clipped to its edge,
hue kept. The painting itself happens in sRGB, so an output converted back into a wide-gamut profile holds
no colour that sRGB could not.
"""
from __future__ import annotations

import io
from functools import lru_cache
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageCms

from ..errors import ImageInputError

# Where the reader keeps the profile a photo was stored in, once its pixels are converted to sRGB.
SOURCE_PROFILE_KEY = "impasto_source_icc_profile"
# The modes LittleCMS converts here; anything else is made RGB (or L) first.
_COLOUR_MODES = {"RGB": "RGB", "CMYK": "CMYK", "L": "L"}
# A 16-node grid per channel: its nodes (0, 17, ..., 255) are exact 8-bit values, which LittleCMS converts
# through Pillow's 8-bit transforms; 16-bit pixels are interpolated between them (``convert_float_pixels``).
_GRID_NODES = 16


@lru_cache(maxsize=1)
def srgb_profile_bytes() -> bytes:
    """LittleCMS's own sRGB profile (IEC 61966-2.1 primaries and curve), as embedded in every output."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _profile(data: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(data))


def profile_name(data: bytes) -> str:
    """The profile's own description ("Display P3", "Adobe RGB (1998)"), or "" when it has none."""
    try:
        return (ImageCms.getProfileDescription(_profile(data)) or "").strip()
    except (OSError, ImageCms.PyCMSError):
        return ""


def is_srgb(data: bytes) -> bool:
    """Whether a profile is sRGB's (by its description, as ICC-aware viewers tell them): its pixels need no
    conversion, and converting through another build of the same profile would only move them by rounding."""
    return "srgb" in profile_name(data).lower()


def to_srgb(image: Image.Image, role: str, name: str) -> Image.Image:
    """``image`` (RGB, CMYK or L, with an ``icc_profile`` in its info or not) as RGB in sRGB.

    A damaged or mismatched profile is an ``ImageInputError`` naming the file; an sRGB profile converts
    nothing. The original profile stays in ``info[SOURCE_PROFILE_KEY]``; ``info["icc_profile"]`` becomes
    sRGB's, so that no later save by Pillow labels sRGB pixels with the old profile.
    """
    data = image.info.get("icc_profile")
    if not data:
        return image
    if image.mode not in _COLOUR_MODES:
        raise ValueError(f"to_srgb takes RGB, CMYK or L images, not {image.mode}")
    info = dict(image.info)
    if is_srgb(data):
        # Already sRGB (or converted by this reader before: the original profile is kept, not replaced).
        image.info.setdefault(SOURCE_PROFILE_KEY, data)
        return image
    try:
        image = ImageCms.profileToProfile(image, _profile(data), _profile(srgb_profile_bytes()),
                                          renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")
    except (OSError, ImageCms.PyCMSError) as error:
        raise ImageInputError(f"{role} {name} has a colour profile that cannot be used ({error}); save it "
                              f"without the profile or as sRGB") from None
    info[SOURCE_PROFILE_KEY] = data
    info["icc_profile"] = srgb_profile_bytes()
    image.info.update(info)
    return image


def from_srgb(image: Image.Image, target: bytes) -> Image.Image:
    """An RGB image in sRGB converted into the ``target`` profile (the photo's own)."""
    return ImageCms.profileToProfile(image, _profile(srgb_profile_bytes()), _profile(target),
                                     renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB")


def convert_float_pixels(pixels: np.ndarray, target: bytes) -> np.ndarray:
    """Float RGB pixels (H, W, 3) in 0..1 in sRGB converted into ``target`` without dropping to 8 bits.

    Pillow's transforms are 8-bit, so LittleCMS converts the 16^3 grid of exact 8-bit colours and every pixel
    is interpolated trilinearly between the grid's nodes, as colour engines do with their own lookup tables.
    The result is smooth (a gradient stays a gradient, with more than 256 levels); each node carries 8-bit
    rounding, at most half a level.
    """
    if is_srgb(target):
        return pixels
    nodes = np.arange(_GRID_NODES, dtype=np.uint8) * (255 // (_GRID_NODES - 1))
    red, green, blue = np.meshgrid(nodes, nodes, nodes, indexing="ij")
    grid = np.stack([red, green, blue], axis=-1).reshape(_GRID_NODES, -1, 3)
    converted = np.asarray(from_srgb(Image.fromarray(grid, "RGB"), target), dtype=np.float32) / 255.0
    # (1, 3, D=red, H=green, W=blue) for grid_sample, whose sampling coordinates are (x=blue, y=green, z=red).
    table = torch.from_numpy(converted.reshape(_GRID_NODES, _GRID_NODES, _GRID_NODES, 3)).permute(3, 0, 1, 2)
    where = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).clamp(0, 1) * 2 - 1
    coordinates = where.flip(-1)[None, None]  # (1, 1, H, W, 3) as (blue, green, red)
    result = F.grid_sample(table[None], coordinates, mode="bilinear", align_corners=True)
    return result[0, :, 0].permute(1, 2, 0).numpy()


def embedded_profile(image: Optional[Image.Image]) -> Optional[bytes]:
    """The profile a photo was stored in (before the reader converted it to sRGB), or None."""
    if image is None:
        return None
    return image.info.get(SOURCE_PROFILE_KEY)
