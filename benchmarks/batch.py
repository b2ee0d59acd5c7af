"""Batch throughput on this machine: one process using every core against one process per core.

    python benchmarks/batch.py                 # 6 jobs (3 photos x 2 styles) at 512 px, the default recipe
    python benchmarks/batch.py --size 256 --photos 4
    python benchmarks/batch.py --smoke         # tiny: checks that it runs

Each configuration runs ``impasto batch`` as a whole process (start-up and weight loading included) into a
fresh folder, and the table gives wall seconds and images per hour. Photos and paintings come from
``../shared/images`` (the panel's), or from the samples that ship with impasto when that folder is missing.
Writes batch.md and batch.json into --out.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from panel import SHARED_IMAGES

HERE = Path(__file__).resolve().parent
PHOTOS = ["rainier.jpg", "chelsea.png", "amber.jpg", "coffee.png", "astronaut.png"]
PAINTINGS = ["candy.jpg", "mosaic.jpg", "udnie.jpg", "rain-princess.jpg", "autumn_oak.jpg"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "batch")
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--styles", type=int, default=2)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    args.out.mkdir(parents=True, exist_ok=True)
    inputs = args.out / "inputs"
    shutil.rmtree(inputs, ignore_errors=True)
    (inputs / "photos").mkdir(parents=True)
    (inputs / "styles").mkdir()
    if args.smoke or not SHARED_IMAGES.exists():
        from impasto.imaging.samples import sample_painting, sample_photo

        for index in range(args.photos):
            sample_photo().rotate(90 * index, expand=True).save(inputs / "photos" / f"photo{index}.png")
        for index in range(args.styles):
            sample_painting(seed=7 + index).save(inputs / "styles" / f"painting{index}.png")
    else:
        for name in PHOTOS[: args.photos]:
            shutil.copy(SHARED_IMAGES / name, inputs / "photos" / name)
        for name in PAINTINGS[: args.styles]:
            shutil.copy(SHARED_IMAGES / name, inputs / "styles" / name)
    extra = ["--size", "64", "--scales", "1", "--iterations", "2"] if args.smoke else ["--size", str(args.size)]
    configs = [("1 process x %d threads" % cores, 1), ("%d processes x 1 thread" % cores, cores)]
    rows = []
    for name, workers in configs:
        results = args.out / f"workers{workers}"
        shutil.rmtree(results, ignore_errors=True)
        command = [sys.executable, "-m", "impasto", "batch", str(inputs / "photos"), "--style",
                   str(inputs / "styles"), "-o", str(results), "-q", "--workers", str(workers), "--seed", "0",
                   *extra]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - start
        jobs = len(list(results.glob("*.png")))
        rows.append({"config": name, "workers": workers, "jobs": jobs, "wall_s": round(wall, 1),
                     "images_per_hour": round(3600 * jobs / wall, 1), "size": 64 if args.smoke else args.size})
        print(json.dumps(rows[-1]), flush=True)
    (args.out / "batch.json").write_text(json.dumps(rows, indent=1))
    lines = ["| config | jobs | size | wall s | images per hour |", "|---|---|---|---|---|"]
    lines += [f"| {row['config']} | {row['jobs']} | {row['size']} | {row['wall_s']} | {row['images_per_hour']} |"
              for row in rows]
    (args.out / "batch.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
