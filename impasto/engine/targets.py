"""The network's view of a run's fixed images: activations of the photo and style targets of the paintings,
each computed once.

Two caches with two lifetimes. ``kept`` activations live within one run: a request made early (the style
balance at the output size) leaves its activations for the scale that needs them again, which takes them.
The ``style cache`` may outlive the run: an ``OrderedDict`` kept by a caller (``impasto batch``: one
painting for many photos) maps a painting's pixel digest, size, layers and statistic to its targets, the
least recently used dropped past ``STYLE_CACHE_ENTRIES``.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Optional

import torch
from PIL import Image

from ..imaging.images import image_to_tensor
from ..loss.statistics import StyleStatistic, Target
from ..net.features import VGGFeatures
from .device import Placement
from .tiles import Box

# A style cache's bound: each entry is one painting's targets at one size (about 2.5 MB for the default's
# Gram matrices), and a run uses about 8 (4 scales, 2 octaves).
STYLE_CACHE_ENTRIES = 256

StyleCache = OrderedDict[tuple, dict[str, Target]]


class TargetCache:
    """Activations and style targets of fixed images through ``network``, resized with ``resample`` and
    pooled with ``pooling``; ``style_cache`` None keeps no style targets beyond the request."""

    def __init__(self, network: VGGFeatures, placement: Placement, resample: str, pooling: str,
                 style_cache: Optional[StyleCache] = None):
        self.network, self.placement, self.resample, self.pooling = network, placement, resample, pooling
        self.style_cache = style_cache
        self.kept: dict[tuple, dict[str, torch.Tensor]] = {}
        self._fingerprints: dict[int, str] = {}

    @torch.no_grad()
    def features(self, image: Image.Image, shape: tuple[int, int], names: list[str], keep: bool = False,
                 box: Optional[Box] = None) -> dict[str, torch.Tensor]:
        """The network's activations of ``image`` resized to ``shape`` (only its ``box`` when given); with
        ``keep``, held until the next request for the same image, shape and layers takes them (a target
        computed early is not computed twice)."""
        if box is not None and (box.height, box.width) != tuple(shape):
            rgb = image_to_tensor(image, shape, box.rect, self.resample)
            return self._through_network(rgb, names)
        key = (id(image), tuple(shape), tuple(names))
        if key in self.kept:
            return self.kept.pop(key)
        rgb = image_to_tensor(image, shape, resample=self.resample)
        features = self._through_network(rgb, names)
        if keep:
            self.kept[key] = features
        return features

    def _through_network(self, rgb: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        # In the run's compute precision: the targets pass through the same arithmetic as the painted image.
        return self.network(self.placement.put(rgb), names, self.pooling, self.placement.compute_dtype)

    @torch.no_grad()
    def style_targets(self, image: Image.Image, size: tuple[int, int], names: list[str],
                      statistic: StyleStatistic, keep: bool = False) -> dict[str, Target]:
        """One painting's ``statistic`` targets at ``size``, from the style cache when there is one.
        ``keep`` as in ``features``."""
        key = None
        if self.style_cache is not None:  # the pixel digest is only worth its time when there is a cache
            key = (self.fingerprint(image), tuple(size), tuple(names), self.pooling, statistic.name,
                   statistic.normalization, str(self.placement.device), self.placement.compute_dtype)
        if key is not None and key in self.style_cache:
            self.style_cache.move_to_end(key)
            self.kept.pop((id(image), tuple(size), tuple(names)), None)
            return self.style_cache[key]
        features = self.features(image, size, names, keep=keep)
        targets = {name: statistic.target(features[name]) for name in names}
        if key is not None:
            self.style_cache[key] = targets
            while len(self.style_cache) > STYLE_CACHE_ENTRIES:
                self.style_cache.popitem(last=False)  # the least recently used
        return targets

    def fingerprint(self, image: Image.Image) -> str:
        """A digest of the pixels: two runs' paintings share cached targets only if they are the same image."""
        if id(image) not in self._fingerprints:
            digest = hashlib.blake2b(image.tobytes(), digest_size=16)
            digest.update(f"{image.mode}{image.size}".encode())
            self._fingerprints[id(image)] = digest.hexdigest()
        return self._fingerprints[id(image)]
