"""A trained painter on disk (``impasto train -o NAME.pt``): the network's weights, what made them, and what
training needs to continue.

A model file is untrusted input: someone else's download, a renamed file, a damaged copy. It is read with
``torch.load(weights_only=True)``, which unpickles only tensors and plain containers (no code runs), and
then checked field by field against what ``save_model`` writes; anything else is a ``ModelError`` with one
line saying what is wrong.

Layout (a plain dict, ``FORMAT`` / ``VERSION``):

* ``architecture``: ``{"width": int, "blocks": int}`` of ``TransformerNet``;
* ``state``: the network's state dict;
* ``record``: how it was made, JSON text (paintings' names, sizes and pixel digests, options, steps, time,
  impasto version), and ``thumbnails``: each painting as a small uint8 tensor (H, W, 3);
* ``training``: Adam's state, the step reached and the random state, for ``--resume`` (omitted with
  ``keep_training_state=False``: a file to share is a third of the size).
"""
from __future__ import annotations

import json
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from ..config.limits import INT_RANGES
from ..errors import ModelError, display_path
from ..files import atomic_write, path_kind
from .transformer import TransformerNet

FORMAT = "impasto.model"
VERSION = 1
# The model files impasto reads are a few MB; a larger file is refused before it is read.
MAX_MODEL_BYTES = 512 * 1024**2
# The ready-made models, inside the package.
BUNDLED_FOLDER = "models"


@dataclass
class TrainedModel:
    """A painter and what made it."""

    network: TransformerNet
    record: dict
    thumbnails: list[torch.Tensor] = field(default_factory=list)
    training: Optional[dict] = None  # {"optimizer": state dict, "step": int, "rng": tensor}

    @property
    def steps(self) -> int:
        return int(self.record.get("steps", 0))


def save_model(path: str | os.PathLike, model: TrainedModel, keep_training_state: bool = True) -> Path:
    """Write ``model`` atomically (a checkpoint written while training never leaves half a file)."""
    content: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "architecture": model.network.architecture,
        "state": {name: value.detach().cpu() for name, value in model.network.state_dict().items()},
        "record": json.dumps(model.record, default=str), "thumbnails": [t.cpu() for t in model.thumbnails],
    }
    if keep_training_state and model.training is not None:
        content["training"] = model.training
    return atomic_write(path, lambda file: torch.save(content, file))


def bundled_models() -> dict[str, Path]:
    """The ready-made models that ship with impasto (``impasto/models``), by name: ``--model candy``."""
    folder = Path(__file__).resolve().parent.parent / BUNDLED_FOLDER
    if not folder.is_dir():
        return {}
    # By name: "mosaic" before "mosaic-steady" (their file names sort the other way round).
    return {path.stem: path for path in sorted(folder.glob("*.pt"), key=lambda path: path.stem)}


def resolve_model(path: str | os.PathLike) -> Path:
    """A model file's path: the file named, or else the bundled model of that name."""
    path = Path(path)
    if path_kind(path, "model", ModelError) == "missing" and len(path.parts) == 1 and path.suffix == "":
        return bundled_models().get(path.name, path)
    return path


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> TrainedModel:
    """Read and check a model file (or a bundled model, by name); the network is in eval mode on ``device``."""
    path = resolve_model(path)
    kind = path_kind(path, "model", ModelError)
    if kind == "missing":
        hint = " (the VGG architecture is --network)" if path.name in ("vgg16", "vgg19") else ""
        names = ", ".join(bundled_models())
        raise ModelError(f"model file {display_path(path)} does not exist{hint}"
                         + (f"; the bundled models are {names}" if names else ""))
    if kind == "dir":
        raise ModelError(f"model {display_path(path)} is a folder, not a model file")
    if path.suffix.lower() == ".onnx":
        raise ModelError(f"model {display_path(path)} is an ONNX export: impasto paints with the .pt file it "
                         f"was exported from (run the .onnx with onnxruntime)")
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelError(f"model file {display_path(path)} is {size / 1024**2:.0f} MB, far larger than an "
                             f"impasto model; refusing to read it")
        content = torch.load(path, map_location="cpu", weights_only=True)
    except ModelError:
        raise
    except PermissionError:
        raise ModelError(f"model file {display_path(path)} cannot be read (permission denied)") from None
    except pickle.UnpicklingError:
        # weights_only refuses anything but tensors and plain containers: a file that would run code lands here.
        raise ModelError(f"model file {display_path(path)} is not an impasto model: it holds something other "
                         f"than weights, refused unread (loading it could run code)") from None
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError, OSError, AttributeError, TypeError, KeyError,
            IndexError):
        raise ModelError(f"model file {display_path(path)} is not an impasto model, or is damaged") from None
    return _checked(content, path, torch.device(device))


