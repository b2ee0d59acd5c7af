import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from impasto.errors import ImageInputError, OutputError
from impasto.imaging.images import fit_long_side, image_to_tensor, load_image, open_image, save_image, tensor_to_image


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif.tobytes())
    assert load_image(path).size == (20, 40)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "RGBA", "LA", "I;16", "1"])
def test_modes_become_rgb(tmp_path, mode):
    base = Image.new("RGB", (16, 12), (200, 100, 50))
    image = base.convert(mode) if mode != "I;16" else Image.fromarray(np.full((12, 16), 40000, np.uint16))
    suffix = ".jpg" if mode == "CMYK" else ".png" if mode != "LA" else ".png"
    path = tmp_path / f"image{suffix}"
    image.save(path)
    rgb = load_image(path)
    assert rgb.mode == "RGB" and rgb.size == (16, 12)


def test_16_bit_keeps_its_range(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(path)
    value = np.asarray(load_image(path))[0, 0, 0]
    assert 126 <= value <= 129  # half of the 16-bit range is mid-gray, not clipped white


def test_rgba_alpha_is_kept_separately(tmp_path):
    image = Image.new("RGBA", (10, 10), (255, 0, 0, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))
    rgb, alpha = open_image(image)
    assert rgb.mode == "RGB" and alpha is not None and alpha.getpixel((0, 0)) == 0
    _, opaque = open_image(Image.new("RGBA", (4, 4), (1, 2, 3, 255)))
    assert opaque is None


def test_arrays_are_accepted():
    assert load_image(np.zeros((5, 6, 3), np.uint8)).size == (6, 5)
    assert np.asarray(load_image(np.ones((5, 6), np.float32)))[0, 0, 0] == 255
    with pytest.raises(ImageInputError):
        load_image(np.zeros((5, 6, 7)))


def test_unreadable_inputs(tmp_path):
    with pytest.raises(ImageInputError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageInputError, match="is a folder"):
        load_image(tmp_path)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(ImageInputError, match="not an image"):
        load_image(text)


def test_tensor_round_trip_and_resize():
    image = Image.fromarray(np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3))
    tensor = image_to_tensor(image)
    assert tensor.shape == (1, 3, 4, 6) and tensor.max() <= 1.0
    assert np.array_equal(np.asarray(tensor_to_image(tensor)), np.asarray(image))
    assert image_to_tensor(image, (8, 12)).shape == (1, 3, 8, 12)
    assert tensor_to_image(torch.full((1, 3, 2, 2), 2.0)).getpixel((0, 0)) == (255, 255, 255)


def test_fit_long_side_keeps_aspect():
    assert fit_long_side(2048, 1365, 512) == (341, 512)
    assert fit_long_side(100, 400, 200) == (200, 50)


def test_save_by_extension_with_metadata(tmp_path):
    image = Image.new("RGB", (8, 8), "blue")
    png = save_image(image, tmp_path / "out.png", {"style_weight": 3})
    with Image.open(png) as reopened:
        assert reopened.format == "PNG" and json.loads(reopened.text["impasto"]) == {"style_weight": 3}
    with Image.open(save_image(image.convert("RGBA"), tmp_path / "out.jpg")) as reopened:
        assert reopened.format == "JPEG"
    with pytest.raises(OutputError):
        save_image(image, tmp_path / "out.xyz")
    assert not list(tmp_path.glob("*.part"))
    umask = os.umask(0)
    os.umask(umask)
    assert png.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_limit_is_ours_and_pillows_guard_is_only_ever_raised(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (40, 30)).save(path)
    # As if Pillow's guard were 500 pixels: it would refuse this 1,200-pixel file (over twice the guard).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(ImageInputError, match="over the limit of 1,000"):
        open_image(path, "content image", max_pixels=1000)
    assert Image.MAX_IMAGE_PIXELS == 1000  # raised to the limit asked for, not swapped back
    rgb, _ = open_image(path, "content image", max_pixels=5000)
    assert rgb.size == (40, 30) and Image.MAX_IMAGE_PIXELS == 5000
    open_image(path, "content image", max_pixels=2000)
    assert Image.MAX_IMAGE_PIXELS == 5000  # a stricter limit is enforced by us, not by lowering Pillow's
    with pytest.raises(ImageInputError, match="over the limit of 100"):
        open_image(path, "content image", max_pixels=100)
