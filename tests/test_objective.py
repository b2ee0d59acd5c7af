import pytest
import torch

from impasto.errors import OptionError
from impasto.net.features import VGGFeatures
from impasto.loss.terms import ContentLoss, TotalVariationLoss
from impasto.loss.objective import NamedTerm, Objective


class CountingNetwork(VGGFeatures):
    def __init__(self, weights):
        super().__init__(weights, ["relu1_1", "relu2_1", "input"])
        self.shapes = []

    def forward(self, rgb, layers=None, pooling=None, compute_dtype=None):
        self.shapes.append((tuple(rgb.shape[-2:]), tuple(sorted(layers))))
        return super().forward(rgb, layers, pooling, compute_dtype)


def test_one_pass_per_view_and_terms_of_one_name_add_up(vgg19_weights):
    network = CountingNetwork(vgg19_weights)
    image = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        full = network(image, ["relu1_1", "relu2_1"])
        half = network(torch.nn.functional.avg_pool2d(image, 2), ["relu2_1"])
    network.shapes.clear()
    near = ContentLoss({"relu1_1": full["relu1_1"] * 0.5}, [("relu1_1", 1.0)], weight=2.0)
    deep = ContentLoss({"relu2_1": full["relu2_1"] * 0}, [("relu2_1", 1.0)], weight=1.0)
    small = ContentLoss({"relu2_1": half["relu2_1"] * 0}, [("relu2_1", 1.0)], weight=1.0)
    objective = Objective(network, [NamedTerm("content", near), NamedTerm("deep", deep),
                                    NamedTerm("deep", small, downsample=2), NamedTerm("tv", TotalVariationLoss(0.1))])
    values = objective(image)
    assert list(values) == ["content", "deep", "tv"] and objective.names == ("content", "deep", "tv")
    # Two network passes: the image with every layer its terms need, and the half-size view.
    assert network.shapes == [((16, 24), ("input", "relu1_1", "relu2_1")), ((8, 12), ("relu2_1",))]
    with torch.no_grad():
        assert torch.allclose(values["deep"], deep(full) + small(half))
        assert torch.allclose(values["content"], near(full))


def test_an_objective_needs_a_term(vgg19_weights):
    with pytest.raises(OptionError, match="nothing to optimize"):
        Objective(VGGFeatures(vgg19_weights, ["relu1_1"]), [])
