"""A yardstick for results, the same for every tool: how close to the style, how close to the content.

* style distance at a given size: the result and the style image(s) are both scaled to that long side, and
  for each of relu1_1..relu5_1 the relative Frobenius distance ||G(result) - G(style)|| / ||G(style)|| of
  (c h w)-normalized Gram matrices is taken; the score is their mean. A small size (256) sees large strokes
  that 512 px features miss, so two sizes are reported.
* content distance: ||F(result) - F(content)|| / ||F(content)|| at relu4_2, at the result's size. It
  separates "photo" from "painting" but saturates near 1.2 for any strongly stylised image, so:
* structure distance: 1 - the correlation between the luminance edge maps (Sobel gradient magnitude, pooled
  over 4x4 blocks so brush texture counts less than outlines) of the result and of the content, both at
  256 px long side. 0: the same outlines; 1: unrelated. It still ranks paintings that relu4_2 calls equal.

Both are relative, so 0 is a perfect match, and lower is better. The bundled VGG-19 is the judge.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from ..net.features import VGGFeatures
from ..imaging.images import ImageLike, fit_long_side, image_to_tensor, load_image
from ..loss.statistics import GramStatistic, Target, blend_targets
from ..net.weights import VGGWeights, load_weights

SCORE_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
SCORE_CONTENT_LAYER = "relu4_2"
STRUCTURE_SIZE = 256
# (c h w)-normalized Grams compared relatively: the distance is the square of the relative style loss.
SCORE_STATISTIC = GramStatistic("relative")


class QualityJudge:
    """Scores images against one content image and its style image(s)."""

    def __init__(self, content: ImageLike, styles: Sequence[ImageLike], blend: Optional[Sequence[float]] = None,
                 weights: Optional[VGGWeights] = None, network: Optional[VGGFeatures] = None):
        if network is None:
            network = VGGFeatures(weights or load_weights(), SCORE_STYLE_LAYERS + (SCORE_CONTENT_LAYER,))
        self.network = network
        self.content = load_image(content, "content image")
        self.styles = [load_image(style, "style image") for style in styles]
        blend = list(blend or [1.0] * len(self.styles))
        self.blend = [w / sum(blend) for w in blend]
        self._targets: dict[int, dict[str, Target]] = {}

    @torch.no_grad()
    def _features(self, image, long_side: int) -> dict[str, torch.Tensor]:
        shape = fit_long_side(image.width, image.height, long_side)
        return self.network(image_to_tensor(image, shape), SCORE_STYLE_LAYERS, "max")

    @torch.no_grad()
    def _style_targets(self, long_side: int) -> dict[str, Target]:
        """Blended style targets at one size, computed once per size however many results are scored."""
        if long_side not in self._targets:
            per_style = [self._features(style, long_side) for style in self.styles]
            self._targets[long_side] = {
                layer: SCORE_STATISTIC.prepare(blend_targets([SCORE_STATISTIC.target(f[layer]) for f in per_style],
                                                             self.blend))
                for layer in SCORE_STYLE_LAYERS
            }
        return self._targets[long_side]

    @torch.no_grad()
    def style_distance(self, result: ImageLike, long_side: int) -> float:
        result_features = self._features(load_image(result), long_side)
        distances = [SCORE_STATISTIC.distance(result_features[layer], target).sqrt().item()
                     for layer, target in self._style_targets(long_side).items()]
        return sum(distances) / len(distances)

    @torch.no_grad()
    def content_distance(self, result: ImageLike) -> float:
        image = load_image(result)
        shape = (image.height, image.width)
        layers = (SCORE_CONTENT_LAYER,)
        result_features = self.network(image_to_tensor(image), layers, "max")[SCORE_CONTENT_LAYER]
        content_features = self.network(image_to_tensor(self.content, shape), layers, "max")[SCORE_CONTENT_LAYER]
        return ((result_features - content_features).norm() / content_features.norm()).item()

    @torch.no_grad()
    def structure_distance(self, result: ImageLike, long_side: int = STRUCTURE_SIZE) -> float:
        image = load_image(result)
        shape = fit_long_side(image.width, image.height, long_side)
        result_edges = edge_map(image_to_tensor(image, shape)).flatten()
        content_edges = edge_map(image_to_tensor(self.content, shape)).flatten()
        return 1.0 - torch.corrcoef(torch.stack([result_edges, content_edges]))[0, 1].item()

    def score(self, result: ImageLike, sizes: Sequence[int] = (256, 512)) -> dict[str, float]:
        scores = {f"style_{size}": self.style_distance(result, size) for size in sizes}
        scores["content"] = self.content_distance(result)
        scores["structure"] = self.structure_distance(result)
        return scores

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def edge_map(rgb: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of the luminance of ``rgb`` (1, 3, H, W), averaged over 4x4 blocks."""
    luma = (rgb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    kernels = torch.stack([_SOBEL_X, _SOBEL_X.T]).unsqueeze(1)
    gradients = F.conv2d(F.pad(luma, (1, 1, 1, 1), mode="replicate"), kernels)
    return F.avg_pool2d(gradients.square().sum(dim=1, keepdim=True).sqrt(), 4)
