"""Pixel digests of impasto's outputs at a fixed seed: proof that a refactoring changed no result.

    python benchmarks/digests.py --out before.md            # on the old commit
    python benchmarks/digests.py --out after.md --check before.md   # on the new one: exit 1 on any difference

Runs the command line (``python -m impasto``, whatever ``impasto`` the interpreter imports) on three pairs of
the development panel with the default recipe and ``--quality draft`` at 512 px, and on small images with
the code paths that those two do not take (tiles, masks, colour preservation, L-BFGS, mean/covariance
style, the D2L and Gatys presets). Each result's decoded RGB(A) pixels are hashed (the PNG's text chunk holds
timings, so the file itself differs from run to run). Writes a table: configuration, SHA-256 of the pixels,
seconds.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from panel import PANEL, pair_name, pair_paths  # noqa: E402

SEED = "7"
MASKS_NEEDED = "masks"


def configurations() -> list[tuple[str, list[str], list[str]]]:
    """(name, images, options): the full-size runs first, then the small code-path runs."""
    runs = []
    for content, style in PANEL[:3]:
        images = [str(path) for path in pair_paths(content, style)]
        runs.append((f"{pair_name(content, style)} default", images, []))
        runs.append((f"{pair_name(content, style)} draft", images, ["--quality", "draft"]))
    content, style = (str(path) for path in pair_paths(*PANEL[0]))
    second = str(pair_paths(*PANEL[1])[1])
    small = ["--size", "160", "--iterations", "4"]
    runs += [
        ("tiles", [content, style], ["--size", "320", "--tile", "160", "--iterations", "3"]),
        ("luminance", [content, style], small + ["--preserve-colors", "luminance"]),
        ("histogram", [content, style], small + ["--preserve-colors", "histogram", "--init-palette", "content"]),
        ("lbfgs", [content, style], small + ["--optimizer", "lbfgs", "--scales", "2"]),
        ("meancov", [content, style], small + ["--style-loss", "meancov", "--tv-weight", "1"]),
        ("masks+blend", [content, style, second], small + [MASKS_NEEDED, "--style-blend", "0.7,0.3"]),
        ("d2l", [content, style], ["--preset", "d2l", "--size", "128", "--iterations", "5,5"]),
        ("gatys", [content, style], ["--preset", "gatys", "--size", "128", "--iterations", "8"]),
        ("jcjohnson", [content, style], ["--preset", "jcjohnson", "--size", "128", "--iterations", "8"]),
    ]
    return runs


def half_masks(content: str, folder: Path) -> list[str]:
    """Left and right halves of the content image, as two style masks."""
    width, height = Image.open(content).size
    paths = []
    for index, box in enumerate([(0, 0, width // 2, height), (width // 2, 0, width, height)]):
        mask = Image.new("L", (width, height), 0)
        mask.paste(255, box)
        paths.append(str(folder / f"mask{index}.png"))
        mask.save(paths[-1])
    return paths


def pixel_digest(path: Path) -> str:
    image = Image.open(path)
    return hashlib.sha256(f"{image.mode}{image.size}".encode() + image.tobytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="table to write (Markdown)")
    parser.add_argument("--check", type=Path, help="an earlier table: fail if any digest differs")
    parser.add_argument("--only-small", action="store_true", help="skip the 512 px runs")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, images, options in configurations():
            if args.only_small and ("default" in name or "draft" in name):
                continue
            if MASKS_NEEDED in options:
                masks = half_masks(images[0], Path(folder))
                options = [item for item in options if item != MASKS_NEEDED]
                options += [part for mask in masks for part in ("--style-mask", mask)]
            output = Path(folder) / "out.png"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "impasto", *images, "-o", str(output), "-q", "--seed", SEED,
                            *options], check=True)
            rows.append((name, pixel_digest(output), time.perf_counter() - start))
            print(f"{name}: {rows[-1][1][:16]} ({rows[-1][2]:.1f} s)", flush=True)
    table = ["| configuration | SHA-256 of the pixels | seconds |", "|---|---|---|"]
    table += [f"| {name} | `{digest}` | {seconds:.1f} |" for name, digest, seconds in rows]
    args.out.write_text("\n".join(table) + "\n")
    if args.check is None:
        return 0
    before = {}
    for line in args.check.read_text().splitlines()[2:]:
        cells = [cell.strip(" `") for cell in line.strip("|").split("|")]
        before[cells[0]] = cells[1]
    differ = [name for name, digest, _ in rows if name in before and before[name] != digest]
    missing = [name for name, _, _ in rows if name not in before]
    for name in differ:
        print(f"DIFFERENT: {name}")
    print(f"{len(rows) - len(differ) - len(missing)} identical, {len(differ)} different, {len(missing)} not in "
          f"{args.check}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
