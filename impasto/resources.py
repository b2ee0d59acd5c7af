"""Memory: estimate what a size needs before allocating it, and say what fits when it doesn't."""
from __future__ import annotations

import math
import os

import torch

from .errors import ResourceError

# Peak memory measured with /usr/bin/time on the bundled VGG-19 cut at relu5_1, one scale, fp32, 2 threads:
# 256 px (44k pixels) 0.64 GB, 512 px (175k) 1.01 GB, 1024 px (699k) 2.32 GB: about 0.6 GB fixed (Python,
# PyTorch, weights, input images) plus 2.5-2.8 kB per optimized pixel. Rounded up for headroom.
FIXED_BYTES = 700 * 1024**2
BYTES_PER_PIXEL = 3000


def estimate_bytes(pixels: int) -> int:
    return FIXED_BYTES + BYTES_PER_PIXEL * pixels


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


def check_memory(shape: tuple[int, int], device: torch.device) -> None:
    """Refuse a largest scale of ``shape`` = (height, width) that would not fit, naming the size that would."""
    height, width = shape
    needed, available = estimate_bytes(height * width), available_bytes(device)
    if needed <= available:
        return
    largest_pixels = max(0, available - FIXED_BYTES) / BYTES_PER_PIXEL
    aspect = min(height, width) / max(height, width)
    # 2% margin and a multiple of 16: free memory moves while we speak, and the advice should still hold.
    largest_side = int(0.98 * math.sqrt(largest_pixels / aspect)) // 16 * 16
    raise ResourceError(
        f"{width}x{height} needs about {needed / 1024**3:.1f} GB of memory but {available / 1024**3:.1f} GB "
        f"are available on {device.type}; the largest output size that fits is about {largest_side} px"
    )
