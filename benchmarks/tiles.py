"""Big outputs: peak memory, time per megapixel and seams, whole against tiled.

    python benchmarks/tiles.py                          # every run below, in order (about an hour here)
    python benchmarks/tiles.py --runs whole-2048,tiled-2048
    python benchmarks/tiles.py --smoke                  # tiny sizes: checks that it runs

Each run is a whole ``impasto`` process on rainier x candy (or the bundled samples when ../shared/images is
missing) whose peak resident memory is read from the process itself (``getrusage``). The seam statistic of
an output is the mean step between neighbouring pixels on the boundaries where its last scale's tiles meet
(the start and the end of each overlap ramp, across and down), divided by the mean step over the whole image:
about 1 when nothing marks the borders. The untiled run is measured on the same boundaries as a baseline,
and a run with no overlap shows what a seam does to the number. Writes tiles.md, tiles.json and
border.png (a crop around a tile corner from each 2048 px run) into --out.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from panel import SHARED_IMAGES

HERE = Path(__file__).resolve().parent
PHOTO, PAINTING = "rainier.jpg", "candy.jpg"
# name: (size, extra arguments, what it shows)
RUNS = {
    "whole-2048": (2048, [], "untiled, the baseline"),
    "tiled-2048": (2048, ["--tile", "1024"], "1024 px tiles, 128 px overlap"),
    "no-overlap-2048": (2048, ["--tile", "1024", "--tile-overlap", "0"], "1024 px tiles butted together: a seam"),
    "auto-4096": (4096, [], "tiled because it does not fit whole"),
    "auto-8192-draft": (8192, ["--quality", "draft"], "tiled because it does not fit whole; draft quality"),
}
SMOKE_RUNS = {
    "whole-2048": (256, ["--iterations", "4,2,1,1"], "untiled"),
    "tiled-2048": (256, ["--iterations", "4,2,1,1", "--tile", "128"], "tiled"),
    "no-overlap-2048": (256, ["--iterations", "4,2,1,1", "--tile", "128", "--tile-overlap", "0"], "no overlap"),
}


def child(argv: list[str]) -> int:
    """Run impasto in this process, then write its wall time and peak memory next to the output."""
    from impasto.cli.main import main

    start = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    output = Path(argv[argv.index("-o") + 1])
    output.with_suffix(".run.json").write_text(json.dumps({"seconds": seconds, "peak_bytes": peak, "code": code}))
    return code


def final_boxes(output: Path, shape: tuple[int, int]):
    """The last scale's tiles of a run (from its PNG's metadata), or None for an untiled run."""
    from impasto.engine.tiles import Tiling

    metadata = json.loads(Image.open(output).info["impasto"])
    tiling = metadata.get("tiling")
    if not tiling:
        return None
    return Tiling(tiling["tile"], tiling["overlap"]).boxes(shape)


def seam_ratio(image: np.ndarray, boxes) -> dict[str, float]:
    """Mean neighbour step on the tile boundaries over the mean step everywhere, across and down."""
    columns = sorted({edge for box in boxes if box.left for edge in (box.left, box.left + box.ramp_left)})
    rows = sorted({edge for box in boxes if box.top for edge in (box.top, box.top + box.ramp_top)})
    result = {}
    for name, axis, edges in (("across", 1, columns), ("down", 0, rows)):
        if not edges:
            continue
        steps = np.abs(np.diff(image, axis=axis)).mean(axis=(1 - axis, 2))
        result[name] = float(steps[[edge - 1 for edge in edges]].mean() / steps.mean())
    return result


def border_sheet(outputs: dict[str, Path], boxes, path: Path, side: int = 192) -> None:
    """The same crop around a tile corner from each run, side by side, at twice the size."""
    corner = next(box for box in boxes if box.top and box.left)
    # The middle of the corner's overlap: where four tiles meet.
    y, x = corner.top + corner.ramp_top // 2, corner.left + corner.ramp_left // 2
    crops = []
    for name, output in outputs.items():
        image = Image.open(output).convert("RGB")
        crop = image.crop((x - side // 2, y - side // 2, x + side // 2, y + side // 2)).resize(
            (2 * side, 2 * side), Image.Resampling.NEAREST)
        crops.append((name, crop))
    sheet = Image.new("RGB", (len(crops) * (2 * side + 8), 2 * side + 22), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (name, crop) in enumerate(crops):
        sheet.paste(crop, (index * (2 * side + 8), 22))
        draw.text((index * (2 * side + 8) + 4, 5), name, fill="black")
    sheet.save(path)


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "tiles")
    parser.add_argument("--runs", help=f"comma-separated, from {', '.join(RUNS)}")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="only measure the outputs already in --out")
    args = parser.parse_args()
    table = SMOKE_RUNS if args.smoke else RUNS
    names = args.runs.split(",") if args.runs else list(table)
    unknown = [name for name in names if name not in table]
    if unknown:
        parser.error(f"unknown run(s) {', '.join(unknown)}: choose from {', '.join(table)}")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.smoke or not SHARED_IMAGES.exists():
        from impasto.imaging.samples import sample_painting, sample_photo

        photo, painting = args.out / "photo.png", args.out / "painting.png"
        sample_photo().save(photo)
        sample_painting().save(painting)
    else:
        photo, painting = SHARED_IMAGES / PHOTO, SHARED_IMAGES / PAINTING
    results_file = args.out / "tiles.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    for name in [] if args.report_only else names:
        size, extra, _ = table[name]
        output = args.out / f"{name}.png"
        output.unlink(missing_ok=True)
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(photo), str(painting), "-o",
                   str(output), "--size", str(size), "--seed", "1", "-q", *extra]
        print(f"{name}: {' '.join(command[3:])}", flush=True)
        completed = subprocess.run(command, cwd=HERE.parent)
        if completed.returncode:
            print(f"{name} failed with exit code {completed.returncode}", file=sys.stderr)
            return 1
        run = json.loads(output.with_suffix(".run.json").read_text())
        image = Image.open(output)
        metadata = json.loads(image.info["impasto"])
        results[name] = {"size": size, "args": extra, "width": image.width, "height": image.height,
                         "seconds": round(run["seconds"], 1), "peak_gb": round(run["peak_bytes"] / 1024**3, 2),
                         "tiling": metadata["tiling"], "stages": metadata["stages"]}
        results_file.write_text(json.dumps(results, indent=1))
    # Seams: every output measured on the tile boundaries of every tiled run of its size (the untiled run
    # on them is the baseline: what the picture itself has there).
    for name, result in results.items():
        shape = (result["height"], result["width"])
        image = np.asarray(Image.open(args.out / f"{name}.png").convert("RGB"), dtype=np.float32)
        result["seams"] = {other: seam_ratio(image, final_boxes(args.out / f"{other}.png", shape))
                           for other, layout in results.items()
                           if layout["size"] == result["size"] and layout["tiling"]
                           and (layout["height"], layout["width"]) == shape}
    results_file.write_text(json.dumps(results, indent=1))
    write_table(results, table, args.out / "tiles.md")
    trio = {name: args.out / f"{name}.png" for name in ("whole-2048", "tiled-2048", "no-overlap-2048")}
    if all(path.exists() for path in trio.values()):
        shape = (results["tiled-2048"]["height"], results["tiled-2048"]["width"])
        border_sheet(trio, final_boxes(trio["tiled-2048"], shape), args.out / "border.png",
                     side=64 if args.smoke else 192)
    print((args.out / "tiles.md").read_text())
    return 0


def write_table(results: dict, table: dict, path: Path) -> None:
    lines = ["| run | output | tiles per scale | peak memory GB | wall s | s per output MP |",
             "|---|---|---|---|---|---|"]
    for name, result in results.items():
        megapixels = result["width"] * result["height"] / 1e6
        tiling = result["tiling"]
        tiles = ", ".join(str(count) for count in tiling["tiles"]) if tiling else "whole"
        what = table.get(name, (0, [], ""))[2]
        lines.append(f"| {name} ({what}) | {result['width']}x{result['height']} | {tiles} | {result['peak_gb']:.2f} | "
                     f"{result['seconds']:.0f} | {result['seconds'] / megapixels:.1f} |")
    layouts = sorted({layout for result in results.values() for layout in result.get("seams", {})})
    if layouts:
        lines += ["", "Seam ratio (mean step across the tile borders / mean step everywhere; across, down) of each "
                      "output, on the borders of each tiled layout of its size:", "",
                  "| output | " + " | ".join(f"on {layout}'s borders" for layout in layouts) + " |",
                  "|---|" + "---|" * len(layouts)]
        for name, result in results.items():
            seams = result.get("seams", {})
            if not seams:
                continue
            cells = [" / ".join(f"{seams[layout][key]:.3f}" for key in ("across", "down") if key in seams[layout])
                     if layout in seams else "-" for layout in layouts]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
