"""Image input and output: reading whatever a user has on disk, resizing, tensors, atomic writing."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

import pillow_heif

from ..errors import ImageInputError, ImpastoWarning, OptionError, OutputError
from ..files import atomic_write, display_path, path_kind
from ..config.choices import RESAMPLE_FILTERS
from ..config.limits import DEFAULT_MAX_INPUT_PIXELS
from .profiles import to_srgb
from .writers import PLAIN_FILE, FileSettings, check_bit_depth, write_image

ImageLike = Union[str, os.PathLike, Image.Image, np.ndarray]

# HEIC/HEIF (iPhones' default) through libheif, which pillow-heif's wheel carries; AVIF is Pillow's own.
pillow_heif.register_heif_opener()

# Pillow picks the format from the extension; these are the ones we promise to write.
OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF",
                  ".bmp": "BMP", ".avif": "AVIF", ".heic": "HEIF", ".heif": "HEIF"}


def _to_rgb_and_alpha(image: Image.Image, role: str = "image", name: str = "",
                      colours: bool = True) -> tuple[Image.Image, Image.Image | None]:
    """Convert any Pillow mode to RGB in sRGB (through its embedded colour profile, if any, unless not
    ``colours``); return the alpha channel separately when there is one. The image's ``info`` (EXIF, DPI,
    profile) goes along."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float grayscale: scale the real range to 8 bits instead of clipping at 255.
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        if image.mode == "F" and array.max() <= 1.0:
            top = 1.0
        info = image.info
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
        image.info.update(info)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    alpha = None
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = image.getchannel("A")
        if alpha.getextrema() == (255, 255):
            alpha = None
    if colours and image.info.get("icc_profile"):
        colour = image if image.mode in ("RGB", "CMYK", "L") else image.convert("L" if image.mode in (
            "LA", "La") else "RGB")
        return to_srgb(colour, role, name).convert("RGB"), alpha
    # Without a profile, CMYK goes through Pillow's plain formula (inverted Adobe CMYK JPEGs are handled by
    # Pillow itself) and the rest is taken to be sRGB already.
    return image.convert("RGB"), alpha


# The Pillow filter of each name in config.choices.RESAMPLE_FILTERS (why each is there is said there).
RESAMPLING = {name: Image.Resampling[name.upper()] for name in RESAMPLE_FILTERS}


