"""Style statistics: what a style loss compares between the image and the paintings.

Gram matrices (Gatys et al.) or channel mean and covariance (a Wasserstein-2 distance between Gaussians),
each with a normalization of the seed recipes (``STYLE_NORMALIZATIONS``):

* ``d2l``: Gram = X X^T / (c h w), mean squared Gram difference;
* ``gatys`` (and the Keras blog): unnormalized Gram, sum((G - A)^2) / (4 c^2 (h w)^2);
* ``relative`` (impasto's default): ||G - A||^2 / ||A||^2 per layer, so every layer and every painting starts
  near the same magnitude; the square of the distance that ``impasto.reports.quality`` reports.

A statistic's targets blend linearly (``blend_targets``), which is how several paintings mix into one style.
All functions take activations of shape (1, C, H, W).
"""
from __future__ import annotations

from typing import Protocol, Sequence

import torch

from ..config.choices import STYLE_NORMALIZATIONS, STYLE_STATISTICS

def _pixel_weights(features: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor]:
    """A mask (1, 1, H, W) as per-pixel weights (H*W,), and the number of pixels it counts."""
    _, _, height, width = features.shape
    if mask is None:
        return None, torch.tensor(float(height * width))
    weights = mask.reshape(height * width).to(features.dtype)
    return weights, weights.sum().clamp_min(1e-6)


def gram_matrix(features: torch.Tensor, normalization: str = "d2l", mask: torch.Tensor | None = None) -> torch.Tensor:
    """Channel correlations of ``features`` (1, C, H, W); divided by C*H*W except for ``"gatys"``.

    A ``mask`` (1, 1, H, W) in 0..1 weights each pixel (a guided Gram matrix, Gatys et al. 2017): the
    statistics of the masked region only, H*W replaced by the mask's sum.
    """
    _, channels, height, width = features.shape
    flat = features.reshape(channels, height * width)
    weights, count = _pixel_weights(features, mask)
    gram = flat @ flat.T if weights is None else (flat * weights) @ flat.T
    return gram if normalization == "gatys" else gram / (channels * count)


def style_loss(current: torch.Tensor, target_gram: torch.Tensor, normalization: str = "d2l",
               mask: torch.Tensor | None = None) -> torch.Tensor:
    """Distance between the Gram matrix of ``current`` activations (in ``mask``) and a target Gram."""
    gram = gram_matrix(current, normalization, mask)
    if normalization == "d2l":
        return (gram - target_gram).square().mean()
    if normalization == "relative":
        return (gram - target_gram).square().sum() / target_gram.square().sum().clamp_min(1e-12)
    channels = current.shape[1]
    return (gram - target_gram).square().sum() / (4.0 * channels**2 * _pixel_weights(current, mask)[1] ** 2)


# -- style statistics ---------------------------------------------------------------------------------------

# A style target: a tuple of tensors that blends linearly (see ``blend_targets``).
Target = tuple[torch.Tensor, ...]


