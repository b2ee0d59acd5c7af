"""impasto: neural style transfer (Gatys, Ecker & Bethge) that runs offline on a laptop CPU.

The public names are loaded on first use, so that ``impasto.cli`` can install its interrupt handling and
check its arguments before PyTorch is imported.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "stylize": "api", "Stylizer": "engine", "Progress": "engine", "load_network": "engine",
    "Options": "config.options", "resolve_options": "config.options", "PRESETS": "config.presets",
    "load_weights": "net.weights",
    "ImpastoError": "errors", "ImageInputError": "errors", "Interrupted": "errors", "OptionError": "errors",
    "OutputError": "errors", "WeightsError": "errors", "ModelError": "errors", "stylize_video": "apps.video",
    "train": "api", "paint_with_model": "api", "load_model": "net.model_file",
    "paint_video_with_model": "apps.instant_video",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'impasto' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
