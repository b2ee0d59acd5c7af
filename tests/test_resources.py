import torch

from impasto.engine.device import FIXED_BYTES, available_bytes, estimate_bytes


def test_estimate_covers_the_measured_peaks():
    # Measured peak RSS (MB) at 256, 512 and 1024 px long side on the 3:2 development pair.
    for pixels, measured_mb in ((171 * 256, 640), (341 * 512, 1006), (683 * 1024, 2325)):
        assert estimate_bytes(pixels) >= measured_mb * 1024**2
    assert estimate_bytes(0) == FIXED_BYTES


def test_available_memory_is_what_meminfo_says_is_free():
    with open("/proc/meminfo") as meminfo:
        free = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    # Memory moves between the two reads; a tenth of a gigabyte is plenty of slack.
    assert abs(available_bytes(torch.device("cpu")) - free) < 100 * 1024**2
