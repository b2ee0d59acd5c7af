"""Sample images that ship with the install, so ``impasto --demo`` works offline on a fresh machine.

The photo is Grace Hopper's portrait that Matplotlib (a dependency) ships in its sample data. The painting
is made here: thousands of short brush strokes laid along a swirling flow field in a warm/cool palette, a
style with visible strokes and strong color, which is what style transfer should carry over.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .errors import ImageInputError

# Night-sky blues above, ochres and reds below, with light accents: a palette that reads as "painted".
PALETTE = np.array([
    (22, 45, 110), (38, 84, 160), (70, 130, 200), (140, 190, 230), (240, 210, 90),
    (235, 160, 40), (200, 80, 30), (120, 40, 30), (250, 240, 200), (30, 90, 60),
], dtype=np.float32)


def sample_photo() -> Image.Image:
    """A real photograph from an installed package (Matplotlib's sample data)."""
    try:
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as file:
            return Image.open(file).convert("RGB")
    except (ImportError, OSError, ValueError) as error:
        raise ImageInputError(f"matplotlib's sample photo is not available ({error})") from None


def sample_painting(width: int = 480, height: int = 400, seed: int = 7) -> Image.Image:
    """A procedurally painted picture: swirling strokes, thick paint, deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    canvas = Image.new("RGB", (width, height), (30, 50, 100))
    draw = ImageDraw.Draw(canvas)
    centers = rng.uniform(0, 1, (5, 2)) * (width, height)

    def angle(x: float, y: float) -> float:
        # Flow field: vortices around a few centers plus a gentle horizontal drift, as in a swirling sky.
        total = 0.15 * math.sin(y / 37.0)
        for cx, cy in centers:
            dx, dy = x - cx, y - cy
            total += math.atan2(dy, dx) + math.pi / 2 if dx * dx + dy * dy < (0.35 * width) ** 2 else 0.0
        return total

    strokes = int(width * height / 18)
    for _ in range(strokes):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        band = y / height + rng.normal(0, 0.12)
        base = PALETTE[int(np.clip(band * 6 + rng.integers(-1, 2), 0, 7))]
        if rng.uniform() < 0.06:
            base = PALETTE[rng.choice([4, 8])]
        color = tuple(int(c) for c in np.clip(base + rng.normal(0, 14, 3), 0, 255))
        points = [(x, y)]
        for _ in range(int(rng.integers(4, 9))):
            theta = angle(x, y)
            x, y = x + 4.0 * math.cos(theta), y + 4.0 * math.sin(theta)
            points.append((x, y))
        draw.line(points, fill=color, width=int(rng.integers(3, 7)), joint="curve")
    return canvas.filter(ImageFilter.SMOOTH)
