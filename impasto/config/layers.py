"""VGG layer names: the architecture as a list of named layers, and parsing of what users type.

Canonical names are the Caffe/Gatys ones (``conv4_2``, ``relu4_2``, ``pool2``). Users may also type Keras
names (``block3_conv3``, ``block3_pool``) or an integer index into torchvision's ``vgg.features``, which is
how the D2L book refers to layers (``[0, 5, 10, 19, 28]``).
"""
from __future__ import annotations

import re
from typing import Sequence

from ..errors import OptionError

# Convolutions per block; the channel count of block b's convolutions.
CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
BLOCK_CHANNELS = (64, 128, 256, 512, 512)
MODELS = tuple(CONVS_PER_BLOCK)

# The pseudo-layer "input" is the preprocessed image the network sees; the TV loss is taken on it.
INPUT_LAYER = "input"


def layer_names(model: str) -> tuple[str, ...]:
    """All layers of ``model``'s feature stack in order, exactly torchvision's ``features`` order."""
    if model not in CONVS_PER_BLOCK:
        raise OptionError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    names: list[str] = []
    for block, convs in enumerate(CONVS_PER_BLOCK[model], start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


def conv_layer_names(model: str) -> tuple[str, ...]:
    return tuple(name for name in layer_names(model) if name.startswith("conv"))


_KERAS_CONV = re.compile(r"^block(\d)_conv(\d)$")
_KERAS_RELU = re.compile(r"^block(\d)_relu(\d)$")
_KERAS_POOL = re.compile(r"^block(\d)_pool$")


def canonical_layer(name: str | int, model: str) -> str:
    """Turn any accepted spelling of a layer into its canonical name, or raise ``OptionError``."""
    names = layer_names(model)
    text = str(name).strip()
    if text == INPUT_LAYER:
        return INPUT_LAYER
    if text.isdigit():
        index = int(text)
        if index >= len(names):
            raise OptionError(f"layer index {index} is past the end of {model} (0..{len(names) - 1})")
        return names[index]
    lowered = text.lower()
    # A Keras "block3_conv1" is a Conv2D with activation="relu": its output is the ReLU's, relu3_1.
    for pattern, template in ((_KERAS_CONV, "relu{}_{}"), (_KERAS_RELU, "relu{}_{}")):
        match = pattern.match(lowered)
        if match:
            lowered = template.format(*match.groups())
    match = _KERAS_POOL.match(lowered)
    if match:
        lowered = f"pool{match.group(1)}"
    if lowered not in names:
        raise OptionError(
            f"unknown layer {text!r} for {model}: use names like relu4_2, conv1_1, pool2, block3_conv3 "
            f"or a torchvision index 0..{len(names) - 1}"
        )
    return lowered


def keras_name(conv_name: str) -> str:
    """The Keras spelling of a canonical conv layer: ``conv3_2`` -> ``block3_conv2``."""
    block, index = conv_name.removeprefix("conv").split("_")
    return f"block{block}_conv{index}"


def layer_index(name: str, model: str) -> int:
    """Position of a canonical layer in the feature stack (-1 for the input pseudo-layer)."""
    if name == INPUT_LAYER:
        return -1
    return layer_names(model).index(name)


def deepest_layer(names: Sequence[str], model: str) -> int:
    """Index of the deepest layer asked for; the network is cut right after it."""
    return max((layer_index(name, model) for name in names), default=-1)


def parse_weighted_layers(spec: str | Sequence, model: str) -> list[tuple[str, float]]:
    """Parse ``"relu1_1:0.5,relu2_1"`` (or a list of names / (name, weight) pairs) into pairs.

    A layer without an explicit weight gets 1.0.
    """
    items: list = spec.split(",") if isinstance(spec, str) else list(spec)
    pairs: list[tuple[str, float]] = []
    for item in items:
        if isinstance(item, (tuple, list)):
            raw_name, raw_weight = item
        else:
            raw_name, _, raw_weight = str(item).strip().partition(":")
            raw_weight = raw_weight or 1.0
        if str(raw_name).strip() == "":
            raise OptionError(f"empty layer name in {spec!r}")
        try:
            weight = float(raw_weight)
        except ValueError:
            raise OptionError(f"layer weight {raw_weight!r} in {spec!r} is not a number") from None
        if not weight >= 0 or weight == float("inf"):
            raise OptionError(f"layer weight {raw_weight!r} must be a finite number >= 0")
        pairs.append((canonical_layer(raw_name, model), weight))
    if not pairs:
        raise OptionError("at least one layer is needed")
    return pairs


def layer_geometry(name: str, model: str) -> tuple[int, int]:
    """(channels, poolings before it) of a canonical conv/relu/pool layer: its activation has that many
    channels at 1/2^poolings of the image's side."""
    names = layer_names(model)
    index = names.index(name)
    pools = sum(1 for earlier in names[:index] if earlier.startswith("pool"))
    block = int(name[4] if name.startswith("pool") else name.removeprefix("conv").removeprefix("relu")[0])
    return BLOCK_CHANNELS[block - 1], pools


def min_input_side(names: Sequence[str], model: str) -> int:
    """Smallest image side for which every layer in ``names`` still has at least one pixel."""
    last = deepest_layer(names, model)
    pools = sum(1 for name in layer_names(model)[: last + 1] if name.startswith("pool"))
    return 2**pools
