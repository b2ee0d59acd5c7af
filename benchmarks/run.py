"""Side-by-side benchmark: impasto's default against the D2L recipe and pastiche, same pair, same machine, one run.

    python benchmarks/run.py                 # full table (about 15 minutes on 2 cores)
    python benchmarks/run.py --smoke         # tiny sizes and step counts: checks that the benchmark runs
    python benchmarks/run.py --full-peers    # also run pastiche's 1000 steps and D2L's 800 epochs for real

Every entry is a separate process, timed whole (start-up and weight loading included), its peak memory read
from the kernel's rusage of that child. Peers whose full run takes too long are timed on a fraction of their
iterations and extrapolated linearly from per-iteration timings measured in the same run; the table says so.
Quality is impasto's yardstick (``impasto.reports.quality``), the same VGG for every tool: relative Gram distance to
the style at 256 and 512 px, relative relu4_2 distance to the content; lower is better.

Writes results.md (table), results.json and contact_sheet.png into --out (default benchmarks/results).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_IMAGES = HERE.parent.parent / "shared" / "images"


@dataclass
class Entry:
    name: str
    command: list[str]
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    extrapolated_wall_s: float | None = None
    note: str = ""
    per_iteration_s: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)
    image: str | None = None


def timed(command: list[str], log: Path) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak RSS in MB) of that process alone."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed; see {log}")
    return wall, usage.ru_maxrss / 1024.0


def impasto_command(content: Path, style: Path, output: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "impasto", str(content), str(style), "-o", str(output), "-q",
            "--history", str(output.with_suffix(".csv")), *options]


def per_stage_seconds(history_csv: Path) -> dict[str, float]:
    """Median seconds per iteration at each scale, from the run's own history (stage set-up excluded)."""
    rows = list(csv.DictReader(history_csv.open()))
    stages: dict[str, list[float]] = {}
    for previous, row in zip(rows, rows[1:]):
        if row["stage"] == previous["stage"]:
            key = f"{row['width']}x{row['height']}"
            stages.setdefault(key, []).append(float(row["elapsed"]) - float(previous["elapsed"]))
    return {key: round(statistics.median(values), 4) for key, values in stages.items()}


def pastiche_command(content: Path, style: Path, output: Path, steps: int, size: int | None) -> list[str]:
    command = [sys.executable, "-m", "pastiche", "--content", str(content), "--styles", str(style),
               "--output", str(output), "--num-steps", str(steps), "--info-step", "1", "--seed", "0"]
    return command + (["--size", str(size)] if size else [])


def pastiche_step_seconds(log: Path) -> tuple[float, float]:
    """(seconds before the first step, seconds per step) from pastiche's own elapsed column.

    pastiche prints elapsed time to 0.1 s: on a fast machine and a tiny image several steps share one
    printed value, so a per-step median can be 0. The mean over the steps after the first is used, and a
    span that rounds to zero counts as half the printed resolution, so the result is never 0.
    """
    elapsed = [float(m.group(2)) for m in re.finditer(r"^(\d+)\s+([\d.]+)\s+[\d.]+$", log.read_text(), re.M)]
    if len(elapsed) < 2:
        raise SystemExit(f"pastiche printed fewer than two steps in {log}")
    later = elapsed[1:] if len(elapsed) > 2 else elapsed
    span = max(later[-1] - later[0], 0.05)
    return elapsed[0], span / (len(later) - 1)


