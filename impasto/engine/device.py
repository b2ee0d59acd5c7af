"""Where a run computes and in what precision, and how much memory a size needs there.

``Placement`` is the one owner of a run's device and dtypes (``dtype`` for images, targets and losses;
``compute_dtype`` for the network's convolutions): the engine's collaborators move images, masks,
targets and loss terms with ``placement.put`` (loss terms are ``nn.Module``s holding their targets as
buffers, so one call moves a whole term), and the memory plan (``impasto.engine.tiles``) asks it how many
bytes a size takes. The figures below were measured on the CPU in 32-bit floats; the per-pixel part scales
with the element size of the dtype.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

import torch

from ..config.choices import PRECISIONS
from ..errors import OptionError
from .allocator import keep_freed_memory

# Peak memory measured with /usr/bin/time on the bundled VGG-19 cut at relu5_1, one scale, fp32, 2 threads:
# 256 px (44k pixels) 0.64 GB, 512 px (175k) 1.01 GB, 1024 px (699k) 2.32 GB: about 0.6 GB fixed (Python,
# PyTorch, weights, input images) plus 2.5-2.8 kB per optimized pixel. Rounded up for headroom.
FIXED_BYTES = 700 * 1024**2
BYTES_PER_PIXEL = 3000
MEASURED_DTYPE = torch.float32

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}  # Options.precision's explicit choices

Movable = TypeVar("Movable", torch.Tensor, torch.nn.Module)


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def pick_device(name: str) -> torch.device:
    """``auto`` takes CUDA, then Apple's MPS, then the CPU; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise OptionError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU (use 'auto' or 'cpu')")
    if name == "mps" and not _mps_available():
        raise OptionError("device 'mps' was asked for, but Apple's MPS backend is not available")
    return torch.device(name)


def has_bfloat16_hardware(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 in hardware: on the CPU, Intel's AMX tiles or the AVX-512 BF16
    instructions (AMD Zen 4 and later, Intel Cooper Lake and later). Measured: one VGG-19 pass at 512x512
    takes 0.41x of float32's time on an AMX Xeon and 0.56-0.63x on an AVX-512 BF16 EPYC (benchmarks/RESULTS.md).
    A CPU with neither emulates bfloat16, slower than float32; GPUs are left in float32 until measured."""
    if device.type != "cpu":
        return False
    # Private helpers of torch.cpu: a PyTorch without one is taken to say no.
    return any(bool(getattr(torch.cpu, helper, lambda: False)())
               for helper in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))


def pick_compute_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The network's dtype for ``Options.precision``: ``auto`` takes bfloat16 where ``device`` has it in
    hardware, float32 elsewhere."""
    if precision == "auto":
        return torch.bfloat16 if has_bfloat16_hardware(device) else torch.float32
    if precision not in DTYPES:
        raise OptionError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return DTYPES[precision]


def estimate_bytes(pixels: int, dtype: torch.dtype = MEASURED_DTYPE) -> int:
    """Peak memory of optimising an image of ``pixels`` pixels whole, in ``dtype``."""
    per_pixel = BYTES_PER_PIXEL * dtype.itemsize // MEASURED_DTYPE.itemsize
    return FIXED_BYTES + per_pixel * pixels


def available_bytes(device: torch.device) -> int:
    """Memory the run may still take on ``device``."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free) + FIXED_BYTES  # the fixed part lives in host memory
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


@dataclass(frozen=True)
class Placement:
    """A run's device and floating-point dtype. Images arrive from ``impasto.imaging`` on the CPU in 32-bit
    floats; ``put`` moves a tensor or a module (the network, a loss term with its buffers) to the run's."""

    device: torch.device
    dtype: torch.dtype = torch.float32
    compute_dtype: torch.dtype = torch.float32  # the network's convolutions (VGGFeatures.forward)

    @classmethod
    def named(cls, device: str, precision: str = "float32") -> "Placement":
        """The placement of ``Options.device`` (``auto``, ``cpu``, ``cuda``, ``mps``) and ``Options.precision``.
        Every run (a still, a training, a trained model painting) is placed here, so this is also where the
        process is asked to keep the memory each pass frees for the next (``impasto.engine.allocator``)."""
        keep_freed_memory()
        picked = pick_device(device)
        return cls(picked, compute_dtype=pick_compute_dtype(precision, picked))

    @property
    def precision_used(self) -> str:
        """The network's precision by name (``float32``, ``bfloat16``), as run records state it."""
        return str(self.compute_dtype).removeprefix("torch.")

    def put(self, item: Movable) -> Movable:
        return item.to(self.device, self.dtype)

    def estimate_bytes(self, pixels: int) -> int:
        return estimate_bytes(pixels, self.dtype)

    def available_bytes(self) -> int:
        return available_bytes(self.device)
