"""Loss terms of Gatys-style transfer: content, style, total variation, temporal.

Each term reads named activations (or the network's preprocessed input, ``INPUT_LAYER``) and returns a
weighted scalar; ``impasto.loss.objective`` names and sums them. A style term compares a statistic of
``impasto.loss.statistics``. The content and TV conventions follow the seed recipes:

* D2L: content = mean squared difference; TV = 0.5 * (mean |dy| + mean |dx|).
* Gatys / Keras blog: content = sum of squares; TV = sum((dx^2 + dy^2)^beta).
* ``relative`` (impasto's default): content ||F - P||^2 / ||P||^2.

All functions take activations of shape (1, C, H, W).
"""
from __future__ import annotations

from typing import Mapping, Protocol, Sequence

import torch
from torch import nn

from ..config.layers import INPUT_LAYER
from .statistics import StyleStatistic, Target

def content_loss(current: torch.Tensor, target: torch.Tensor, reduction: str = "mean",
                 pixel_weights: torch.Tensor | None = None) -> torch.Tensor:
    """The squared difference reduced as named; ``pixel_weights`` (1, 1, H, W) weights each position (a
    protected face counts more), the reductions' denominators unchanged."""
    squared = (current - target).square()
    if pixel_weights is not None:
        squared = squared * pixel_weights
    if reduction == "relative":
        return squared.sum() / target.square().sum().clamp_min(1e-12)
    return squared.mean() if reduction == "mean" else squared.sum()


def tv_loss(image: torch.Tensor, kind: str = "d2l", beta: float = 1.25) -> torch.Tensor:
    """Total variation: D2L's mean absolute difference, or the Keras blog's sum((dx^2 + dy^2)^beta)."""
    if kind == "d2l":
        dy = (image[:, :, 1:, :] - image[:, :, :-1, :]).abs().mean()
        dx = (image[:, :, :, 1:] - image[:, :, :, :-1]).abs().mean()
        return 0.5 * (dy + dx)
    corner = image[:, :, :-1, :-1]
    dy = image[:, :, 1:, :-1] - corner
    dx = image[:, :, :-1, 1:] - corner
    # A tiny epsilon keeps the gradient of x^beta finite where the image is locally flat.
    return (dx.square() + dy.square() + 1e-8).pow(beta).sum()


class _UnitGradient(torch.autograd.Function):
    """The identity going forward; going back, the gradient scaled to L1 norm ``strength``."""

    @staticmethod
    def forward(ctx, activation: torch.Tensor, strength: float) -> torch.Tensor:
        ctx.strength = strength
        return activation.view_as(activation)

    @staticmethod
    def backward(ctx, gradient: torch.Tensor) -> tuple[torch.Tensor, None]:
        return gradient * (ctx.strength / (gradient.abs().sum() + 1e-8)), None


def normalized_gradient(activation: torch.Tensor, strength: float) -> torch.Tensor:
    """``activation`` unchanged, except that the gradient a loss sends back through it is rescaled to L1 norm
    ``strength``: jcjohnson/neural-style's ``-normalize_gradients``, where every content and style layer
    pushes the image with the force of its weight, however large or small its loss (the loss values
    themselves are unchanged; their gradient is no longer the true one)."""
    return _UnitGradient.apply(activation, abs(strength))


# -- loss terms ---------------------------------------------------------------------------------------------

Features = Mapping[str, torch.Tensor]
WeightedLayers = Sequence[tuple[str, float]]


class LossTerm(Protocol):
    """One weighted term of the objective: reads the activations of ``layers`` and returns a scalar. The
    built-in terms are ``nn.Module``s that hold their targets as buffers, so ``term.to(device)`` moves one
    whole; a caller's own term may be any callable with ``layers``."""

    layers: tuple[str, ...]

    def __call__(self, features: Features) -> torch.Tensor: ...


class ContentLoss(nn.Module):
    """``weight`` times the per-layer-weighted distance of activations to the content image's.

    ``pixel_weights`` (one map per layer, at its resolution) weight each position's difference. With
    ``normalize_gradients`` each layer's gradient is rescaled to its weight (``normalized_gradient``).
    """

    def __init__(self, targets: Mapping[str, torch.Tensor], layers: WeightedLayers, weight: float,
                 reduction: str = "mean", pixel_weights: Mapping[str, torch.Tensor] | None = None,
                 normalize_gradients: bool = False):
        super().__init__()
        self.weighted_layers, self.weight, self.reduction = list(layers), weight, reduction
        self.normalize_gradients = normalize_gradients
        self.layers = tuple(name for name, _ in self.weighted_layers)
        self._weighted = tuple(name for name in self.layers if name in (pixel_weights or {}))
        for name in self.layers:
            self.register_buffer(f"target_{name}", targets[name])
        for name in self._weighted:
            self.register_buffer(f"weights_{name}", pixel_weights[name])

    @property
    def targets(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, f"target_{name}") for name in self.layers}

    def forward(self, features: Features) -> torch.Tensor:
        features = _activations_as_read(features, self.weighted_layers, self.weight, self.normalize_gradients)
        return self.weight * sum(
            layer_weight * content_loss(features[name], getattr(self, f"target_{name}"), self.reduction,
                                        getattr(self, f"weights_{name}") if name in self._weighted else None)
            for name, layer_weight in self.weighted_layers)


