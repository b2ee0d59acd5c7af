import pytest
import torch

from impasto.errors import OptionError

from impasto.net.features import VGGFeatures
from impasto.config.layers import layer_names


def test_network_is_cut_after_the_deepest_layer(vgg19_weights):
    shallow = VGGFeatures(vgg19_weights, ["relu1_1"])
    assert list(shallow.convs) == ["conv1_1"]
    default = VGGFeatures(vgg19_weights, ["relu4_2", "relu1_1", "relu3_1"])
    assert default.names == layer_names("vgg19")[: layer_names("vgg19").index("relu4_2") + 1]
    assert len(default.convs) == 10 and len(VGGFeatures(vgg19_weights).convs) == 16


def test_a_whole_network_serves_any_layers_and_a_cut_one_refuses_deeper(vgg19_weights):
    image = torch.rand(1, 3, 32, 32)
    whole = VGGFeatures(vgg19_weights)
    assert set(whole(image, ["relu2_1", "relu1_1"])) == {"relu2_1", "relu1_1"}
    alone = VGGFeatures(vgg19_weights, ["relu3_1"])(image)["relu3_1"]
    assert torch.allclose(whole(image, ["relu3_1"])["relu3_1"], alone)
    # Pooling has no weights: a call may ask for average pooling from a max-pooling network.
    averaged = whole(image, ["relu2_1"], "avg")["relu2_1"]
    assert torch.allclose(averaged, VGGFeatures(vgg19_weights, ["relu2_1"], "avg")(image)["relu2_1"])
    assert not torch.allclose(averaged, whole(image, ["relu2_1"])["relu2_1"])
    with pytest.raises(OptionError, match="cut after relu2_1"):
        VGGFeatures(vgg19_weights, ["relu2_1"])(image, ["relu3_1"])


def test_one_pass_returns_each_requested_activation(vgg19_weights):
    network = VGGFeatures(vgg19_weights, ["conv1_1", "relu1_1", "pool2", "input"])
    features = network(torch.rand(1, 3, 32, 48))
    assert set(features) == {"conv1_1", "relu1_1", "pool2", "input"}
    assert features["pool2"].shape == (1, 128, 8, 12)
    # The conv output survives the ReLU after it (no in-place clobbering) and matches the ReLU's input.
    assert (features["conv1_1"] < 0).any()
    assert torch.equal(features["relu1_1"], features["conv1_1"].clamp(min=0))
    # "input" is the preprocessed image the first convolution saw.
    assert features["input"].shape == (1, 3, 32, 48) and features["input"].abs().max() > 50


def test_truncated_and_full_networks_agree(vgg19_weights):
    image = torch.rand(1, 3, 32, 32)
    short = VGGFeatures(vgg19_weights, ["relu2_1"])(image)["relu2_1"]
    long = VGGFeatures(vgg19_weights, ["relu2_1", "relu5_1"])(image)["relu2_1"]
    assert torch.allclose(short, long)


def test_gradient_reaches_the_image(vgg19_weights):
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    VGGFeatures(vgg19_weights, ["relu3_1"])(image)["relu3_1"].mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in VGGFeatures(vgg19_weights, ["relu1_1"]).parameters())


def test_bfloat16_convolutions_give_float32_activations_and_gradients_close_to_float32s(vgg19_weights):
    network = VGGFeatures(vgg19_weights, ["relu1_1", "relu3_1", "relu4_2", "input"])
    image = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0)).requires_grad_()
    exact = network(image)
    lower = network(image, compute_dtype=torch.bfloat16)
    for name in ("relu1_1", "relu3_1", "relu4_2"):
        assert lower[name].dtype == torch.float32
        # bfloat16 keeps 8 bits of mantissa: a few tenths of a percent per multiply, about 1% after ten layers.
        error = (lower[name] - exact[name]).norm() / exact[name].norm()
        assert 1e-5 < error < 0.03, (name, error)
    # The preprocessed input is not convolved: it stays exact (the TV term reads it).
    assert torch.equal(lower["input"], exact["input"])
    exact_grad, = torch.autograd.grad(exact["relu4_2"].square().mean(), image)
    lower_grad, = torch.autograd.grad(lower["relu4_2"].square().mean(), image)
    assert lower_grad.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(exact_grad.flatten(), lower_grad.flatten(), dim=0) > 0.99
    # Asking for the input's own dtype changes nothing, bit for bit.
    assert torch.equal(network(image, compute_dtype=torch.float32)["relu4_2"], exact["relu4_2"])


def test_the_bfloat16_stack_is_autocasts_arithmetic_with_its_weights_cast_once(vgg19_weights):
    network = VGGFeatures(vgg19_weights, ["relu2_1", "relu4_2"])
    image = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(1)).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = network(image)["relu4_2"].float()
    lower = network(image, compute_dtype=torch.bfloat16)
    assert torch.equal(lower["relu4_2"], expected)
    cast = network._weights_in(torch.bfloat16, image.device)
    assert cast is network._weights_in(torch.bfloat16, image.device)  # made once, then reused
    assert cast["conv1_1"][0].dtype == torch.bfloat16 and not cast["conv1_1"][0].requires_grad
    assert network.convs["conv1_1"].weight.dtype == torch.float32  # the network's own weights are untouched
    saved = {f"convs.{name}.{kind}" for name in network.convs for kind in ("weight", "bias")}
    assert set(network.state_dict()) == saved