def open_image(source: ImageLike, role: str = "image", max_pixels: int | None = DEFAULT_MAX_INPUT_PIXELS,
               colours: bool = True) -> tuple[Image.Image, Image.Image | None]:
    """Read a path, PIL image or array into (RGB image, alpha or None), EXIF orientation applied, converted
    to sRGB through its embedded colour profile (``colours=False``: a mask, whose values are not colours,
    is taken as it is stored).

    Files larger than ``max_pixels`` are refused before they are decoded (``None``: no limit).
    """
    if isinstance(source, np.ndarray):
        array = source
        if array.dtype != np.uint8:
            scale = 255.0 if array.size and float(np.nanmax(array)) <= 1.0 else 1.0
            array = np.clip(np.nan_to_num(array.astype(np.float64)) * scale + 0.5, 0, 255).astype(np.uint8)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
            raise ImageInputError(f"{role} array has shape {source.shape}; expected (H, W), (H, W, 3) or (H, W, 4)")
        return _to_rgb_and_alpha(Image.fromarray(array), role, "array", colours)
    if isinstance(source, Image.Image):
        return _to_rgb_and_alpha(ImageOps.exif_transpose(source), role, "image", colours)
    path = Path(source)
    kind = path_kind(path, role, ImageInputError)
    if kind == "missing":
        raise ImageInputError(f"{role} file {display_path(path)} does not exist")
    if kind == "dir":
        raise ImageInputError(f"{role} {display_path(path)} is a folder, not an image file")
    _let_pillow_open(max_pixels)
    try:
        with Image.open(path) as opened:
            if max_pixels is not None and opened.width * opened.height > max_pixels:
                raise _too_large(role, path, opened.width, opened.height, max_pixels)
            frames = getattr(opened, "n_frames", 1)
            if frames > 1:
                warnings.warn(f"{role} {path.name} has {frames} frames; using the first", ImpastoWarning)
            opened.seek(0)
            opened.load()
            return _to_rgb_and_alpha(ImageOps.exif_transpose(opened), role, display_path(path), colours)
    except ImageInputError:
        raise
    except Image.DecompressionBombError:
        # Only reached when Pillow's own limit (set by the host program) is below ours.
        raise ImageInputError(f"{role} {display_path(path)} is larger than Pillow's pixel limit of "
                              f"{Image.MAX_IMAGE_PIXELS:,} (a guard against decompression bombs)") from None
    except PermissionError:
        raise ImageInputError(f"{role} file {display_path(path)} cannot be read (permission denied)") from None
    except UnidentifiedImageError:
        raise ImageInputError(f"{role} file {display_path(path)} is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, RuntimeError) as error:
        # RuntimeError: what libheif (pillow-heif) raises for a damaged HEIC.
        raise ImageInputError(f"{role} file {display_path(path)} is damaged or truncated ({error})") from None


def _too_large(role: str, path: Path, width: int, height: int, max_pixels: int) -> ImageInputError:
    return ImageInputError(
        f"{role} {display_path(path)} is {width}x{height} = {width * height:,} pixels, over the limit of "
        f"{max_pixels:,} (a guard against decompression bombs; raise max_input_pixels to allow it)")


def _let_pillow_open(max_pixels: int | None) -> None:
    """Make sure Pillow's own guard does not refuse what our ``max_pixels`` allows.

    Pillow's guard is a process-wide setting (``Image.MAX_IMAGE_PIXELS``; it warns above it and refuses
    above twice it) checked while a file is opened, before our own check on the header can run. It is
    raised once, to the largest limit asked for, and never lowered again or swapped back and forth around
    each open (which would race with other threads); a stricter limit than Pillow's is ours to enforce.
    """
    current = Image.MAX_IMAGE_PIXELS
    if current is None:
        return
    if max_pixels is None:
        Image.MAX_IMAGE_PIXELS = None
    elif max_pixels > current:
        Image.MAX_IMAGE_PIXELS = max_pixels


def load_image(source: ImageLike, role: str = "image", max_pixels: int | None = DEFAULT_MAX_INPUT_PIXELS,
               colours: bool = True) -> Image.Image:
    """The RGB image of ``source`` (alpha dropped); ``colours`` as for ``open_image``."""
    return open_image(source, role, max_pixels, colours)[0]


def fit_long_side(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(height, width) with the aspect ratio kept and the longer side equal to ``long_side``."""
    scale = long_side / max(width, height)
    return max(1, round(height * scale)), max(1, round(width * scale))


def image_to_tensor(image: Image.Image, shape: tuple[int, int] | None = None,
                    crop: tuple[int, int, int, int] | None = None, resample: str = "lanczos") -> torch.Tensor:
    """RGB PIL image -> float tensor (1, 3, H, W) in 0..1, resized to ``shape`` = (H, W) if given.

    ``crop`` = (top, left, height, width) in the resized image's pixels returns only that region, resampled
    from the source directly (the same pixels as resizing the whole image and cropping it, without ever
    holding the whole resized image: a tile of a large output). ``resample`` names Pillow's filter
    (``RESAMPLING``): a recipe that resized with another library's default keeps that default's pixels.
    """
    if resample not in RESAMPLING:
        raise OptionError(f"resample must be one of {', '.join(RESAMPLING)}, got {resample!r}")
    if crop is not None:
        top, left, height, width = crop
        scale_y, scale_x = image.height / shape[0], image.width / shape[1]
        box = (left * scale_x, top * scale_y, (left + width) * scale_x, (top + height) * scale_y)
        image = image.resize((width, height), RESAMPLING[resample], box=box)
    elif shape is not None and (image.height, image.width) != tuple(shape):
        image = image.resize((shape[1], shape[0]), RESAMPLING[resample])
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0)


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) tensor in 0..1 -> RGB PIL image (clipped, rounded)."""
    # In place on one float copy, then 8 bits: a large output holds a single float copy of itself here.
    pixels = tensor.detach().float().cpu().clamp(0, 1)[0].mul_(255.0).add_(0.5).to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy(), "RGB")


def output_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise OutputError(f"cannot tell the format of {display_path(path)}: use one of "
                          f"{', '.join(sorted(OUTPUT_FORMATS))}")
    return OUTPUT_FORMATS[suffix]


def save_image(image: Image.Image, path: str | os.PathLike, metadata: dict | None = None, *,
               settings: FileSettings = PLAIN_FILE, photo: Image.Image | None = None,
               pixels: np.ndarray | None = None) -> Path:
    """Write ``image`` atomically (temporary file in the same folder, then rename), format by extension.

    ``metadata`` is stored as a PNG text chunk ``impasto`` (JSON) when the output is PNG. ``settings`` say
    the bit depth, profile, GPS and DPI; ``photo`` is the content image as read, whose EXIF, DPI and
    profile go along; ``pixels`` the float RGB of a 16-bit file (``impasto.imaging.writers``).
    """
    path = Path(path)
    fmt = output_format(path)
    check_bit_depth(settings.bit_depth, fmt, display_path(path))
    atomic_write(path, lambda file: write_image(file, image, fmt, settings=settings, photo=photo, record=metadata,
                                                pixels=pixels))
    return path