def floor_seconds(size: int, content: Path | None, repeats: int) -> float:
    """A bare VGG forward + input-gradient backward at the default's final size and layers: the floor.

    With ``content`` None the input is size x size: the VGG pass that benchmarks state times in.
    """
    code = f"""
import time, torch
from impasto.net.features import VGGFeatures
from impasto.imaging.images import fit_long_side, load_image
from impasto.config.options import resolve_options
from impasto.net.weights import load_weights
options = resolve_options()
layers = [n for n, _ in options.content_layers + options.style_layers]
net = VGGFeatures(load_weights(), layers)
shape = ({size}, {size}) if {content is None} else fit_long_side(*load_image({str(content)!r}).size, {size})
x = torch.rand(1, 3, *shape, requires_grad=True)
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    features = net(x)
    sum(f.square().mean() for f in features.values()).backward()
    times.append(time.perf_counter() - start)
print(min(times[1:]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def stack_rows(rows: list, path: Path) -> None:
    """Labelled rows (``impasto.reports.sheets.labelled_row``) one under the other, saved as a JPEG."""
    from PIL import Image

    sheet = Image.new("RGB", (max(row.width for row in rows), sum(row.height for row in rows)), "white")
    top = 0
    for row in rows:
        sheet.paste(row, (0, top))
        top += row.height
    sheet.save(path, quality=88)


def contact_sheet(entries: list[Entry], content: Path, style: Path, path: Path, columns: int = 3) -> None:
    """Every result beside the inputs, three labelled panels to a row."""
    from PIL import Image

    from impasto.reports.sheets import labelled_row

    panels = [("content", Image.open(content)), ("style", Image.open(style))]
    panels += [(entry.name, Image.open(entry.image)) for entry in entries if entry.image and Path(entry.image).exists()]
    rows = [labelled_row(panels[i:i + columns], height=300) for i in range(0, len(panels), columns)]
    sheet = Image.new("RGB", (max(row.width for row in rows), sum(row.height for row in rows)), "white")
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height
    sheet.save(path)


def markdown(entries: list[Entry], facts: dict, size: int) -> str:
    small, large = f"style_{size // 2}", f"style_{size}"
    lines = [
        f"| run | wall s | extrapolated full run s | peak RSS MB | s/iteration by scale | style@{size // 2} | "
        f"style@{size} | content | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        q = e.quality
        per = ", ".join(f"{k}: {v}" for k, v in e.per_iteration_s.items())
        extrapolated = f"{e.extrapolated_wall_s:.0f}" if e.extrapolated_wall_s else ""
        wall, rss = (f"{e.wall_s:.1f}", f"{e.peak_rss_mb:.0f}") if e.command else ("", "")
        lines.append(f"| {e.name} | {wall} | {extrapolated} | {rss} | {per} | "
                     f"{q.get(small, float('nan')):.4f} | {q.get(large, float('nan')):.4f} | "
                     f"{q.get('content', float('nan')):.4f} | {e.note} |")
    lines.append("")
    for key, value in facts.items():
        lines.append(f"- {key}: {value}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, help="default: ../shared/images/rainier.jpg, else the demo photo")
    parser.add_argument("--style", type=Path, help="default: ../shared/images/autumn_oak.jpg, else the demo painting")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and few steps: does the benchmark run?")
    parser.add_argument("--full-peers", action="store_true", help="run pastiche (1000 steps) and D2L fully")
    parser.add_argument("--skip-2048", action="store_true", help="leave out the 2048 px run")
    parser.add_argument("--score", action="append", default=[], metavar="NAME=IMAGE",
                        help="also score an image made elsewhere, e.g. a full 1000-step pastiche result")
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    content, style = args.content, args.style
    if content is None or style is None:
        if (SHARED_IMAGES / "rainier.jpg").exists():
            content, style = SHARED_IMAGES / "rainier.jpg", SHARED_IMAGES / "autumn_oak.jpg"
        else:
            from impasto.imaging.samples import sample_painting, sample_photo

            content, style = out / "sample_photo.png", out / "sample_painting.png"
            sample_photo().save(content)
            sample_painting().save(style)

    size = 96 if args.smoke else 512
    small = ["--size", str(size)] + (["--iterations", "6,4,2,1"] if args.smoke else [])
    entries: list[Entry] = []
    facts: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                   "content": str(content), "style": str(style), "date": time.strftime("%Y-%m-%d %H:%M")}

    # 1. impasto's default.
    default = Entry("impasto default", impasto_command(content, style, out / "impasto_default.png", *small))
    default.wall_s, default.peak_rss_mb = timed(default.command, out / "impasto_default.log")
    default.per_iteration_s = per_stage_seconds(out / "impasto_default.csv")
    default.image = str(out / "impasto_default.png")
    entries.append(default)

    # 2. The D2L recipe (seed 000) as impasto's preset: 500 epochs at 150x225, 300 at 600x900.
    d2l_full = [500, 300]
    d2l_iterations = d2l_full if args.full_peers else ([3, 2] if args.smoke else [20, 4])
    d2l_options = ["--preset", "d2l", "--iterations", ",".join(map(str, d2l_iterations)), "--log-every", "1"]
    if args.smoke:
        d2l_options += ["--size", "96"]
    d2l = Entry("D2L recipe (impasto --preset d2l)", impasto_command(content, style, out / "d2l.png", *d2l_options))
    d2l.wall_s, d2l.peak_rss_mb = timed(d2l.command, out / "d2l.log")
    d2l.per_iteration_s = per_stage_seconds(out / "d2l.csv")
    d2l.image = str(out / "d2l.png")
    if not args.full_peers:
        per = list(d2l.per_iteration_s.values())
        measured = sum(n * t for n, t in zip(d2l_iterations, per))
        d2l.extrapolated_wall_s = d2l.wall_s - measured + sum(n * t for n, t in zip(d2l_full, per))
        d2l.note = f"ran {d2l_iterations} of {d2l_full} epochs; full time extrapolated; quality of the partial run"
    entries.append(d2l)

    # 3. pastiche with its defaults (L-BFGS, 1000 steps, 500x500 pixels).
    pastiche_size = 96 if args.smoke else None
    full_steps = 1000
    steps = full_steps if args.full_peers else (3 if args.smoke else 12)
    peer = Entry("pastiche defaults",
                 pastiche_command(content, style, out / "pastiche_default.png", steps, pastiche_size))
    peer.wall_s, peer.peak_rss_mb = timed(peer.command, out / "pastiche_default.log")
    start_up, per_step = pastiche_step_seconds(out / "pastiche_default.log")
    peer.per_iteration_s = {"default size": round(per_step, 4)}
    peer.image = str(out / "pastiche_default.png")
    if not args.full_peers:
        peer.extrapolated_wall_s = peer.wall_s + (full_steps - steps) * per_step
        peer.note = f"ran {steps} of {full_steps} steps; full time extrapolated; quality of the partial run"
    entries.append(peer)

    # 4. pastiche with as many steps as fit in impasto's wall time.
    matched_steps = max(1, int((default.wall_s - (peer.wall_s - steps * per_step)) / per_step))
    matched = Entry("pastiche, impasto's time budget",
                    pastiche_command(content, style, out / "pastiche_matched.png", matched_steps, pastiche_size))
    matched.wall_s, matched.peak_rss_mb = timed(matched.command, out / "pastiche_matched.log")
    matched.image = str(out / "pastiche_matched.png")
    matched.note = f"{matched_steps} steps"
    entries.append(matched)

    # 5. Large output: 2048 px with the default schedule.
    if not args.smoke and not args.skip_2048:
        large = Entry("impasto default --size 2048",
                      impasto_command(content, style, out / "impasto_2048.png", "--size", "2048"))
        large.wall_s, large.peak_rss_mb = timed(large.command, out / "impasto_2048.log")
        large.per_iteration_s = per_stage_seconds(out / "impasto_2048.csv")
        entries.append(large)

    # Results made outside this run (e.g. an earlier full peer run), scored only.
    for item in args.score:
        name, _, image = item.partition("=")
        entries.append(Entry(name, [], image=image, note="made outside this run; scored only"))

    # Quality: the same judge for every image.
    from impasto.reports.quality import QualityJudge

    judge = QualityJudge(content, [style])
    for entry in entries:
        if entry.image and Path(entry.image).exists():
            entry.quality = {k: round(v, 4) for k, v in judge.score(entry.image, (size // 2, size)).items()}

    # The floor: bare network forward + backward at the default's final size.
    final_scale = list(default.per_iteration_s)[-1]
    floor = floor_seconds(size, content, repeats=3 if args.smoke else 6)
    facts["bare VGG forward+backward at the final scale (s)"] = round(floor, 4)
    facts["impasto s/iteration at the final scale / floor"] = round(default.per_iteration_s[final_scale] / floor, 3)
    for peer_entry in (d2l, peer):
        full_time = peer_entry.extrapolated_wall_s or peer_entry.wall_s
        facts[f"speed-up over {peer_entry.name}"] = f"{full_time / default.wall_s:.1f}x"
    facts["GPU"] = "none on this machine; not measured"

    (out / "results.json").write_text(json.dumps({"entries": [asdict(e) for e in entries], "facts": facts}, indent=1))
    (out / "results.md").write_text(markdown(entries, facts, size))
    contact_sheet(entries, content, style, out / "contact_sheet.png")
    print(markdown(entries, facts, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
