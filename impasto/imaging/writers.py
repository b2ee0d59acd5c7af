"""Writing a result as a print shop wants it: the colour profile, 8 or 16 bits, the photo's EXIF and DPI.

Every output is tagged sRGB (its pixels are sRGB: the reader converts every photo to sRGB,
``impasto.imaging.profiles``), or converted back into the photo's own profile and tagged with it
(``keep_profile``). The photo's EXIF goes along without the orientation tag (the reader has already turned
the pixels upright) and without the GPS position unless ``keep_gps``; its pixel dimensions are the output's.

Pillow writes 8 bits per channel only (its 16-bit modes are greyscale), so 16-bit PNG goes through pypng
(with the profile, DPI, EXIF and the run's record added as PNG chunks) and 16-bit TIFF through tifffile
(the profile and DPI as TIFF tags; of the EXIF, the camera's make and model, the date, artist and copyright,
which TIFF stores in its own tags).
"""
from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass
from typing import IO, Optional

import numpy as np
from PIL import Image, PngImagePlugin

from ..config.choices import BIT_DEPTHS
from ..config.options import Options
from ..config.prints import DEFAULT_PRINT_DPI
from ..errors import OutputError
from .profiles import convert_float_pixels, embedded_profile, from_srgb, srgb_profile_bytes

# The formats that keep 16 bits per channel (Pillow's names).
DEEP_FORMATS = ("PNG", "TIFF")
# EXIF tags (Pillow's ExifTags numbers) the writer touches.
_ORIENTATION, _SOFTWARE, _EXIF_IFD, _GPS_IFD = 0x0112, 0x0131, 0x8769, 0x8825
_PIXEL_X, _PIXEL_Y, _COLOUR_SPACE = 0xA002, 0xA003, 0xA001
_SRGB_SPACE, _UNCALIBRATED_SPACE = 1, 0xFFFF  # EXIF's ColorSpace values
# EXIF's first directory holds these in TIFF's own tags: what a 16-bit TIFF keeps of a photo's EXIF.
_TIFF_TEXT_TAGS = {271: "Make", 272: "Model", 306: "DateTime", 315: "Artist", 33432: "Copyright"}
# Formats whose Pillow writer takes exif= and icc_profile= (BMP takes neither).
_TAGGED_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "AVIF", "HEIF")
_DPI_FORMATS = ("PNG", "JPEG", "TIFF", "BMP")
INCHES_PER_METRE = 39.3700787


@dataclass(frozen=True)
class FileSettings:
    """How a result is written (``Options``' output fields): bits per channel, whether the photo's own colour
    profile and GPS position go along, and the DPI (None: the photo's, if it had one)."""

    bit_depth: int = 8
    keep_profile: bool = False
    keep_gps: bool = False
    dpi: Optional[float] = None

    @classmethod
    def of(cls, options: Options) -> "FileSettings":
        """The file settings of a run's options (a print size without a DPI prints at 300)."""
        dpi = options.dpi if options.dpi is not None else (DEFAULT_PRINT_DPI if options.print_size else None)
        return cls(options.bit_depth, options.keep_profile, options.keep_gps, dpi)


PLAIN_FILE = FileSettings()  # 8 bits, sRGB, no GPS, the photo's DPI


def check_bit_depth(bit_depth: int, fmt: str, name: str) -> None:
    """A one-line error for a bit depth the output format cannot hold."""
    if bit_depth not in BIT_DEPTHS:
        raise OutputError(f"bit depth must be one of {', '.join(map(str, BIT_DEPTHS))}, got {bit_depth!r}")
    if bit_depth == 16 and fmt not in DEEP_FORMATS:
        raise OutputError(f"{name} would be {fmt}, which holds 8 bits per channel; use .png or .tif for 16 bits")


def output_exif(photo: Optional[Image.Image], size: tuple[int, int], keep_gps: bool,
                srgb: bool = True) -> Optional[bytes]:
    """The photo's EXIF for an output of ``size`` (width, height): orientation gone, GPS gone unless
    ``keep_gps``, the software and pixel dimensions the output's, and the colour space sRGB (``srgb``) or
    "uncalibrated" (the embedded profile says which). None when the photo had none."""
    if photo is None or not photo.info.get("exif"):
        return None
    exif = Image.Exif()
    try:
        exif.load(photo.info["exif"])
        details = exif.get_ifd(_EXIF_IFD)
    except (OSError, SyntaxError, ValueError, struct.error):
        return None  # unreadable EXIF is not worth refusing a photo over: the output goes without it
    exif.pop(_ORIENTATION, None)
    if not keep_gps:
        exif.pop(_GPS_IFD, None)
    exif[_SOFTWARE] = "impasto"
    if details:
        details[_PIXEL_X], details[_PIXEL_Y] = size
        details[_COLOUR_SPACE] = _SRGB_SPACE if srgb else _UNCALIBRATED_SPACE
    return exif.tobytes()


def _dpi(photo: Optional[Image.Image], settings: FileSettings) -> Optional[tuple[float, float]]:
    if settings.dpi is not None:
        return (float(settings.dpi), float(settings.dpi))
    found = photo.info.get("dpi") if photo is not None else None
    if found and len(found) == 2 and all(float(v) > 0 for v in found):
        return (float(found[0]), float(found[1]))
    return None


def _profile_for(photo: Optional[Image.Image], settings: FileSettings) -> bytes:
    """The profile the output is written in: the photo's own with ``keep_profile`` (if it had one), else sRGB."""
    own = embedded_profile(photo) if settings.keep_profile else None
    return own or srgb_profile_bytes()


