"""Optical flow between video frames, warping along it, and where it can be trusted.

Ruder, Dosovitskiy and Brox, "Artistic style transfer for videos" (2016): each stylised frame starts from
the previous stylised frame warped along the flow, and a temporal loss keeps it there, except where the
flow is unreliable. A pixel is unreliable when the forward and backward flows do not undo each other
(occlusion, disocclusion) or where the flow changes sharply (motion boundaries): their equations (6) and (7).

The flow itself is OpenCV's (the ``video`` extra: ``opencv-python-headless``): DIS (Kroeger et al. 2016) or
Farneback (2003). A flow here is a (H, W, 2) float32 array of (dx, dy) in pixels, in OpenCV's convention:
``flow(a, b)[y, x]`` is where the pixel (x, y) of ``a`` moved to in ``b``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..config.choices import FLOW_METHODS
from ..errors import OptionError
from .images import image_to_tensor

# reliable(): the largest mean RGB difference (0..1) between a frame and the previous one warped onto it
# where the flow still counts as right: above noise and compression, below an object's edge.
PHOTOMETRIC_TOLERANCE = 0.1


def _cv2():
    try:
        import cv2
    except ImportError:
        raise OptionError("video needs OpenCV: pip install 'impasto[video]' (opencv-python-headless)") from None
    return cv2


def _grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def optical_flow(first: Image.Image, second: Image.Image, method: str = "dis") -> np.ndarray:
    """Dense flow from ``first`` to ``second`` (same size), (H, W, 2) float32 pixels (dx, dy)."""
    cv2 = _cv2()
    a, b = _grey(first), _grey(second)
    if method == "dis":
        # The "medium" preset with variational refinement: the quality/speed point OpenCV recommends.
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(a, b, None)
    if method == "farneback":
        # OpenCV's documented parameters: pyramid 0.5 x 5 levels, 15 px window, 3 iterations, 5 px, 1.2.
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 5, 15, 3, 5, 1.2, 0)
    raise OptionError(f"flow must be one of {', '.join(FLOW_METHODS)}, got {method!r}")


def warp(image: torch.Tensor, flow: np.ndarray) -> torch.Tensor:
    """Sample ``image`` (N, C, H, W) at x + flow(x): with ``flow`` = optical_flow(b, a) this brings frame
    a's content to where it sits in frame b (bilinear; outside the frame, the nearest border pixel)."""
    height, width = flow.shape[:2]
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32),
                            indexing="ij")
    motion = _flow_tensor(flow)
    x = xs + motion[..., 0]
    y = ys + motion[..., 1]
    # grid_sample's coordinates: -1 and 1 are the centres of the corner pixels (align_corners=True).
    grid = torch.stack((2 * x / max(width - 1, 1) - 1, 2 * y / max(height - 1, 1) - 1), dim=-1)[None]
    grid = grid.to(image.device, image.dtype).expand(image.shape[0], -1, -1, -1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def reliable(backward: np.ndarray, forward: np.ndarray, now: Optional[Image.Image] = None,
             before: Optional[Image.Image] = None) -> torch.Tensor:
    """(1, 1, H, W): 1 where the flow can be trusted, 0 at occlusions and motion boundaries.

    ``backward`` = optical_flow(frame t, frame t-1), ``forward`` = optical_flow(frame t-1, frame t). Ruder
    et al.'s tests: following the backward flow and then the forward flow must come back, within
    |w_b + w_f~|^2 <= 0.01 (|w_b|^2 + |w_f~|^2) + 0.5; and the backward flow must not change sharply,
    |grad u|^2 + |grad v|^2 <= 0.01 |w_b|^2 + 0.002. Given the frames themselves (``now`` = t, ``before`` =
    t-1), also: frame t-1 warped along the flow must look like frame t (mean channel difference at most
    PHOTOMETRIC_TOLERANCE). A smooth flow such as DIS's carries a moving object's motion into the ground
    it uncovers, consistently both ways; only the pictures show that the ground is not the object.
    """
    back = _flow_tensor(backward).permute(2, 0, 1)[None]
    fore = _flow_tensor(forward).permute(2, 0, 1)[None]
    fore_there = warp(fore, backward)  # the forward flow at the place the backward flow points to
    round_trip = (back + fore_there).square().sum(1, keepdim=True)
    consistent = round_trip <= 0.01 * (back.square().sum(1, keepdim=True)
                                       + fore_there.square().sum(1, keepdim=True)) + 0.5
    grad_x = F.pad(back[..., :, 1:] - back[..., :, :-1], (0, 1, 0, 0))
    grad_y = F.pad(back[..., 1:, :] - back[..., :-1, :], (0, 0, 0, 1))
    sharpness = (grad_x.square() + grad_y.square()).sum(1, keepdim=True)
    smooth = sharpness <= 0.01 * back.square().sum(1, keepdim=True) + 0.002
    trusted = consistent & smooth
    if now is not None and before is not None:
        current = image_to_tensor(now.convert("RGB"))
        difference = (warp(image_to_tensor(before.convert("RGB")), backward) - current).abs().mean(1, keepdim=True)
        trusted &= difference <= PHOTOMETRIC_TOLERANCE
    return trusted.float()


def _flow_tensor(flow: np.ndarray) -> torch.Tensor:
    """An OpenCV flow (H, W, 2) as a float32 tensor of the same shape."""
    return torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32))


def temporal_difference(frames: list[Image.Image], inputs: list[Image.Image], method: str = "dis") -> float:
    """Flicker: the mean absolute difference (0..255) between each frame and the previous frame warped
    along the flow, on the pixels where the flow is reliable. The flow is measured on the ``inputs`` (the
    clip's own frames, at the frames' size), so painted clips are compared on the same motion; with
    ``frames`` = ``inputs`` it is the clip's own value, what motion alone leaves after warping."""
    if len(frames) != len(inputs) or len(frames) < 2:
        raise OptionError("temporal_difference needs two or more frames and as many inputs")
    total, weight = 0.0, 0.0
    for index in range(1, len(frames)):
        size = frames[index].size
        now, before = inputs[index].resize(size), inputs[index - 1].resize(size)
        backward, forward = optical_flow(now, before, method), optical_flow(before, now, method)
        mask = reliable(backward, forward, now, before)
        # In 0..255 units, the scale of the flicker figures.
        previous = 255.0 * image_to_tensor(frames[index - 1].convert("RGB"))
        current = 255.0 * image_to_tensor(frames[index].convert("RGB"))
        difference = (current - warp(previous, backward)).abs().mean(1, keepdim=True)
        total += float((difference * mask).sum())
        weight += float(mask.sum())
    return total / max(weight, 1.0)
