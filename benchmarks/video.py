"""Video: flicker and speed of `impasto video`, against painting every frame as a still.

    python benchmarks/video.py                 # both clips below, 16 frames each (about 25 minutes here)
    python benchmarks/video.py --frames 8 --clips pan
    python benchmarks/video.py --smoke         # tiny: checks that it runs

Clips, made or found here (nothing downloaded):
- ``pan``: the camera pans across Mount Rainier (../shared/images, or the bundled sample photo) and zooms in
  while a round patch of a painting crosses the frame the other way (impasto.imaging.samples.sample_clip), 512 px;
  its true flow is known, so the two optical flows OpenCV offers are measured against it first.
- ``earth``: the first frames of the rotating-Earth clip that Gradio (the web extra) ships, at its 480 px.

For each clip three ways of painting it with the default recipe and the candy painting (``--painting`` another
one): ``temporal`` (the default of `impasto video`), ``warm start only`` (temporal weight 0) and ``independent``
(every frame a still). Flicker is impasto.imaging.flow.temporal_difference: the mean absolute difference
(0..255) between each frame and the previous one warped along the input's flow, on reliable pixels; the input
clip's own value is the floor that motion leaves. Writes video.md, video.json and strip.png into --out.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from panel import SHARED_IMAGES

HERE = Path(__file__).resolve().parent
PAINTING = "candy.jpg"
VARIANTS = {"temporal": {}, "warm start only": {"temporal_weight": 0.0}, "independent": {"independent": True}}


def gradio_clip() -> Path | None:
    try:
        import gradio
    except ImportError:
        return None
    path = Path(gradio.__file__).parent / "media_assets" / "videos" / "world.mp4"
    return path if path.exists() else None


def flow_accuracy(frames, truth) -> dict:
    """Mean end-point error (px) against the true flow, and seconds per flow, for each method."""
    from impasto.imaging.flow import FLOW_METHODS, optical_flow

    result = {}
    for method in FLOW_METHODS:
        start = time.perf_counter()
        errors = [float(np.sqrt(((optical_flow(frames[t], frames[t - 1], method) - truth[t - 1]) ** 2).sum(-1)).mean())
                  for t in range(1, len(frames))]
        result[method] = {"epe": round(float(np.mean(errors)), 3),
                          "seconds": round((time.perf_counter() - start) / (len(frames) - 1), 4)}
    motion = float(np.mean([np.sqrt((flow ** 2).sum(-1)).mean() for flow in truth]))
    return {"methods": result, "mean_motion_px": round(motion, 2)}


def strip(rows: dict[str, list[Image.Image]], picks: list[int], path: Path, width: int = 320) -> None:
    """Chosen frames, one row per way of painting (and the input), labelled."""
    first = next(iter(rows.values()))[0]
    height = round(width * first.height / first.width)
    label = 120
    sheet = Image.new("RGB", (label + len(picks) * (width + 4), len(rows) * (height + 4) + 18), "white")
    draw = ImageDraw.Draw(sheet)
    for column, pick in enumerate(picks):
        draw.text((label + column * (width + 4) + 4, 3), f"frame {pick + 1}", fill="black")
    for row, (name, frames) in enumerate(rows.items()):
        y = 18 + row * (height + 4)
        draw.text((4, y + height // 2 - 6), name, fill="black")
        for column, pick in enumerate(picks):
            sheet.paste(frames[pick].resize((width, height), Image.Resampling.LANCZOS),
                        (label + column * (width + 4), y))
    sheet.save(path)


def main() -> int:
    from impasto.imaging.flow import temporal_difference
    from impasto.imaging.samples import sample_clip, sample_painting, sample_photo
    from impasto.apps.instant_video import paint_video_with_model
    from impasto.apps.video import stylize_video
    from impasto.imaging.video_io import open_clip, write_clip

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "video")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--painting", default=PAINTING, help=f"a painting of ../shared/images (default {PAINTING})")
    parser.add_argument("--clips", default="pan,earth")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which of " + ", ".join(VARIANTS))
    parser.add_argument("--model", dest="models", action="append", default=[], metavar="NAME=PATH",
                        help="also paint the clip with a trained model (impasto train) of the same painting")
    args = parser.parse_args()
    variants = {name: VARIANTS[name] for name in args.variants.split(",") if name}
    models = dict(item.split("=", 1) for item in args.models)
    args.out.mkdir(parents=True, exist_ok=True)
    shared = SHARED_IMAGES.exists() and not args.smoke
    painting = SHARED_IMAGES / args.painting if shared else args.out / "painting.png"
    if not shared:
        sample_painting().save(painting)
    frames_wanted = 3 if args.smoke else args.frames
    size = 128 if args.smoke else 512
    options = dict(seed=1, **({"scales": 2, "iterations": [8, 4], "frame_iterations": 3} if args.smoke else {}))
    results: dict = {}
    rows_for_strip = None
    for clip_name in args.clips.split(","):
        if clip_name == "pan":
            photo = Image.open(SHARED_IMAGES / "rainier.jpg").convert("RGB") if shared else sample_photo()
            frames, truth = sample_clip(photo, frames=frames_wanted, size=(size, size * 9 // 16 // 2 * 2),
                                        pan=0.2, zoom=1.15)
            source = write_clip(args.out / "pan-input", frames, Fraction(24))
            clip_size = size
            results["pan"] = {"flow": flow_accuracy(frames, truth)}
        elif clip_name == "earth":
            path = gradio_clip()
            if path is None:
                print("earth: Gradio's clip is not installed; skipped", file=sys.stderr)
                continue
            clip = open_clip(path)
            frames = [frame for _, frame in zip(range(frames_wanted), clip.read())]
            source = write_clip(args.out / "earth-input", frames, clip.fps)
            clip_size = min(size, max(clip.size))
            results["earth"] = {}
        else:
            parser.error(f"unknown clip {clip_name!r}: pan or earth")
        painted_rows = {"input": frames}
        entry = results[clip_name]
        entry["frames"], entry["size"] = len(frames), clip_size
        entry["input_flicker"] = round(temporal_difference(frames, frames), 3)
        for variant, extra in [*variants.items(), *((f"model {name}", path) for name, path in models.items())]:
            output = args.out / f"{clip_name}-{variant.replace(' ', '-')}"
            print(f"{clip_name}: {variant}", flush=True)
            if variant.startswith("model "):
                result = paint_video_with_model(source, extra, output, size=clip_size, device="cpu")
            else:
                result = stylize_video(source, painting, output, size=clip_size, **options, **extra)
            painted = list(open_clip(output).read())
            painted_rows[variant] = painted
            seconds = result.seconds_per_frame
            entry[variant] = {"flicker": round(temporal_difference(painted, frames), 3),
                              "first_frame_s": round(seconds[0], 2),
                              "later_frames_s": round(float(np.mean(seconds[1:])), 2)}
            (args.out / "video.json").write_text(json.dumps(results, indent=1))
        if rows_for_strip is None:
            rows_for_strip = (clip_name, {name: painted_rows[name] for name in ("input", "independent", "temporal")
                                          if name in painted_rows})
    if rows_for_strip is not None:
        count = len(rows_for_strip[1]["input"])
        strip(rows_for_strip[1], sorted({0, count // 2, count - 1}), args.out / "strip.png")
    write_table(results, args.out / "video.md")
    print((args.out / "video.md").read_text())
    return 0


def write_table(results: dict, path: Path) -> None:
    lines = ["| clip | frames | way | flicker (0-255) | vs independent | s first frame | s per later frame | "
             "later / first |", "|---|---|---|---|---|---|---|---|"]
    for clip_name, entry in results.items():
        independent = entry.get("independent", {}).get("flicker")
        lines.append(f"| {clip_name} | {entry['frames']} @ {entry['size']} px | input clip | "
                     f"{entry['input_flicker']:.2f} | | | | |")
        for variant in [*VARIANTS, *(name for name in entry if name.startswith("model "))]:
            if variant not in entry:
                continue
            row = entry[variant]
            ratio = f"{independent / row['flicker']:.1f}x lower" if independent and variant != "independent" else ""
            lines.append(f"| {clip_name} | | {variant} | {row['flicker']:.2f} | {ratio} | {row['first_frame_s']:.1f} | "
                         f"{row['later_frames_s']:.2f} | {row['later_frames_s'] / row['first_frame_s']:.2f} |")
    flows = {name: entry["flow"] for name, entry in results.items() if "flow" in entry}
    for name, flow in flows.items():
        lines += ["", f"Optical flow on the {name} clip against its true flow (mean motion "
                      f"{flow['mean_motion_px']} px per frame):", "", "| method | end-point error px | s per flow |",
                  "|---|---|---|"]
        lines += [f"| {method} | {values['epe']:.2f} | {values['seconds']:.3f} |"
                  for method, values in flow["methods"].items()]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
