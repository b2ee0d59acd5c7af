"""Memory: what a size needs before it is allocated, and what the device has (``impasto.tiles`` decides)."""
from __future__ import annotations

import os

import torch

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
