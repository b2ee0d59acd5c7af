"""The range and number checks of settings: one function per kind of bound, shared by the Python API and the
command line.

Each raises ``OptionError`` with the message the Python API shows; the command line calls the same function
on the value it parsed and words the failure as an argparse message of its own (``impasto.cli.common``), so
a range is enforced by one piece of code wherever a value comes from.
"""
from __future__ import annotations

import math
from typing import Any

from ..errors import OptionError
from .limits import FLOAT_RANGES, INT_RANGES, range_text


def check_int(name: str, value: Any) -> None:
    """``value`` is an integer within ``INT_RANGES[name]``."""
    low, high = INT_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = repr(value) if len(repr(value)) <= 30 else f"{repr(value)[:27]}..."
        raise OptionError(f"{name} must be an integer from {range_text(name)}, got {shown}")


def check_number(name: str, value: Any) -> None:
    """``value`` is a finite number >= 0 (weights, rates)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise OptionError(f"{name} must be a finite number >= 0, got {value!r}")


def check_bounded_number(name: str, value: Any) -> None:
    """``value`` is a finite number >= 0 within ``FLOAT_RANGES[name]``."""
    check_number(name, value)
    low, high = FLOAT_RANGES[name]
    if not low <= float(value) <= high:
        raise OptionError(f"{name} must be from {range_text(name)}, got {value}")
