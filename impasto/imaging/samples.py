"""Sample images that ship with the install, so ``impasto --demo`` works offline on a fresh machine.

The photo is Grace Hopper's portrait that Matplotlib (a dependency) ships in its sample data. The painting
is made here: thousands of short brush strokes laid along a swirling flow field in a warm/cool palette, a
style with visible strokes and strong color, which is what style transfer should carry over.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..errors import ImageInputError

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


def sample_clip(photo: Image.Image | None = None, frames: int = 24, size: tuple[int, int] = (512, 288),
                pan: float = 0.25, zoom: float = 1.25, sprite: Image.Image | None = None
                ) -> tuple[list[Image.Image], list[np.ndarray]]:
    """A clip made from a still: the camera pans across ``photo`` and zooms in while a round patch (the
    ``sprite``, by default a piece of the sample painting) moves across the frame the other way.

    Returns the frames and, for each frame after the first, its true backward flow (H, W, 2): where each
    pixel of frame t was in frame t-1, known by construction (OpenCV's convention, dx then dy), against
    which an estimated flow can be measured.
    """
    photo = photo if photo is not None else sample_photo()
    width, height = size
    sprite = (sprite if sprite is not None else sample_painting(160, 160)).resize((height // 3, height // 3))
    radius = sprite.width / 2
    disc = Image.new("L", sprite.size, 0)
    ImageDraw.Draw(disc).ellipse((0, 0, sprite.width - 1, sprite.height - 1), fill=255)
    # The view: a window of the photo, centre c(t) and photo pixels per frame pixel s(t), fitting inside it.
    fit = min(photo.width / width, photo.height / height) * 0.7
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)

    def view(t: float) -> tuple[float, float, float]:
        share = t / max(frames - 1, 1)
        scale = fit / (1 + (zoom - 1) * share)
        room = photo.width / 2 - width / 2 * fit
        return photo.width / 2 + room * pan * (2 * share - 1), photo.height / 2, scale

    def sprite_centre(t: float) -> tuple[float, float]:
        share = t / max(frames - 1, 1)
        return width * (0.85 - 0.7 * share), height * (0.35 + 0.3 * share)

    clip, flows = [], []
    for t in range(frames):
        cx, cy, scale = view(t)
        # Frame pixel (x, y) shows photo point (cx + scale (x + 0.5 - w/2), cy + ...): Pillow's AFFINE maps
        # output to input coordinates.
        frame = photo.transform((width, height), Image.Transform.AFFINE,
                                (scale, 0, cx - scale * width / 2, 0, scale, cy - scale * height / 2),
                                resample=Image.Resampling.BILINEAR)
        sx, sy = sprite_centre(t)
        frame.paste(sprite, (round(sx - radius), round(sy - radius)), disc)
        clip.append(frame)
        if t:
            pcx, pcy, pscale = view(t - 1)
            px, py = sprite_centre(t - 1)
            # Background: the photo point under (x, y) now, seen through the previous frame's window.
            photo_x = cx + scale * (xs + 0.5 - width / 2)
            photo_y = cy + scale * (ys + 0.5 - height / 2)
            flow_x = (photo_x - pcx) / pscale + width / 2 - 0.5 - xs
            flow_y = (photo_y - pcy) / pscale + height / 2 - 0.5 - ys
            # The sprite (where it is drawn now) moves as a whole.
            inside = (xs - (round(sx - radius) + radius - 0.5)) ** 2 + \
                     (ys - (round(sy - radius) + radius - 0.5)) ** 2 < (radius - 0.5) ** 2
            flow_x[inside] = round(px - radius) - round(sx - radius)
            flow_y[inside] = round(py - radius) - round(sy - radius)
            flows.append(np.stack([flow_x, flow_y], axis=-1).astype(np.float32))
    return clip, flows
