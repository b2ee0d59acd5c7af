"""impasto.engine.allocator: freed memory stays in the process for the next pass, unless the user says no."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# In a fresh process (the setting is process-wide and made once): six rounds of what a network pass does, a
# 128 MB tensor and a small one filled and freed; the page faults of each round say whether its memory came
# back from the kernel afresh. The first round always faults its pages in; a pointer-aligned block freed
# next to a smaller one may take a second round to settle into reuse.
PROBE = """
import json, resource, torch
from impasto.engine.allocator import keep_freed_memory
kept = keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
counts = []
for _ in range(6):
    before = faults()
    big, small = torch.ones(32 * 1024 * 1024), torch.ones(1024 * 1024)
    del big, small
    counts.append(faults() - before)
print(json.dumps({"kept": kept, "faults": counts}))
"""
PAGES = 128 * 1024 * 1024 // 4096


def probe(**environment: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                            env={**env, **environment})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_freed_memory_is_reused_without_asking_the_kernel_again():
    kept = probe()
    assert kept["kept"] is True
    assert kept["faults"][0] > PAGES // 2  # the first round's pages are new
    assert sum(kept["faults"][2:]) < PAGES // 20  # then the freed pages are reused
    given_back = probe(IMPASTO_KEEP_FREED_MEMORY="0")
    assert given_back["kept"] is False
    assert all(count > PAGES // 2 for count in given_back["faults"])  # glibc's default: faulted in every round


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_a_user_who_tuned_malloc_keeps_their_settings():
    assert probe(MALLOC_TRIM_THRESHOLD_="1000000")["kept"] is False
    assert probe(GLIBC_TUNABLES="glibc.malloc.trim_threshold=1000000")["kept"] is False
