"""Shared fixtures: small images made here (tests never need ../shared) and the bundled weights."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def gradient_image(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth color gradient with a bright disc: a stand-in 'photo' with shapes to preserve."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    red = x / max(width - 1, 1)
    green = y / max(height - 1, 1)
    blue = 0.5 + 0.5 * np.sin(x / 5.0 + seed)
    disc = ((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2) < (min(width, height) * 0.25) ** 2
    array = np.stack([red, green, blue], axis=-1)
    array[disc] = [1.0, 1.0, 0.9]
    array += rng.normal(0, 0.02, array.shape)
    return Image.fromarray((np.clip(array, 0, 1) * 255).astype(np.uint8), "RGB")


def stripes_image(width: int, height: int, seed: int = 1) -> Image.Image:
    """Diagonal colored stripes: a stand-in 'painting' with a strong, distinct texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = (x + y) / 4.0
    palette = rng.uniform(0, 1, (4, 3))
    index = (np.floor(phase) % 4).astype(int)
    return Image.fromarray((palette[index] * 255).astype(np.uint8), "RGB")


@pytest.fixture(scope="session")
def vgg19_weights():
    from impasto.net.weights import load_weights

    return load_weights()


@pytest.fixture
def content_path(tmp_path):
    path = tmp_path / "content.png"
    gradient_image(96, 64).save(path)
    return path


@pytest.fixture
def style_path(tmp_path):
    path = tmp_path / "style.png"
    stripes_image(80, 80).save(path)
    return path
