"""impasto.engine.allocator: freed memory stays in the process for the next pass, unless the user says no."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# In a fresh process (the setting is process-wide and made once): a 128 MB tensor filled, freed, and made
# again; the page faults of the second filling say whether its memory came back from the kernel afresh.
PROBE = """
import json, resource, torch
from impasto.engine.allocator import keep_freed_memory
kept = keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
first = torch.ones(32 * 1024 * 1024)
del first
before = faults()
second = torch.ones(32 * 1024 * 1024)
print(json.dumps({"kept": kept, "faults": faults() - before}))
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
    assert kept["faults"] < PAGES // 20  # the freed pages, reused
    given_back = probe(IMPASTO_KEEP_FREED_MEMORY="0")
    assert given_back["kept"] is False
    assert given_back["faults"] > PAGES // 2  # glibc's default: every page faulted in again


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_a_user_who_tuned_malloc_keeps_their_settings():
    assert probe(MALLOC_TRIM_THRESHOLD_="1000000")["kept"] is False
    assert probe(GLIBC_TUNABLES="glibc.malloc.trim_threshold=1000000")["kept"] is False
