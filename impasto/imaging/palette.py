"""Colour statistics of images and moving one image's palette onto another's.

A painting whose colours are far from the photo's (a pop-art candy palette over a grey street) is hard to
reach by gradient steps from the photo: the optimiser spends its few iterations recolouring. Starting from
the photo recoloured so that its pixel mean and covariance equal the painting's (the linear colour transfer
of Gatys et al., "Preserving color in neural artistic style transfer", 2016, and of Hertzmann's image
analogies) puts every pixel in the painting's palette before the first step, and keeps the photo's
light-and-dark structure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch



@dataclass(frozen=True)
class ColorStatistics:
    """Mean (3,) and covariance (3, 3) of an image's RGB pixels in 0..1."""

    mean: torch.Tensor
    covariance: torch.Tensor


def color_statistics(rgb: torch.Tensor) -> ColorStatistics:
    """Statistics of an image tensor (1, 3, H, W) in 0..1."""
    pixels = rgb.reshape(3, -1).double()
    mean = pixels.mean(dim=1)
    centered = pixels - mean[:, None]
    return ColorStatistics(mean, centered @ centered.T / pixels.shape[1])


def blend_color_statistics(stats: Sequence[ColorStatistics], weights: Sequence[float]) -> ColorStatistics:
    """Statistics of the mixture of several images' pixels, image i drawn with probability ``weights[i]``.

    Means and second raw moments mix linearly (covariances do not): the same blend as the style targets.
    """
    mean = sum(weight * s.mean for s, weight in zip(stats, weights))
    second_moment = sum(weight * (s.covariance + torch.outer(s.mean, s.mean)) for s, weight in zip(stats, weights))
    return ColorStatistics(mean, second_moment - torch.outer(mean, mean))


def _matrix_power(symmetric: torch.Tensor, power: float) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(symmetric)
    # Flat images (a constant channel) have zero variance along some axis; a floor keeps the inverse finite.
    values = values.clamp_min(1e-5)
    return vectors @ torch.diag(values**power) @ vectors.T


def match_colors(rgb: torch.Tensor, target: ColorStatistics) -> torch.Tensor:
    """``rgb`` (1, 3, H, W) linearly recoloured so its pixel mean and covariance become ``target``'s.

    The map is x -> T (x - mu) + mu_t with T = C_t^(1/2) C^(-1/2) (symmetric square roots), the linear map
    that moves the pixels least while matching both moments. The result is clipped to 0..1.
    """
    source = color_statistics(rgb)
    transform = _matrix_power(target.covariance, 0.5) @ _matrix_power(source.covariance, -0.5)
    pixels = rgb.reshape(3, -1).double()
    matched = transform @ (pixels - source.mean[:, None]) + target.mean[:, None]
    return matched.reshape(rgb.shape).to(rgb.dtype).clamp(0.0, 1.0)


# -- keeping the photo's colours ----------------------------------------------------------------------------

# NTSC YIQ, the space of Gatys et al. (2016): Y is luminance, I and Q the chroma that is put back.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ.double())


def rgb_to_yiq(rgb: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) RGB -> YIQ (Y in 0..1, I and Q signed)."""
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YIQ.to(rgb), rgb)


def yiq_to_rgb(yiq: torch.Tensor) -> torch.Tensor:
    """Inverse of ``rgb_to_yiq`` (no clipping)."""
    return torch.einsum("ij,bjhw->bihw", _YIQ_TO_RGB.to(yiq), yiq)


def luminance_image(rgb: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
    """The luminance of ``rgb`` as a grey RGB image; with ``reference``, its luminance mean and standard
    deviation are matched to the reference's (Gatys et al.'s luminance histogram matching of the style)."""
    luma = rgb_to_yiq(rgb)[:, :1]
    if reference is not None:
        target = rgb_to_yiq(reference)[:, :1]
        luma = (luma - luma.mean()) / luma.std().clamp_min(1e-6) * target.std() + target.mean()
    return luma.clamp(0.0, 1.0).expand(-1, 3, -1, -1).contiguous()


def with_chroma(painted: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """The luminance of ``painted`` with the chroma (I, Q) of ``colours`` (same shape), clipped to 0..1."""
    yiq = torch.cat([rgb_to_yiq(painted)[:, :1], rgb_to_yiq(colours)[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0.0, 1.0)
