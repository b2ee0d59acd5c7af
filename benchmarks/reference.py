"""Run the quality reference, ``impasto --preset jcjohnson --seed 0`` (1000 L-BFGS iterations at 512 px), on
every panel pair that has no stored result yet, one after the other.

    python benchmarks/reference.py              # all missing pairs (about 35 min each on 2 cores)
    python benchmarks/reference.py --threads 1  # leave a core free for other work
    python benchmarks/reference.py --pairs 2    # stop after two pairs (resume later: finished pairs are skipped)
    python benchmarks/reference.py --reverse    # from the end of the panel: a second runner on another core

Each finished pair leaves ``benchmarks/reference/<content>__<style>.png`` (the result, with its run
metadata) and ``.json`` (wall time, threads, date, command). An interrupted pair leaves nothing (impasto
writes its interrupted best image to a temporary name that is removed), so a rerun starts it again.
``benchmarks/quality.py`` scores the stored results.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from panel import PANEL, REFERENCE_DIR, pair_name, pair_paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    parser.add_argument("--pairs", type=int, default=0, help="stop after this many new pairs (0: all)")
    parser.add_argument("--reverse", action="store_true", help="take the panel from its last pair")
    args = parser.parse_args()
    REFERENCE_DIR.mkdir(exist_ok=True)
    done = 0
    for content, style in reversed(PANEL) if args.reverse else PANEL:
        name = pair_name(content, style)
        final = REFERENCE_DIR / f"{name}.png"
        partial = REFERENCE_DIR / f"{name}.partial.png"
        if final.exists() or partial.with_suffix(".lock").exists():
            continue  # done, or another runner is on it
        content_path, style_path = pair_paths(content, style)
        lock = partial.with_suffix(".lock")
        lock.write_text(str(os.getpid()))
        command = [sys.executable, "-m", "impasto", str(content_path), str(style_path), "-o", str(partial),
                   "--preset", "jcjohnson", "--seed", "0", "-q"]
        environment = dict(os.environ)
        if args.threads:
            environment["OMP_NUM_THREADS"] = str(args.threads)
        print(f"{name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        try:
            result = subprocess.run(command, env=environment)
        finally:
            lock.unlink(missing_ok=True)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            print(f"{name}: failed or interrupted (exit {result.returncode}); nothing stored", flush=True)
            return result.returncode
        partial.replace(final)
        record = {"pair": name, "wall_s": round(wall, 1), "threads": args.threads or "default",
                  "finished": datetime.datetime.now().isoformat(timespec="seconds"),
                  "command": "impasto CONTENT STYLE -o OUT --preset jcjohnson --seed 0"}
        (REFERENCE_DIR / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: {wall:.0f} s", flush=True)
        done += 1
        if args.pairs and done >= args.pairs:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