class StyleLoss(nn.Module):
    """``weight`` times the per-layer-weighted distance of a statistic to its prepared style targets.

    With ``masks`` (a mask per layer, at that layer's resolution) only the masked region is compared: one
    such term per region paints each region in its own style. ``normalize_gradients`` as in ``ContentLoss``.
    """

    def __init__(self, statistic: StyleStatistic, targets: Mapping[str, Target], layers: WeightedLayers,
                 weight: float, masks: Mapping[str, torch.Tensor] | None = None, normalize_gradients: bool = False):
        super().__init__()
        self.statistic, self.weighted_layers, self.weight = statistic, list(layers), weight
        self.normalize_gradients = normalize_gradients
        self.layers = tuple(name for name, _ in self.weighted_layers)
        self._parts = {name: len(targets[name]) for name in self.layers}
        for name in self.layers:
            for index, part in enumerate(targets[name]):
                self.register_buffer(f"target_{name}_{index}", part)
        self._masked = tuple(name for name in self.layers if name in (masks or {}))
        for name in self._masked:
            self.register_buffer(f"mask_{name}", masks[name])

    @property
    def targets(self) -> dict[str, Target]:
        return {name: self._target(name) for name in self.layers}

    @property
    def masks(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, f"mask_{name}") for name in self._masked}

    def _target(self, name: str) -> Target:
        return tuple(getattr(self, f"target_{name}_{index}") for index in range(self._parts[name]))

    def forward(self, features: Features) -> torch.Tensor:
        features = _activations_as_read(features, self.weighted_layers, self.weight, self.normalize_gradients)
        return self.weight * sum(
            layer_weight * self.statistic.distance(features[name], self._target(name),
                                                   getattr(self, f"mask_{name}") if name in self._masked else None)
            for name, layer_weight in self.weighted_layers)


def _activations_as_read(features: Features, layers: WeightedLayers, weight: float, normalize: bool) -> Features:
    """The activations a term reads: as they are, or each through ``normalized_gradient`` at its weight."""
    if not normalize:
        return features
    return {**features, **{name: normalized_gradient(features[name], weight * layer_weight)
                           for name, layer_weight in layers}}


class TotalVariationLoss(nn.Module):
    """``weight`` times the total variation of the image the network sees (its preprocessed input)."""

    layers = (INPUT_LAYER,)

    def __init__(self, weight: float, kind: str = "d2l", beta: float = 1.25):
        super().__init__()
        self.weight, self.kind, self.beta = weight, kind, beta

    def forward(self, features: Features) -> torch.Tensor:
        return self.weight * tv_loss(features[INPUT_LAYER], self.kind, self.beta)


class TemporalLoss(nn.Module):
    """``weight`` times the mean over pixels and channels of mask * (image - target)^2, in 0..1 RGB units
    (Ruder et al. 2016, eq. 5: the stylised frame held to the previous one warped along the flow, where
    ``mask`` says the flow is reliable). It reads the network's preprocessed input, so its target is kept
    in those units and the difference is brought back to RGB units channel by channel.
    """

    layers = (INPUT_LAYER,)

    def __init__(self, target_rgb: torch.Tensor, mask: torch.Tensor, weight: float, normalization):
        super().__init__()
        target = normalization.preprocess(target_rgb).detach()
        units = torch.tensor(normalization.std, dtype=target.dtype) / normalization.scale
        self.register_buffer("target", target)
        # One RGB unit per input unit, per channel.
        self.register_buffer("units", units.view(1, 3, 1, 1).to(target.device))
        self.register_buffer("mask", mask.to(target.device, target.dtype))
        self.weight = weight

    def forward(self, features: Features) -> torch.Tensor:
        difference = (features[INPUT_LAYER] - self.target) * self.units
        return self.weight * (self.mask * difference.square()).mean()


def total_loss(terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The quantity minimized: the sum of the named terms."""
    return sum(terms.values())
