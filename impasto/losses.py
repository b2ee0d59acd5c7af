"""Loss terms of Gatys-style transfer: content, Gram-matrix style, and total variation.

Two conventions are supported for each, because the seed recipes differ:

* D2L: content = mean squared difference; Gram = X X^T / (c h w); style = mean squared Gram difference;
  TV = 0.5 * (mean |dy| + mean |dx|).
* Gatys / Keras blog: content = sum of squares; Gram unnormalized; style = sum((G - A)^2) / (4 c^2 (h w)^2);
  TV = sum((dx^2 + dy^2)^beta).

and a third for impasto's own default, ``relative``: squared differences divided by the target's own squared
norm (content ||F - P||^2 / ||P||^2, style ||G - A||^2 / ||A||^2 per layer). Every layer and every painting
then starts near the same magnitude, so one pair of weights fits all styles; these are also the squares of
the distances that ``impasto.quality`` reports.

All functions take activations of shape (1, C, H, W).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

CONTENT_REDUCTIONS = ("mean", "sum", "relative")
STYLE_NORMALIZATIONS = ("d2l", "gatys", "relative")
TV_KINDS = ("d2l", "keras")


def content_loss(current: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    squared = (current - target).square()
    if reduction == "relative":
        return squared.sum() / target.square().sum().clamp_min(1e-12)
    return squared.mean() if reduction == "mean" else squared.sum()


def gram_matrix(features: torch.Tensor, normalization: str = "d2l") -> torch.Tensor:
    """Channel correlations of ``features`` (1, C, H, W); divided by C*H*W except for ``"gatys"``."""
    _, channels, height, width = features.shape
    flat = features.reshape(channels, height * width)
    gram = flat @ flat.T
    return gram if normalization == "gatys" else gram / (channels * height * width)


def style_loss(current: torch.Tensor, target_gram: torch.Tensor, normalization: str = "d2l") -> torch.Tensor:
    """Distance between the Gram matrix of ``current`` activations and a precomputed target Gram."""
    gram = gram_matrix(current, normalization)
    if normalization == "d2l":
        return (gram - target_gram).square().mean()
    if normalization == "relative":
        return (gram - target_gram).square().sum() / target_gram.square().sum().clamp_min(1e-12)
    _, channels, height, width = current.shape
    return (gram - target_gram).square().sum() / (4.0 * channels**2 * (height * width) ** 2)


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


@dataclass
class LossTerms:
    """The three weighted parts of one evaluation, and their sum (the quantity being minimized)."""

    content: torch.Tensor
    style: torch.Tensor
    tv: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return self.content + self.style + self.tv


class StyleTransferLoss:
    """Targets fixed once per scale; called on the current image's features each step.

    ``content_layers``/``style_layers`` are (name, per-layer weight) pairs. ``style_grams`` maps a style
    layer to its target Gram matrix (already blended over several style images).
    """

    def __init__(
        self,
        content_targets: dict[str, torch.Tensor],
        style_grams: dict[str, torch.Tensor],
        content_layers: list[tuple[str, float]],
        style_layers: list[tuple[str, float]],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        content_reduction: str = "mean",
        style_normalization: str = "d2l",
        tv_kind: str = "d2l",
        tv_beta: float = 1.25,
    ):
        self.content_targets = content_targets
        self.style_grams = style_grams
        self.content_layers = content_layers
        self.style_layers = style_layers
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.content_reduction = content_reduction
        self.style_normalization = style_normalization
        self.tv_kind = tv_kind
        self.tv_beta = tv_beta

    def __call__(self, features: dict[str, torch.Tensor], tv_input: torch.Tensor) -> LossTerms:
        zero = tv_input.new_zeros(())
        content = sum(
            (
                weight * content_loss(features[name], self.content_targets[name], self.content_reduction)
                for name, weight in self.content_layers
            ),
            zero,
        )
        style = sum(
            (
                weight * style_loss(features[name], self.style_grams[name], self.style_normalization)
                for name, weight in self.style_layers
            ),
            zero,
        )
        tv = tv_loss(tv_input, self.tv_kind, self.tv_beta) if self.tv_weight else zero
        return LossTerms(self.content_weight * content, self.style_weight * style, self.tv_weight * tv)
