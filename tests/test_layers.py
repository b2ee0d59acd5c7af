import pytest

from impasto.errors import OptionError
from impasto.config.layers import (canonical_layer, conv_layer_names, deepest_layer, keras_name, layer_names,
                            parse_weighted_layers)


def test_vgg19_order_matches_torchvision_features():
    names = layer_names("vgg19")
    assert len(names) == 37
    assert names[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert names[18] == "pool3" and names[27] == "pool4" and names[36] == "pool5"
    assert len(conv_layer_names("vgg19")) == 16 and len(conv_layer_names("vgg16")) == 13
    assert len(layer_names("vgg16")) == 31


def test_d2l_indices_name_the_layers_the_book_means():
    style = [canonical_layer(i, "vgg19") for i in (0, 5, 10, 19, 28)]
    assert style == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    assert canonical_layer(25, "vgg19") == "conv4_4"
    assert canonical_layer("22", "vgg19") == "relu4_2"


@pytest.mark.parametrize("spelling, expected", [
    ("relu4_2", "relu4_2"), ("CONV1_1", "conv1_1"), ("pool2", "pool2"), ("block3_conv3", "relu3_3"),
    ("block5_pool", "pool5"), ("block2_relu1", "relu2_1"), (" relu1_1 ", "relu1_1"),
])
def test_spellings(spelling, expected):
    assert canonical_layer(spelling, "vgg19") == expected


@pytest.mark.parametrize("bad", ["relu9_9", "conv3_4x", "37", "block3_conv9", ""])
def test_unknown_layers_raise(bad):
    with pytest.raises(OptionError):
        canonical_layer(bad, "vgg19")


def test_keras_names_round_trip():
    assert keras_name("conv3_2") == "block3_conv2"
    for name in conv_layer_names("vgg19"):
        assert canonical_layer(keras_name(name), "vgg19") == name.replace("conv", "relu")


def test_vgg16_has_no_conv3_4():
    with pytest.raises(OptionError):
        canonical_layer("conv3_4", "vgg16")
    assert canonical_layer("block3_conv3", "vgg16") == "relu3_3"  # Keras convs include their ReLU


def test_weighted_layer_specs():
    assert parse_weighted_layers("relu1_1:0.5,relu2_1", "vgg19") == [("relu1_1", 0.5), ("relu2_1", 1.0)]
    assert parse_weighted_layers([("conv4_2", 2)], "vgg19") == [("conv4_2", 2.0)]
    assert parse_weighted_layers(["0", "5"], "vgg19") == [("conv1_1", 1.0), ("conv2_1", 1.0)]
    for bad in ("relu1_1:x", "relu1_1:-1", "relu1_1:nan", "relu1_1:inf", ""):
        with pytest.raises(OptionError):
            parse_weighted_layers(bad, "vgg19")


def test_deepest_layer_decides_the_cut():
    assert deepest_layer(["relu1_1", "relu4_2", "conv2_1"], "vgg19") == layer_names("vgg19").index("relu4_2")
    assert deepest_layer(["input"], "vgg19") == -1
