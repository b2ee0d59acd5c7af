"""The photos a feed-forward painter trains on, and the random crops it sees.

A training set is given as folders, glob patterns, image files or video clips (a clip gives evenly spaced
frames). Every image goes through the reader every other surface uses (``open_image``: EXIF orientation,
the decompression-bomb guard, one-line errors), is shrunk once to what the crops can use, and is kept in
memory as 8-bit pixels: a few hundred photos take a few hundred MB.

Each crop is a photo at a random scale (its long side from ``SCALE_RANGE`` times the crop), a random
square window of it, flipped left-right half the time (Johnson et al. trained on 256 px crops of COCO).
"""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ImageInputError, display_path
from ..files import path_kind
from .images import fit_long_side, open_image
from .video_io import FRAME_SUFFIXES, open_clip

# A crop is taken from the photo with its long side between these multiples of the crop side: the texture
# the network learns is the painting's at about 2x the crop, which is the size of the images it paints.
SCALE_RANGE = (1.5, 2.5)
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".gif")
MAX_FRAMES_PER_CLIP = 300


def photo_paths(sources: Sequence[str | os.PathLike]) -> list[Path]:
    """The files named by ``sources`` (folders: the images and clips inside, recursively; glob patterns;
    files), in a stable order, each once."""
    found: list[Path] = []
    for source in sources:
        text = os.fspath(source)
        if any(char in text for char in "*?[") and path_kind(Path(text), "photos", ImageInputError) == "missing":
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if _usable(Path(p)))
            if not matches:
                raise ImageInputError(f"photos pattern {display_path(text)} matches no image or video file")
            found += matches
            continue
        path = Path(text)
        kind = path_kind(path, "photos", ImageInputError)
        if kind == "missing":
            raise ImageInputError(f"photos {display_path(path)} do not exist")
        if kind == "dir":
            matches = sorted(p for p in path.rglob("*") if _usable(p))
            if not matches:
                raise ImageInputError(f"photos folder {display_path(path)} has no image or video file "
                                      f"({', '.join(FRAME_SUFFIXES + VIDEO_SUFFIXES)})")
            found += matches
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _usable(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in FRAME_SUFFIXES + VIDEO_SUFFIXES


def load_photos(paths: Sequence[Path], long_side: int, max_pixels: int | None) -> list[torch.Tensor]:
    """Each photo (a clip: up to MAX_FRAMES_PER_CLIP evenly spaced frames) as uint8 (3, H, W), its long
    side at most ``long_side``."""
    photos = []
    for path in paths:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            clip = open_clip(path)
            keep = set(np.linspace(0, clip.frames - 1, min(clip.frames, MAX_FRAMES_PER_CLIP)).round().astype(int))
            frames = (frame for index, frame in enumerate(clip.read()) if index in keep)
        else:
            frames = iter([open_image(path, "training photo", max_pixels)[0]])
        for frame in frames:
            if max(frame.size) > long_side:
                height, width = fit_long_side(frame.width, frame.height, long_side)
                frame = frame.resize((width, height), resample=3, reducing_gap=2.0)  # bicubic
            photos.append(torch.from_numpy(np.asarray(frame, dtype=np.uint8).copy()).permute(2, 0, 1))
    return photos


class RandomCrops:
    """Batches of random square crops of ``photos`` (uint8 (3, H, W)), in 0..1, drawn from ``generator``."""

    def __init__(self, photos: Sequence[torch.Tensor], crop: int, generator: torch.Generator):
        if not photos:
            raise ImageInputError("no training photos")
        self.photos, self.crop, self.generator = list(photos), crop, generator

    def _uniform(self, low: float, high: float) -> float:
        return low + (high - low) * torch.rand((), generator=self.generator).item()

    def _integer(self, high: int) -> int:
        return int(torch.randint(high, (), generator=self.generator))

    def one(self) -> torch.Tensor:
        photo = self.photos[self._integer(len(self.photos))].float().div_(255.0)
        _, height, width = photo.shape
        long_side = self._uniform(*SCALE_RANGE) * self.crop
        # Never smaller than the crop on the short side (upscaling a small photo is allowed).
        scale = max(long_side / max(height, width), self.crop / min(height, width))
        size = (max(self.crop, round(height * scale)), max(self.crop, round(width * scale)))
        resized = F.interpolate(photo[None], size=size, mode="bilinear", antialias=scale < 1, align_corners=False)
        top, left = self._integer(size[0] - self.crop + 1), self._integer(size[1] - self.crop + 1)
        window = resized[:, :, top:top + self.crop, left:left + self.crop]
        if self._integer(2):
            window = window.flip(3)
        return window.clamp_(0.0, 1.0)

    def batch(self, size: int) -> torch.Tensor:
        return torch.cat([self.one() for _ in range(size)])
