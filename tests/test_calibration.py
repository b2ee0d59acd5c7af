import math

import pytest
import torch

from impasto.net.calibration import CONTENT_LOG_FACTOR, STYLE_LOG_FACTOR, gap_is_known, torchvision_calibration
from impasto.net.features import VGGFeatures
from impasto.config.layers import conv_layer_names
from impasto.net.weights import CAFFE, TORCHVISION, VGGWeights


def test_factors_are_the_measured_activation_ratios_times_the_weights_gap(vgg19_weights):
    network = VGGFeatures(vgg19_weights, ["relu1_1", "relu2_1", "relu4_4"])
    rgb = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    calibration = torchvision_calibration(network, rgb, ["relu4_4"], ["relu1_1", "relu2_1"], "max")
    # By hand: the same pixels in Caffe's units (0..255 BGR minus the mean) and in torchvision's (mean/std RGB,
    # flipped to BGR), both through the Caffe network as if they were in its units.
    caffe_input = (rgb.flip(1) * 255 - torch.tensor(CAFFE.mean).view(1, 3, 1, 1))
    torchvision_input = ((rgb - torch.tensor(TORCHVISION.mean).view(1, 3, 1, 1))
                         / torch.tensor(TORCHVISION.std).view(1, 3, 1, 1)).flip(1)
    assert calibration["input_ratio"] == pytest.approx(
        (caffe_input.square().mean() / torchvision_input.square().mean()).sqrt().item(), rel=1e-5)
    own = network(rgb, ["relu1_1", "relu2_1", "relu4_4"], "max")
    foreign = network(CAFFE.postprocess(torchvision_input), ["relu1_1", "relu2_1", "relu4_4"], "max")
    for name in ("relu1_1", "relu2_1", "relu4_4"):
        ratio = (own[name].square().mean() / foreign[name].square().mean()).sqrt().item()
        assert calibration["ratios"][name] == pytest.approx(ratio, rel=1e-4)
    assert calibration["content"]["relu4_4"] == pytest.approx(
        calibration["ratios"]["relu4_4"] ** -2 * math.exp(CONTENT_LOG_FACTOR))
    assert calibration["style"]["relu1_1"] == pytest.approx(
        calibration["ratios"]["relu1_1"] ** -4 * math.exp(STYLE_LOG_FACTOR))
    assert calibration["tv"] == pytest.approx(1 / calibration["input_ratio"])
    assert calibration["network_gap"]["style"] == pytest.approx(math.exp(STYLE_LOG_FACTOR))


def test_the_weights_gap_belongs_to_the_caffe_vgg19_only(vgg19_weights):
    assert gap_is_known(VGGFeatures(vgg19_weights, ["relu1_1"]))
    torchvision_like = VGGWeights("vgg19", vgg19_weights.convs, TORCHVISION, source="test")
    assert not gap_is_known(VGGFeatures(torchvision_like, ["relu1_1"]))
    vgg16 = VGGWeights("vgg16", {name: vgg19_weights.convs[name] for name in conv_layer_names("vgg16")}, CAFFE,
                       source="test")
    assert not gap_is_known(VGGFeatures(vgg16, ["relu1_1"]))
    # Weights that take torchvision's input need nothing carried at all.
    assert torchvision_calibration(VGGFeatures(torchvision_like, ["relu1_1"]), torch.rand(1, 3, 32, 32),
                                   [], ["relu1_1"], "max") is None
