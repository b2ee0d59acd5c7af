"""The quantity one scale minimizes: named loss terms over one image, each activation computed once.

An ``Objective`` is an open set of named terms (``content``, ``style``, ``tv``, and whatever a later feature
adds: a masked style, a temporal term). Everything downstream (history, progress bar, plot, the Python API)
iterates over the names it returns, so a new term is one addition here, where it is built.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import torch
import torch.nn.functional as F

from ..errors import OptionError
from ..net.features import VGGFeatures
from .terms import ContentLoss, LossTerm


@dataclass(frozen=True)
class NamedTerm:
    """A loss term under a name; it sees the image average-pooled by ``downsample`` (1: as it is)."""

    name: str
    loss: LossTerm
    downsample: int = 1


class Objective:
    """Evaluates named terms on an RGB image: one network pass per view (full size, half size...).

    Terms that share a name add up (the style matched at several sizes is one ``style`` term).
    """

    def __init__(self, network: VGGFeatures, terms: Sequence[NamedTerm], pooling: Optional[str] = None,
                 compute_dtype: Optional[torch.dtype] = None):
        if not terms:
            raise OptionError("every loss weight is zero: there is nothing to optimize")
        self.network = network
        self.terms = list(terms)
        self.pooling = pooling
        self.compute_dtype = compute_dtype  # the network's convolutions (bfloat16 where fast); terms stay float
        self.names = tuple(dict.fromkeys(term.name for term in self.terms))
        self._views: dict[int, tuple[tuple[str, ...], list[NamedTerm]]] = {}
        for term in self.terms:
            layers, group = self._views.get(term.downsample, ((), []))
            self._views[term.downsample] = (tuple(dict.fromkeys(layers + tuple(term.loss.layers))), group + [term])

    def __call__(self, rgb: torch.Tensor) -> dict[str, torch.Tensor]:
        values: dict[str, torch.Tensor] = {}
        for factor, (layers, group) in self._views.items():
            view = rgb if factor == 1 else F.avg_pool2d(rgb, factor)
            features = self.network(view, layers, self.pooling, self.compute_dtype)
            for term in group:
                value = term.loss(features)
                values[term.name] = values[term.name] + value if term.name in values else value
        return {name: values[name] for name in self.names}


def scalars(terms: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The terms as plain numbers, for logs and callbacks."""
    return {name: value.item() for name, value in terms.items()}


class BatchObjective:
    """The still's terms over a batch of painted images, for training a feed-forward painter (``impasto
    train``): one network pass for the whole batch, then for each image the very terms a still computes
    (``ContentLoss`` against its own photo, the shared ``style`` term), averaged over the batch; the TV term
    is a mean already."""

    def __init__(self, network: VGGFeatures, style: Optional[LossTerm], content_layers: Sequence[tuple[str, float]],
                 content_weight: float, content_reduction: str, tv: Optional[LossTerm] = None,
                 pooling: Optional[str] = None, compute_dtype: Optional[torch.dtype] = None,
                 style_octaves: Sequence[LossTerm] = ()):
        """``style_octaves``: further style terms, the k-th (from 1) matched on the batch average-pooled by
        2**k and added to ``style``, as a still's ``style_octaves`` do."""
        self.network, self.style, self.tv, self.pooling = network, style, tv, pooling
        self.style_octaves = list(style_octaves) if style is not None else []
        self.compute_dtype = compute_dtype
        self.content_layers = [(name, weight) for name, weight in content_layers] if content_weight else []
        self.content_weight, self.content_reduction = content_weight, content_reduction
        self.content_names = [name for name, _ in self.content_layers]
        layers = self.content_names + list(style.layers if style else ()) + list(tv.layers if tv else ())
        self.layers = tuple(dict.fromkeys(layers))
        if not self.layers:
            raise OptionError("every loss weight is zero: there is nothing to train")

    def __call__(self, painted: torch.Tensor, photos: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.network(painted, self.layers, self.pooling, self.compute_dtype)
        values: dict[str, torch.Tensor] = {}
        count = painted.shape[0]
        if self.content_layers:
            with torch.no_grad():
                targets = self.network(photos, self.content_names, self.pooling, self.compute_dtype)
            values["content"] = sum(
                ContentLoss({name: targets[name][i:i + 1] for name in self.content_names}, self.content_layers,
                            self.content_weight, self.content_reduction)(_image(features, i))
                for i in range(count)) / count
        if self.style is not None:
            values["style"] = sum(self.style(_image(features, i)) for i in range(count)) / count
            for octave, term in enumerate(self.style_octaves, start=1):
                view = self.network(F.avg_pool2d(painted, 2**octave), term.layers, self.pooling, self.compute_dtype)
                values["style"] = values["style"] + sum(term(_image(view, i)) for i in range(count)) / count
        if self.tv is not None:
            values["tv"] = self.tv(features)
        return values


def _image(features: Mapping[str, torch.Tensor], index: int) -> dict[str, torch.Tensor]:
    """One image's activations out of a batch's, shaped (1, C, H, W) as the terms expect."""
    return {name: value[index:index + 1] for name, value in features.items()}
