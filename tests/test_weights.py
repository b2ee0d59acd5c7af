import time

import numpy as np
import pytest
import torch

from impasto.errors import WeightsError
from impasto.net.features import VGGFeatures
from impasto.config.layers import BLOCK_CHANNELS, CONVS_PER_BLOCK, conv_layer_names
from impasto.net.weights import CAFFE, TORCHVISION, load_weights


def random_convs(model: str, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random (out, in, 3, 3) kernels and biases with the shapes of ``model``."""
    rng = np.random.default_rng(seed)
    convs, in_channels = [], 3
    for block, count in enumerate(CONVS_PER_BLOCK[model]):
        for _ in range(count):
            out = BLOCK_CHANNELS[block]
            convs.append((rng.normal(0, 0.01, (out, in_channels, 3, 3)).astype(np.float32),
                          rng.normal(0, 0.1, out).astype(np.float32)))
            in_channels = out
    return convs


def torchvision_indices(model: str) -> list[int]:
    indices, index = [], 0
    for count in CONVS_PER_BLOCK[model]:
        for _ in range(count):
            indices.append(index)
            index += 2
        index += 1
    return indices


def test_bundled_vgg19_shapes_values_and_speed():
    start = time.perf_counter()
    weights = load_weights()
    assert time.perf_counter() - start < 2.0
    assert weights.model == "vgg19" and weights.normalization is CAFFE
    assert list(weights.convs) == list(conv_layer_names("vgg19"))
    weight, bias = weights.convs["conv5_4"]
    assert weight.shape == (512, 512, 3, 3) and bias.shape == (512,)
    for weight, bias in weights.convs.values():
        assert weight.dtype == torch.float32 and torch.isfinite(weight).all() and torch.isfinite(bias).all()
        # 8-bit quantization: at most 256 distinct values per layer.
        assert weight.unique().numel() <= 256


def test_bundled_vgg19_known_activations(vgg19_weights):
    network = VGGFeatures(vgg19_weights, ["conv1_1", "relu3_1", "relu5_1"])
    gray = torch.full((1, 3, 32, 32), 0.5)
    features = network(gray)
    # Away from the border a constant image gives bias + sum over channels of (kernel sum * input value).
    weight, bias = vgg19_weights.convs["conv1_1"]
    value = CAFFE.preprocess(gray)[0, :, 0, 0]
    expected = bias + (weight.sum(dim=(2, 3)) * value).sum(dim=1)
    assert torch.allclose(features["conv1_1"][0, :, 16, 16], expected, rtol=1e-4, atol=1e-3)
    # Statistics of these weights on this input, recorded once: they catch a wrong dequantization,
    # channel order or mean.
    assert features["relu3_1"].mean().item() == pytest.approx(25.837, rel=1e-3)
    assert features["relu5_1"].mean().item() == pytest.approx(10.564, rel=1e-3)


@pytest.mark.parametrize("normalization", [CAFFE, TORCHVISION])
def test_preprocess_round_trip(normalization):
    rgb = torch.rand(1, 3, 5, 7)
    processed = normalization.preprocess(rgb)
    assert torch.allclose(normalization.postprocess(processed), rgb, atol=1e-5)


def test_caffe_preprocessing_is_bgr_0_255_minus_mean():
    rgb = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1)
    out = CAFFE.preprocess(rgb).flatten()
    assert torch.allclose(out, torch.tensor([0.0 - 103.939, 127.5 - 116.779, 255.0 - 123.68]))
    out = TORCHVISION.preprocess(rgb).flatten()
    assert torch.allclose(out, torch.tensor([(1 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0 - 0.406) / 0.225]))


@pytest.mark.parametrize("model", ["vgg16", "vgg19"])
def test_torchvision_state_dict(tmp_path, model):
    convs = random_convs(model)
    state = {}
    for index, (weight, bias) in zip(torchvision_indices(model), convs):
        state[f"features.{index}.weight"] = torch.from_numpy(weight)
        state[f"features.{index}.bias"] = torch.from_numpy(bias)
    state["classifier.0.weight"] = torch.zeros(4, 4)
    path = tmp_path / f"{model}-test.pth"
    torch.save(state, path)
    weights = load_weights(path)
    assert weights.model == model and weights.normalization is TORCHVISION
    first = conv_layer_names(model)[0]
    assert torch.equal(weights.convs[first][0], torch.from_numpy(convs[0][0]))
    conv5_3 = convs[conv_layer_names(model).index("conv5_3")]
    assert torch.equal(weights.convs["conv5_3"][1], torch.from_numpy(conv5_3[1]))
    with pytest.raises(WeightsError, match="model vgg"):
        load_weights(path, model="vgg19" if model == "vgg16" else "vgg16")


@pytest.mark.parametrize("model", ["vgg16", "vgg19"])
def test_keras_h5_kernels_are_transposed(tmp_path, model):
    h5py = pytest.importorskip("h5py")
    convs = random_convs(model, seed=3)
    path = tmp_path / f"{model}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with h5py.File(path, "w") as file:
        for name, (weight, bias) in zip(conv_layer_names(model), convs):
            block, index = name[4:].split("_")
            keras = f"block{block}_conv{index}"
            group = file.create_group(keras)
            group.create_dataset(f"{keras}_W_1:0", data=weight.transpose(2, 3, 1, 0))  # (kh, kw, in, out)
            group.create_dataset(f"{keras}_b_1:0", data=bias)
        file.create_group("block1_pool")
    weights = load_weights(path)
    assert weights.model == model and weights.normalization is CAFFE
    for name, (weight, bias) in zip(conv_layer_names(model), convs):
        assert torch.equal(weights.convs[name][0], torch.from_numpy(weight))
        assert torch.equal(weights.convs[name][1], torch.from_numpy(bias))


def test_bad_weight_files(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable"):
        load_weights(garbage)
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(tmp_path / "missing.pth")
    wrong = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, wrong)
    with pytest.raises(WeightsError, match="not a VGG-16/19 state dict: found keys like conv1.weight"):
        load_weights(wrong)
    misshapen = tmp_path / "misshapen.pth"
    state = {}
    for index, (weight, bias) in zip(torchvision_indices("vgg16"), random_convs("vgg16")):
        state[f"features.{index}.weight"] = torch.from_numpy(weight)
        state[f"features.{index}.bias"] = torch.from_numpy(bias)
    state["features.2.weight"] = torch.zeros(64, 64, 5, 5)
    torch.save(state, misshapen)
    with pytest.raises(WeightsError, match="conv1_2 has shape"):
        load_weights(misshapen)


def test_no_bundled_vgg16():
    with pytest.raises(WeightsError, match="Give weights"):
        load_weights(model="vgg16")
