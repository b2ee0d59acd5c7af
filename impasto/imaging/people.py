"""Where the faces and people are in a photo, as a soft mask that ``--protect`` paints lightly.

The detectors are MediaPipe's (``pip install 'impasto[faces]'``), whose 0.10 wheels carry their models, so
nothing is downloaded: the full-range face detector (faces from close up to a few metres, in group photos too)
and the selfie segmenter (a person's silhouette). A face becomes a soft ellipse around its box, raised to take
in the forehead and widened to the ears, full inside and fading to nothing over a band a third of the face
wide, so that hair and background around it are painted as before. ``people`` adds each person's silhouette at
half strength: a body keeps its shape and is still painted.

A photo where nothing is found gets no mask at all, so its painting is exactly what it would be without
``--protect``. ``auto`` (the default) is ``faces`` where MediaPipe is installed and ``none`` where it is not:
measured on portraits (benchmarks/portraits.py), protection keeps every face a face and paints the rest as
before, and finding no face costs a few hundredths of a second.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
from typing import Iterator, Optional

import numpy as np
from PIL import Image

from ..errors import OptionError

# How much of the protection a silhouette gets against a face's (1).
BODY_SHARE = 0.5
MIN_FACE_CONFIDENCE = 0.5
# The ellipse around a detector's face box (which runs from the brows to the chin): its centre raised by this
# share of the box's height, its half-axes these shares of the box's width and height; full inside
# ``_FULL`` of the ellipse's radius, nothing beyond ``_FADE``.
_RAISE, _HALF_WIDTH, _HALF_HEIGHT = 0.12, 0.62, 0.72
_FULL, _FADE = 0.85, 1.3
_STDERR_LOCK = threading.Lock()
# The detectors see the photo at most this large (they resize to 192-256 px themselves).
_DETECTION_SIDE = 1024


def _mediapipe():
    try:
        from mediapipe.python.solutions import face_detection, selfie_segmentation
    except ImportError:
        raise OptionError("--protect needs MediaPipe's detectors (mediapipe 0.10.21): pip install "
                          "'impasto[faces]'") from None
    return face_detection, selfie_segmentation


def require_detectors() -> None:
    """An ``OptionError`` (one line, how to install them) unless MediaPipe's detectors load here."""
    _mediapipe()


def detectors_installed() -> bool:
    """Whether MediaPipe's detectors can be loaded here (what ``auto`` protects with)."""
    if importlib.util.find_spec("mediapipe") is None:
        return False
    try:
        _mediapipe()
    except OptionError:  # a MediaPipe without the solutions API (0.10.35, for one)
        return False
    return True


def _detection_copy(image: Image.Image) -> np.ndarray:
    copy = image.convert("RGB")
    scale = _DETECTION_SIDE / max(copy.size)
    if scale < 1:
        copy = copy.resize((max(1, round(copy.width * scale)), max(1, round(copy.height * scale))),
                           Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(copy))


@contextlib.contextmanager
def _native_logs_silenced() -> Iterator[None]:
    """MediaPipe's C++ side (TensorFlow Lite, absl) prints a few lines to the process's stderr when a detector
    starts, which no setting turns off before absl's logging is initialised; impasto's stderr is one line per
    message. So file descriptor 2 points at /dev/null while a detector runs (a tenth of a second; a line
    another thread writes to stderr in that time is lost with them)."""
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def face_boxes(image: Image.Image) -> list[tuple[float, float, float, float]]:
    """Each face found as (left, top, width, height) in 0..1 of the image's width and height."""
    face_detection, _ = _mediapipe()
    with _native_logs_silenced(), face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=MIN_FACE_CONFIDENCE) as detector:
        found = detector.process(_detection_copy(image)).detections or []
    boxes = []
    for detection in found:
        box = detection.location_data.relative_bounding_box
        if box.width > 0 and box.height > 0:
            boxes.append((box.xmin, box.ymin, box.width, box.height))
    return boxes


def face_mask(boxes: list[tuple[float, float, float, float]], width: int, height: int) -> np.ndarray:
    """(height, width) float32 in 0..1: a soft ellipse per face box (the union of them)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x, y = (x + 0.5) / width, (y + 0.5) / height
    mask = np.zeros((height, width), np.float32)
    for left, top, box_width, box_height in boxes:
        centre_x = left + box_width / 2
        centre_y = top + box_height / 2 - _RAISE * box_height
        radius = np.sqrt(((x - centre_x) / (_HALF_WIDTH * box_width)) ** 2
                         + ((y - centre_y) / (_HALF_HEIGHT * box_height)) ** 2)
        mask = np.maximum(mask, np.clip((_FADE - radius) / (_FADE - _FULL), 0.0, 1.0))
    return mask


def person_mask(image: Image.Image) -> np.ndarray:
    """(height, width) float32 in 0..1: how surely each pixel belongs to a person (the selfie segmenter)."""
    _, selfie_segmentation = _mediapipe()
    with _native_logs_silenced(), selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        found = segmenter.process(_detection_copy(image)).segmentation_mask
    silhouette = Image.fromarray(np.clip(found * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    return np.asarray(silhouette.resize(image.size, Image.Resampling.BILINEAR), np.float32) / 255.0


def protection_mask(image: Image.Image, protect: str) -> Optional[Image.Image]:
    """The photo's protected area as a greyscale image of its size (white: protected fully), or None when
    ``protect`` is "none" or nothing was found (no face: a person's silhouette alone is not trusted)."""
    if protect == "auto":
        protect = "faces" if detectors_installed() else "none"
    if protect == "none":
        return None
    boxes = face_boxes(image)
    if not boxes:
        return None
    mask = face_mask(boxes, *image.size)
    if protect == "people":
        mask = np.maximum(mask, BODY_SHARE * person_mask(image))
    return Image.fromarray(np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