def write_image(file: IO[bytes], image: Image.Image, fmt: str, *, settings: FileSettings = PLAIN_FILE,
                photo: Optional[Image.Image] = None, record: Optional[dict] = None,
                pixels: Optional[np.ndarray] = None) -> None:
    """Write ``image`` (RGB or RGBA, 8-bit, sRGB) to ``file`` in ``fmt`` as ``settings`` say.

    ``photo`` is the content image as read (its EXIF, DPI and original profile); ``record`` the run's own
    record (a PNG text chunk ``impasto``, JSON); ``pixels`` the same picture as float RGB (H, W, 3) in 0..1,
    which a 16-bit file is written from (without it the 8-bit image is widened).
    """
    profile = _profile_for(photo, settings)
    exif = output_exif(photo, image.size, settings.keep_gps, srgb=profile == srgb_profile_bytes())
    dpi = _dpi(photo, settings)
    if settings.bit_depth == 16:
        deep = _deep_pixels(image, pixels, profile)
        if fmt == "PNG":
            _write_png16(file, deep, profile, exif, dpi, record)
        else:
            _write_tiff16(file, deep, profile, photo, dpi, record)
        return
    if profile != srgb_profile_bytes():
        rgb = from_srgb(image.convert("RGB"), profile)
        if image.mode == "RGBA":
            rgb.putalpha(image.getchannel("A"))
        image = rgb
    options: dict = {}
    if fmt in _TAGGED_FORMATS:
        options["icc_profile"] = profile
        if exif:
            options["exif"] = exif
    if dpi and fmt in _DPI_FORMATS:
        options["dpi"] = dpi
    if fmt == "PNG" and record:
        info = PngImagePlugin.PngInfo()
        info.add_text("impasto", json.dumps(record, default=str))
        info.add_text("Software", "impasto")
        options["pnginfo"] = info
    if fmt == "JPEG":
        image = image.convert("RGB")
        options["quality"] = 95
    if fmt == "TIFF":
        options["compression"] = "tiff_deflate"
    image.save(file, format=fmt, **options)


def _deep_pixels(image: Image.Image, pixels: Optional[np.ndarray], profile: bytes) -> np.ndarray:
    """(H, W, 3 or 4) uint16: the float pixels (or the 8-bit image widened) in ``profile``, alpha kept."""
    if pixels is None:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    rgb = convert_float_pixels(pixels, profile) if profile != srgb_profile_bytes() else pixels
    channels = [np.clip(rgb, 0.0, 1.0)]
    if image.mode == "RGBA":
        channels.append(np.asarray(image.getchannel("A"), dtype=np.float32)[:, :, None] / 255.0)
    return (np.concatenate(channels, axis=2) * 65535.0 + 0.5).astype(np.uint16)


def _write_png16(file: IO[bytes], pixels: np.ndarray, profile: bytes, exif: Optional[bytes],
                 dpi: Optional[tuple[float, float]], record: Optional[dict]) -> None:
    import png  # pypng: Pillow cannot hold 16-bit colour

    height, width, planes = pixels.shape
    encoded = io.BytesIO()
    png.Writer(width, height, greyscale=False, alpha=planes == 4, bitdepth=16, compression=6).write(
        encoded, pixels.reshape(height, width * planes))
    chunks = list(png.Reader(bytes=encoded.getvalue()).chunks())
    extra = [(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(profile))]
    if dpi:
        per_metre = [round(value * INCHES_PER_METRE) for value in dpi]
        extra.append((b"pHYs", struct.pack(">IIB", per_metre[0], per_metre[1], 1)))
    if exif:
        extra.append((b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    text = [("Software", "impasto")] + ([("impasto", json.dumps(record, default=str))] if record else [])
    extra += [(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1", "replace"))
              for key, value in text]
    # After IHDR, which must come first; every chunk added here must precede the image data.
    png.write_chunks(file, chunks[:1] + extra + chunks[1:])


def _tiff_description(record: Optional[dict]) -> Optional[str]:
    # Not bare JSON: tifffile would take a description starting with "{" for its own array metadata.
    return f"impasto run: {json.dumps(record, default=str)}" if record else None


def _write_tiff16(file: IO[bytes], pixels: np.ndarray, profile: bytes, photo: Optional[Image.Image],
                  dpi: Optional[tuple[float, float]], record: Optional[dict]) -> None:
    import tifffile  # Pillow cannot hold 16-bit colour

    tags = []
    exif = Image.Exif()
    if photo is not None and photo.info.get("exif"):
        try:
            exif.load(photo.info["exif"])
        except (OSError, SyntaxError, ValueError, struct.error):
            exif = Image.Exif()
    for tag in _TIFF_TEXT_TAGS:
        value = exif.get(tag)
        if isinstance(value, str) and value.strip("\x00 "):
            tags.append((tag, "s", 0, value.strip("\x00"), True))
    extra = {"resolution": dpi, "resolutionunit": "INCH"} if dpi else {}
    # Into memory first: tifffile reads a file object's name, which a descriptor opened by number lacks.
    encoded = io.BytesIO()
    tifffile.imwrite(encoded, pixels, photometric="rgb", compression="zlib", iccprofile=profile, software="impasto",
                     description=_tiff_description(record), metadata=None,
                     extrasamples=("unassalpha",) if pixels.shape[2] == 4 else None, extratags=tags, **extra)
    file.write(encoded.getvalue())