def _checked(content: Any, path: Path, device: torch.device) -> TrainedModel:
    where = f"model file {display_path(path)}"
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ModelError(f"{where} is not an impasto model (made by impasto train?)")
    version = content.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ModelError(f"{where} has format version {version!r}; this impasto reads version {VERSION} "
                         f"(upgrade impasto)")
    architecture = content.get("architecture")
    if not isinstance(architecture, dict) or set(architecture) != {"width", "blocks"}:
        raise ModelError(f"{where} has no valid architecture")
    for key, limit in (("width", "model_width"), ("blocks", "model_blocks")):
        low, high = INT_RANGES[limit]
        value = architecture[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ModelError(f"{where} has a network {key} of {value!r}, outside {low} to {high}")
    network = TransformerNet(architecture["width"], architecture["blocks"])
    expected = network.state_dict()
    state = content.get("state")
    if not isinstance(state, dict) or set(state) != set(expected):
        raise ModelError(f"{where} does not hold the weights of its network (damaged, or not made by impasto)")
    for name, value in state.items():
        if not isinstance(value, torch.Tensor) or not value.is_floating_point() or not torch.isfinite(value).all():
            raise ModelError(f"{where} has a damaged weight {name!r}")
        if value.shape != expected[name].shape:
            raise ModelError(f"{where} has weights of shape {tuple(value.shape)} for {name!r}, where its "
                             f"architecture needs {tuple(expected[name].shape)}")
    network.load_state_dict({name: value.float() for name, value in state.items()})
    try:
        record = json.loads(content.get("record", "{}"))
    except (TypeError, json.JSONDecodeError):
        record = None
    if not isinstance(record, dict):
        raise ModelError(f"{where} has a damaged record")
    thumbnails = content.get("thumbnails", [])
    if not isinstance(thumbnails, list) or not all(
            isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and t.ndim == 3 and t.shape[2] == 3
            for t in thumbnails):
        raise ModelError(f"{where} has damaged thumbnails")
    training = content.get("training")
    if training is not None and not (isinstance(training, dict) and isinstance(training.get("step"), int)
                                     and isinstance(training.get("optimizer"), dict)):
        raise ModelError(f"{where} has a damaged training state")
    return TrainedModel(network.to(device).eval(), record, thumbnails, training)


def check_onnx_export() -> None:
    """Exporting needs the onnx package: said before an hour of training, not after it."""
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError:
        raise ModelError("exporting ONNX needs the onnx package: pip install 'impasto[onnx]'") from None


def export_onnx(network: TransformerNet, path: str | os.PathLike) -> Path:
    """The network as ONNX (opset 17, any image size: height and width are dynamic), written atomically.
    onnxruntime then paints the same pixels as PyTorch, within float rounding (tests/test_instant.py)."""
    check_onnx_export()
    import io
    import warnings

    network = network.cpu().eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(network, (torch.rand(1, 3, 64, 64),), buffer, input_names=["rgb"], output_names=["painted"],
                          dynamic_axes={"rgb": {0: "batch", 2: "height", 3: "width"},
                                        "painted": {0: "batch", 2: "height", 3: "width"}},
                          opset_version=17, dynamo=False)
    return atomic_write(path, lambda file: file.write(buffer.getvalue()))
