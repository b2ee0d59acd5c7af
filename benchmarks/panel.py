"""The development panel: content x style pairs from ../shared/images that every quality benchmark uses.

Nine pairs; every style appears, all five contents appear, and the three paintings whose palettes are
furthest from the photos (candy, mosaic, rain-princess) are in it.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_IMAGES = HERE.parent.parent / "shared" / "images"
REFERENCE_DIR = HERE / "reference"

PANEL: list[tuple[str, str]] = [
    ("rainier.jpg", "candy.jpg"),
    ("chelsea.png", "mosaic.jpg"),
    ("amber.jpg", "rain-princess.jpg"),
    ("coffee.png", "udnie.jpg"),
    ("astronaut.png", "autumn_oak.jpg"),
    ("rainier.jpg", "autumn_oak.jpg"),
    ("coffee.png", "candy.jpg"),
    ("astronaut.png", "mosaic.jpg"),
    # Hokusai's wave: a muted, dark palette around bold forms, where a light default shows most.
    ("rainier.jpg", "wave.jpg"),
]


def pair_name(content: str, style: str) -> str:
    return f"{Path(content).stem}__{Path(style).stem}"


def pair_paths(content: str, style: str, images: Path = SHARED_IMAGES) -> tuple[Path, Path]:
    return images / content, images / style