class StyleStatistic(Protocol):
    """What a style loss compares: a statistic of one layer's activations.

    ``target`` summarizes a style image's activations as a tuple of tensors chosen so that a weighted sum of
    several images' targets is the target of their mixture; a ``mask`` (1, 1, H, W) in 0..1 restricts both
    ``target`` and ``distance`` to a region, weighting each pixel; ``prepare`` turns a (blended) target into what
    ``distance`` needs, once, so that the per-step ``distance`` does no work the target alone determines.
    """

    name: str

    def target(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> Target: ...

    def prepare(self, target: Target) -> Target: ...

    def distance(self, features: torch.Tensor, prepared: Target, mask: torch.Tensor | None = None) -> torch.Tensor:
        ...


def blend_targets(targets: Sequence[Target], weights: Sequence[float]) -> Target:
    """The target of several style images mixed with ``weights`` (already normalized to sum 1)."""
    return tuple(sum(weight * target[i] for target, weight in zip(targets, weights)) for i in range(len(targets[0])))


class _NormalizedStatistic:
    """A statistic built with one of ``STYLE_NORMALIZATIONS``."""

    def __init__(self, normalization: str):
        if normalization not in STYLE_NORMALIZATIONS:
            raise ValueError(f"unknown normalization {normalization!r} for the {type(self).__name__}")
        self.normalization = normalization


class GramStatistic(_NormalizedStatistic):
    """Gram matrices (channel correlations), with one of ``STYLE_NORMALIZATIONS``; Gatys et al.'s statistic.

    With the unnormalized ``gatys`` Gram the target is kept per position (the style image's Gram over its
    pixel count) and scaled to the current image's pixel count when compared: a sum over positions grows with
    the image, so a painting's own size or aspect ratio (or ``style_size``) would otherwise change the style's
    strength, and a texture would not match itself tiled twice as wide.
    """

    name = "gram"

    def __init__(self, normalization: str = "d2l"):
        super().__init__(normalization)

    def target(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> Target:
        gram = gram_matrix(features, self.normalization, mask)
        return (gram / _pixel_weights(features, mask)[1],) if self.normalization == "gatys" else (gram,)

    def prepare(self, target: Target) -> Target:
        return target

    def distance(self, features: torch.Tensor, prepared: Target, mask: torch.Tensor | None = None) -> torch.Tensor:
        target = prepared[0]
        if self.normalization == "gatys":
            target = target * _pixel_weights(features, mask)[1]
        return style_loss(features, target, self.normalization, mask)


class MeanCovarianceStatistic(_NormalizedStatistic):
    """The activations as a Gaussian (channel mean and covariance), compared by the squared Wasserstein-2
    distance between Gaussians, the style loss of crowsonkb/style-transfer-pytorch:

        W2^2 = ||m - m_t||^2 + tr(C) + tr(C_t) - 2 tr((C_t^1/2 C C_t^1/2)^1/2)

    The target is (mean, second raw moment E[x x^T]): raw moments blend linearly, covariances do not.
    ``relative`` divides by the target's E||x||^2 (so 0 is a match and 1 the distance to a black image, like
    the relative Gram distance); the other normalizations divide by the channel count.
    """

    name = "meancov"

    def __init__(self, normalization: str = "relative"):
        super().__init__(normalization)

    def target(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> Target:
        _, channels, height, width = features.shape
        flat = features.reshape(channels, height * width)
        weights, count = _pixel_weights(features, mask)
        weighted = flat if weights is None else flat * weights
        return weighted.sum(dim=1) / count, weighted @ flat.T / count

    def prepare(self, target: Target) -> Target:
        mean, second_moment = target
        covariance = second_moment - torch.outer(mean, mean)
        values, vectors = torch.linalg.eigh(covariance)
        root = vectors @ torch.diag(values.clamp_min(0.0).sqrt()) @ vectors.T
        scale = second_moment.trace() if self.normalization == "relative" else torch.tensor(float(mean.numel()))
        return mean, covariance, root, scale.clamp_min(1e-12)

    def distance(self, features: torch.Tensor, prepared: Target, mask: torch.Tensor | None = None) -> torch.Tensor:
        target_mean, target_covariance, target_root, scale = prepared
        mean, second_moment = self.target(features, mask)
        covariance = second_moment - torch.outer(mean, mean)
        _, channels, height, width = features.shape
        if height * width < channels:
            # Few pixels (deep layers at coarse scales): C_t^1/2 C C_t^1/2 = Y Y^T / n has the nonzero
            # eigenvalues of the smaller Y^T Y / n, with Y the target-whitened centred pixels.
            weights, count = _pixel_weights(features, mask)
            centred = features.reshape(channels, height * width) - mean[:, None]
            whitened = target_root @ (centred if weights is None else centred * weights.sqrt())
            cross = whitened.T @ whitened / count
        else:
            cross = target_root @ covariance @ target_root
        eigenvalues = torch.linalg.eigvalsh(0.5 * (cross + cross.T))
        # sqrt has an infinite slope at 0: directions with (almost) no variance are left out of the gradient.
        floor = 1e-6 * eigenvalues.detach().abs().max().clamp_min(1e-12)
        trace_root = torch.where(eigenvalues > floor, eigenvalues.clamp_min(floor).sqrt(), 0.0).sum()
        squared = ((mean - target_mean).square().sum() + covariance.trace() + target_covariance.trace()
                   - 2.0 * trace_root)
        return squared.clamp_min(0.0) / scale


def style_statistic(kind: str, normalization: str) -> StyleStatistic:
    """The statistic named ``kind`` (one of ``STYLE_STATISTICS``) with a normalization."""
    if kind == "gram":
        return GramStatistic(normalization)
    if kind == "meancov":
        return MeanCovarianceStatistic(normalization)
    raise ValueError(f"unknown style statistic {kind!r}: choose one of {', '.join(STYLE_STATISTICS)}")
