"""A timelapse of a run: the image being painted, a frame every few iterations, as an animated file."""
from __future__ import annotations

import math
import os
from pathlib import Path

from PIL import Image

from ..errors import OutputError, display_path
from ..files import atomic_write

# Pillow writes all three without extra packages; APNG is a .png with several frames.
TIMELAPSE_FORMATS = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG"}
TARGET_FRAMES = 100  # the default frame interval aims at about this many frames (a few seconds to watch)
FRAME_MS = 80
LAST_FRAME_MS = 2000  # the finished painting stays on screen


def timelapse_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in TIMELAPSE_FORMATS:
        raise OutputError(f"timelapse {display_path(path)} must end in one of {', '.join(TIMELAPSE_FORMATS)}")
    return TIMELAPSE_FORMATS[suffix]


def default_interval(total_steps: int) -> int:
    """Iterations between frames so that a run gives about ``TARGET_FRAMES`` frames."""
    return max(1, math.ceil(total_steps / TARGET_FRAMES))


class Timelapse:
    """Collects frames (PIL images, all of one size) and writes them as one animation, atomically."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.format = timelapse_format(path)
        self.frames: list[Image.Image] = []

    def add(self, frame: Image.Image) -> None:
        frame = frame.convert("RGB")
        # GIF frames are kept as 256-colour palettes: what GIF stores anyway, a third of the memory.
        self.frames.append(frame.quantize(256, method=Image.Quantize.MEDIANCUT) if self.format == "GIF" else frame)

    def save(self, final: Image.Image | None = None) -> Path | None:
        """Write the frames (and ``final``, held on screen for a while); nothing if there are none."""
        frames = list(self.frames)
        if final is not None:
            final = final.convert("RGB")
            frames.append(final.quantize(256, method=Image.Quantize.MEDIANCUT) if self.format == "GIF" else final)
        if not frames:
            return None
        durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
        first, rest = frames[0], frames[1:]
        return atomic_write(self.path, lambda file: first.save(file, format=self.format, save_all=True,
                                                               append_images=rest, duration=durations, loop=0))
