"""The README's pictures of the artistic controls, made with the Python API on one shared network.

    python benchmarks/controls.py            # 512 px, default quality (about 10 runs of 30-60 s)
    python benchmarks/controls.py --smoke    # tiny, to check it runs (bundled samples if ../shared is absent)

Writes into docs/ (or --out): controls_colors.jpg (no preservation | luminance | histogram),
controls_stroke.jpg (style_scale 0.5 | 1 | 2), controls_masks.jpg (two paintings, one per region, with the
masks), timelapse.gif (a draft run at 256 px), and controls.md with each run's wall time.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from panel import SHARED_IMAGES

HERE = Path(__file__).resolve().parent


def sky_and_land_masks(content: Image.Image, horizon: float = 0.42) -> tuple[Image.Image, Image.Image]:
    """A soft-edged sky mask (top of the picture) and its complement."""
    width, height = content.size
    sky = Image.new("L", (width, height), 0)
    ImageDraw.Draw(sky).rectangle([0, 0, width, int(height * horizon)], fill=255)
    sky = sky.filter(ImageFilter.GaussianBlur(height * 0.02))
    return sky, ImageOps.invert(sky)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    import impasto
    from impasto.reports.sheets import labelled_row

    args.out.mkdir(parents=True, exist_ok=True)
    if args.smoke or not (SHARED_IMAGES / "rainier.jpg").exists():
        from impasto.imaging.samples import sample_painting, sample_photo

        photo, painting = sample_photo(), sample_painting()
        images = {name: photo for name in ("rainier", "chelsea")}
        images.update({name: painting for name in ("candy", "mosaic", "udnie")})
    else:
        images = {name: Image.open(SHARED_IMAGES / file).convert("RGB") for name, file in
                  (("rainier", "rainier.jpg"), ("chelsea", "chelsea.png"), ("candy", "candy.jpg"),
                   ("mosaic", "mosaic.jpg"), ("udnie", "udnie.jpg"))}
    common = dict(seed=0) if not args.smoke else dict(seed=0, size=64, min_size=32, scales=2, iterations=3)
    network = impasto.load_network()
    timings: list[tuple[str, float]] = []

    def paint(label: str, content, styles, **options) -> Image.Image:
        start = time.perf_counter()
        image = impasto.stylize(content, styles, network=network, **{**common, **options})
        timings.append((label, time.perf_counter() - start))
        print(f"{label}: {timings[-1][1]:.1f} s", flush=True)
        return image

    height = 110 if args.smoke else 240
    rainier, candy = images["rainier"], images["candy"]
    colours = [("photo", rainier), ("painting", candy),
               ("style colours (default)", paint("colours: none", rainier, candy)),
               ("preserve_colors=luminance", paint("colours: luminance", rainier, candy, preserve_colors="luminance")),
               ("preserve_colors=histogram", paint("colours: histogram", rainier, candy, preserve_colors="histogram"))]
    labelled_row(colours, height).save(args.out / "controls_colors.jpg", quality=88)

    chelsea, mosaic = images["chelsea"], images["mosaic"]
    strokes = [("painting", mosaic)] + [(f"style_scale={scale}", paint(f"stroke: style_scale {scale}", chelsea,
                                                                         mosaic, style_scale=scale))
                                        for scale in (0.5, 1.0, 2.0)]
    labelled_row(strokes, height).save(args.out / "controls_stroke.jpg", quality=88)

    sky, land = sky_and_land_masks(rainier)
    udnie = images["udnie"]
    masked = paint("masks: udnie sky, mosaic land", rainier, [udnie, mosaic], style_masks=[sky, land])
    labelled_row([("sky: udnie", udnie), ("sky mask", sky), ("land: mosaic", mosaic), ("land mask", land),
                  ("result", masked)], height).save(args.out / "controls_masks.jpg", quality=88)

    movie = dict(quality="draft", size=256) if not args.smoke else {}
    paint("timelapse (draft, 256 px)", chelsea, mosaic, timelapse=args.out / "timelapse.gif", **movie)

    table = ["| run | wall s |", "|---|---|"] + [f"| {label} | {seconds:.1f} |" for label, seconds in timings]
    (args.out / "controls.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
