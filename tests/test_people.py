"""--protect: finding faces and people (MediaPipe's real models), the soft mask, and what it does to a run.

The portrait is Matplotlib's sample photo of Grace Hopper, which ships with Matplotlib (a dependency)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from impasto.errors import OptionError
from impasto.imaging.people import face_boxes, face_mask, protection_mask
from impasto.loss.terms import ContentLoss
from tests.conftest import gradient_image, stripes_image


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return Image.open(path).convert("RGB").resize((256, 300), Image.Resampling.LANCZOS)


def test_the_face_mask_is_a_soft_raised_ellipse():
    mask = face_mask([(0.25, 0.25, 0.5, 0.5)], 100, 100)
    assert mask.shape == (100, 100) and mask.dtype == np.float32
    assert mask[44, 50] == 1.0  # the centre, raised above the box's: the forehead is in
    assert mask[0, 0] == 0.0 and mask[99, 99] == 0.0  # the corners are painted as before
    column = mask[:, 50]
    assert 0 < column[10] < 1 or 0 < column[15] < 1  # a soft edge, not a cut
    assert face_mask([], 10, 10).max() == 0.0


def test_a_real_face_is_found_and_protected(portrait):
    boxes = face_boxes(portrait)
    assert len(boxes) == 1
    left, top, width, height = boxes[0]
    # Grace Hopper's face: in the upper middle of the photo, a third of its width.
    assert 0.25 < left + width / 2 < 0.75 and 0.15 < top + height / 2 < 0.55 and 0.2 < width < 0.6
    faces = np.asarray(protection_mask(portrait, "faces"), float) / 255
    people = np.asarray(protection_mask(portrait, "people"), float) / 255
    centre = (round((top + height / 2) * 300), round((left + width / 2) * 256))
    assert faces[centre] == 1.0 and faces[-1, 0] == 0.0 and faces[0, -1] == 0.0
    # The uniform is half protected with people, not at all with faces.
    assert people[-10, 128] == pytest.approx(0.5, abs=0.08) and faces[-10, 128] == 0.0
    assert people.mean() > 1.5 * faces.mean()


def test_nothing_found_means_no_mask_and_the_same_painting(tmp_path):
    photo = gradient_image(96, 64)
    assert protection_mask(photo, "faces") is None and protection_mask(photo, "people") is None
    assert protection_mask(photo, "none") is None
    import impasto

    style = stripes_image(64, 64)
    kwargs = {"size": 64, "scales": 1, "iterations": 4, "seed": 3}
    plain = impasto.stylize(photo, style, protect="none", **kwargs)
    protected = impasto.stylize(photo, style, protect="faces", **kwargs)
    assert np.array_equal(np.asarray(plain), np.asarray(protected))


def test_content_loss_pixel_weights_by_hand():
    target = torch.zeros(1, 1, 2, 2)
    current = torch.tensor([[[[1.0, 2.0], [0.0, 3.0]]]])
    weights = torch.tensor([[[[1.0, 5.0], [1.0, 1.0]]]])
    # mean of (1*1, 5*4, 1*0, 1*9) = 30 / 4
    loss = ContentLoss({"relu4_2": target}, [("relu4_2", 1.0)], 2.0, "mean", {"relu4_2": weights})
    assert loss({"relu4_2": current}).item() == pytest.approx(2.0 * 30 / 4)
    plain = ContentLoss({"relu4_2": target}, [("relu4_2", 1.0)], 2.0, "mean")
    assert plain({"relu4_2": current}).item() == pytest.approx(2.0 * 14 / 4)


def test_protected_face_stays_closer_to_the_photo_while_the_rest_is_painted(portrait, vgg19_weights):
    import impasto
    from impasto.net.features import VGGFeatures

    network = VGGFeatures(vgg19_weights)
    style = stripes_image(128, 128)
    kwargs = {"size": 180, "scales": 1, "iterations": 12, "seed": 0, "network": network}
    plain = np.asarray(impasto.stylize(portrait, style, protect="none", **kwargs), float)
    kept = np.asarray(impasto.stylize(portrait, style, protect="faces", **kwargs), float)
    size = (plain.shape[1], plain.shape[0])
    photo = np.asarray(portrait.resize(size, Image.Resampling.LANCZOS), float)
    mask = np.asarray(protection_mask(portrait, "faces").resize(size, Image.Resampling.BILINEAR), float) / 255
    face, rest = mask > 0.99, mask == 0

    def change(result, where):
        return np.abs(result - photo)[where].mean()

    assert change(kept, face) < 0.6 * change(plain, face)
    assert change(kept, rest) > 0.8 * change(plain, rest)


def test_protect_without_mediapipe_is_one_line(monkeypatch):
    for name in ("mediapipe", "mediapipe.python", "mediapipe.python.solutions"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(OptionError, match=r"pip install 'impasto\[faces\]'") as caught:
        protection_mask(gradient_image(32, 32), "faces")
    assert "\n" not in str(caught.value)
    # The default, auto, protects faces only where the detector is installed: without it, nothing.
    assert protection_mask(gradient_image(32, 32), "auto") is None


def test_auto_protects_faces_where_mediapipe_is_installed(portrait):
    assert np.array_equal(np.asarray(protection_mask(portrait, "auto")), np.asarray(protection_mask(portrait, "faces")))


def test_protect_asked_by_name_without_mediapipe_fails_before_painting(monkeypatch):
    from impasto.config.options import resolve_options
    from impasto.engine.inputs import RunInputs

    for name in ("mediapipe", "mediapipe.python", "mediapipe.python.solutions"):
        monkeypatch.setitem(sys.modules, name, None)
    photo, painting = gradient_image(64, 48), stripes_image(32, 32)
    with pytest.raises(OptionError, match="impasto\\[faces\\]"):
        RunInputs(photo, painting, resolve_options(protect="faces"))
    assert RunInputs(photo, painting, resolve_options()).protection is None  # auto: nothing, no error
