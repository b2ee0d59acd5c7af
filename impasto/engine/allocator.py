"""Keep the memory PyTorch frees on the CPU in the process, for the next pass to reuse.

Every pass of a network allocates its activations afresh and frees them at the end. glibc's malloc hands a
freed block of more than its mmap threshold (128 kB, raised as blocks are freed but never past 32 MB)
straight back to the kernel, and trims the top of its heap whenever more than twice that is free; the next
pass then asks the kernel for the same hundreds of megabytes again and pays a page fault and a zeroing for
each 4 kB page. Measured on a 2-core EPYC (benchmarks/RESULTS.md, "Memory the process keeps"): a trained
model painting 512x512 images spent more time in the kernel than in its convolutions (about twice as fast
per image with freed memory kept), and a still's optimisation 4-7%.

``keep_freed_memory`` raises both thresholds as far as glibc allows, once per process. The cost: the
process holds on to its peak memory until it exits instead of giving it back between passes (the peak
itself grew by 0-7% in the runs measured). It does nothing where the C library is not glibc, and nothing
where the user has tuned malloc in the environment (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``GLIBC_TUNABLES``) or set ``IMPASTO_KEEP_FREED_MEMORY=0``.
"""
from __future__ import annotations

import ctypes
import os
import sys

# mallopt's parameter numbers (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# The largest value mallopt takes (an int): no block PyTorch frees is larger, so none goes back.
LARGEST = 2**31 - 1
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
OPT_OUT = "IMPASTO_KEEP_FREED_MEMORY"

_kept: bool | None = None  # this process's answer, once asked


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks for reuse (see the module's docstring); whether it is so."""
    global _kept
    if _kept is None:
        _kept = _set_thresholds()
    return _kept


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get(OPT_OUT) == "0":
        return False
    if any(name in os.environ for name in USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
    except OSError:
        return False
    # gnu_get_libc_version is glibc's own: musl and others have a mallopt that ignores these parameters.
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST)) and bool(mallopt(M_TRIM_THRESHOLD, LARGEST))
