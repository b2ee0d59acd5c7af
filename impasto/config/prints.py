"""A print size as photographers ask for one: ``40x30cm`` (or ``mm``, ``in``) at a DPI, resolved to pixels.

The box is laid along the photo: its longer side along the photo's longer side, whichever way round it was
written, and the photo fitted inside it with its aspect ratio kept (a print shop trims, it does not stretch).
Plain arithmetic and no heavy imports: the command line checks ``--print`` before PyTorch loads.
"""
from __future__ import annotations

import math
import re

from ..errors import OptionError
from .limits import FLOAT_RANGES, MAX_SIDE, MIN_SIZE

UNITS_PER_INCH = {"in": 1.0, "inch": 1.0, "cm": 2.54, "mm": 25.4}
# 300 DPI is what photo labs print at; the DPI when --print is given without --dpi.
DEFAULT_PRINT_DPI = 300.0
_PRINT_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$", re.IGNORECASE)


def parse_print_size(text: str) -> tuple[float, float]:
    """``"40x30cm"`` -> (width, height) in inches; a one-line ``OptionError`` for anything else."""
    match = _PRINT_SIZE.match(str(text))
    unit = match.group(3).lower() if match else ""
    if not match or unit not in UNITS_PER_INCH:
        raise OptionError(f"print size must look like 40x30cm, 300x200mm or 16x12in, got {text!r}")
    width, height = (float(match.group(i)) / UNITS_PER_INCH[unit] for i in (1, 2))
    if width <= 0 or height <= 0:
        raise OptionError(f"print size {text!r} must have both sides above zero")
    return width, height


def print_long_side(text: str, dpi: float | None, photo_width: int, photo_height: int) -> int:
    """The output's long side in pixels for the photo printed within ``text`` at ``dpi`` (default 300)."""
    dpi = DEFAULT_PRINT_DPI if dpi is None else dpi
    low, high = FLOAT_RANGES["dpi"]
    if not (math.isfinite(dpi) and low <= dpi <= high):
        raise OptionError(f"dpi must be from {low:g} to {high:g}, got {dpi}")
    box_long, box_short = sorted(parse_print_size(text), reverse=True)
    photo_long, photo_short = max(photo_width, photo_height), min(photo_width, photo_height)
    # The photo's long side fills the box's, unless its short side would then overflow the box's.
    inches = min(box_long, box_short * photo_long / photo_short)
    pixels = round(inches * dpi)
    if not MIN_SIZE <= pixels <= MAX_SIDE:
        raise OptionError(f"a {text} print at {dpi:g} DPI is {pixels:,} px on its long side; impasto paints "
                          f"{MIN_SIZE} to {MAX_SIDE:,} px")
    return pixels
