import re

import pytest
import torch

from impasto.errors import ResourceError
from impasto.resources import FIXED_BYTES, available_bytes, check_memory, estimate_bytes


def test_estimate_covers_the_measured_peaks():
    # Measured peak RSS (MB) at 256, 512 and 1024 px long side on the 3:2 development pair.
    for pixels, measured_mb in ((171 * 256, 640), (341 * 512, 1006), (683 * 1024, 2325)):
        assert estimate_bytes(pixels) >= measured_mb * 1024**2
    assert estimate_bytes(0) == FIXED_BYTES


def test_refusal_names_a_size_that_fits():
    cpu = torch.device("cpu")
    check_memory((341, 512), cpu)
    with pytest.raises(ResourceError) as refused:
        check_memory((100_000, 150_000), cpu)
    side = int(re.search(r"about (\d+) px", str(refused.value)).group(1))
    fitting = (round(side * 2 / 3), side)
    assert estimate_bytes(fitting[0] * fitting[1]) <= available_bytes(cpu)
    # Not far below what fits either: 15% more on each side would not.
    larger = (round(side * 1.15 * 2 / 3), round(side * 1.15))
    assert estimate_bytes(larger[0] * larger[1]) > available_bytes(cpu)
