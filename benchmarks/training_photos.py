"""The photos the bundled models were trained on: photos that ship inside installed packages (scikit-image's
and Matplotlib's sample data) and the oak picture of ../shared/images (a panel style, never a panel photo),
so that every panel photo is one the models never saw.

    pip install scikit-image          # its wheel carries sample photos in skimage/data
    python benchmarks/training_photos.py --out training_photos

Then, for the bundled candy model (benchmarks/RESULTS.md, "Instant styles" and "Steady video", has the times
and the scores): 1600 steps, then 600 with the motion-stability term, begun from the first with a fresh
optimizer (--preview-every 0 keeps every photo in training, as the first run's --preview did):

    impasto train ../shared/images/candy.jpg --photos training_photos -o candy-1600.pt --steps 1600 --seed 0 \\
        --crop 192 --style-size 384 --preview ../shared/images/chelsea.png
    impasto train ../shared/images/candy.jpg --photos training_photos -o candy.pt --start-from candy-1600.pt \\
        --steps 1900 --stability-weight 1000 --preview-every 0
    impasto train ../shared/images/candy.jpg --photos training_photos -o candy.pt --resume --steps 2200 \\
        --preview-every 0

Then (2026-12-01, bfloat16 steps with --precision auto on a CPU that has them; RESULTS.md, "Candy, further"),
as run: a training from the bundled model stopped after its checkpoint at step 4800 (the learning rate is
constant, so --steps 4800 ends there too), 500 steps at a tenth of the learning rate, 1500 holding the photo by
relu4_2 alone (the first 500 by Python's impasto.train with the same settings, then resumed), 300 steady:

    impasto train ../shared/images/candy.jpg --photos training_photos -o candy-4800.pt --start-from candy \\
        --steps 4800 --seed 0 --crop 192 --style-size 384 --preview-every 0 --precision auto
    impasto train ../shared/images/candy.jpg --photos training_photos -o candy-5300.pt --start-from candy-4800.pt \\
        --steps 5300 --lr 1e-4 --seed 1 --crop 192 --style-size 384 --preview-every 0 --precision auto
    impasto train ../shared/images/candy.jpg --photos training_photos -o candy-6800.pt --start-from candy-5300.pt \\
        --steps 5800 --lr 5e-4 --content-layers relu4_2 --seed 2 --crop 192 --style-size 384 --preview-every 0 \\
        --precision auto
    impasto train ../shared/images/candy.jpg --photos training_photos -o candy-6800.pt --resume --steps 6800 \\
        --lr 5e-4 --content-layers relu4_2 --seed 2 --crop 192 --style-size 384 --preview-every 0 --precision auto
    impasto train ../shared/images/candy.jpg --photos training_photos -o candy.pt --start-from candy-6800.pt \\
        --steps 7100 --stability-weight 1000 --content-layers relu4_2 --lr 5e-4 --seed 3 --crop 192 \\
        --style-size 384 --preview-every 0 --precision auto --no-training-state

The bundled mosaic model the same way, the fine-tuning in one command (2026-12-01; the file shipped without
Adam's state, as ``save_model(..., keep_training_state=False)`` writes it):

    impasto train ../shared/images/mosaic.jpg --photos training_photos -o mosaic-1600.pt --steps 1600 --seed 0 \\
        --crop 192 --style-size 384 --preview ../shared/images/chelsea.png
    impasto train ../shared/images/mosaic.jpg --photos training_photos -o mosaic.pt --start-from mosaic-1600.pt \\
        --steps 2200 --stability-weight 1000 --preview-every 0

Then (2026-12-01, as for candy above, without the plain and low-rate steps; the first run was stopped at step
2964 by SIGTERM, which saves the model, and resumed with --resume):

    impasto train ../shared/images/mosaic.jpg --photos training_photos -o mosaic-3700.pt --start-from mosaic \\
        --steps 3700 --lr 5e-4 --content-layers relu4_2 --seed 2 --crop 192 --style-size 384 --preview-every 0 \\
        --precision auto
    impasto train ../shared/images/mosaic.jpg --photos training_photos -o mosaic.pt --start-from mosaic-3700.pt \\
        --steps 4000 --stability-weight 1000 --content-layers relu4_2 --lr 5e-4 --seed 3 --crop 192 \\
        --style-size 384 --preview-every 0 --precision auto --no-training-state

Both models then (2026-12-01, fifth session) took 1000 more steps on 256 px crops with the painting at 512 px,
the scale a 512 px still matches it at, from the files the commands above wrote (the motion-stability term at
1000 comes with --start-from; about 13 minutes each on a 2-core EPYC with bfloat16; the files shipped without
Adam's state, as above; mosaic-5000.pt is the bundled ``mosaic-steady.pt``):

    impasto train ../shared/images/mosaic.jpg --photos training_photos -o mosaic-5000.pt --start-from mosaic.pt \\
        --steps 5000 --content-layers relu4_2 --lr 5e-4 --seed 4 --crop 256 --style-size 512 --preview-every 0 \\
        --precision auto --checkpoint-every 250
    impasto train ../shared/images/candy.jpg --photos training_photos -o candy-8100.pt --start-from candy.pt \\
        --steps 8100 --content-layers relu4_2 --lr 5e-4 --seed 4 --crop 256 --style-size 512 --preview-every 0 \\
        --precision auto --checkpoint-every 250

Last (2026-12-01, seventh session; RESULTS.md, "More photos and the style at half size too"), on the wider set
(``apt-get install opencv-doc mate-backgrounds``, then ``--more``: 55 photos) with the style matched at half size
too, from the files the commands above wrote (about 1.05 s a step on a 2-core EPYC with bfloat16; the last
files re-saved without Adam's state, as above). SET stands for ``--photos training_photos --content-layers
relu4_2 --lr 5e-4 --crop 256 --style-size 512 --preview-every 0 --precision auto --checkpoint-every 250
--style-octaves 2``:

    python benchmarks/training_photos.py --out training_photos --more
    impasto train ../shared/images/candy.jpg -o c-9100.pt --start-from candy-8100.pt --steps 8600 --seed 9 SET
    impasto train ../shared/images/candy.jpg -o c-9100.pt --resume --steps 9100 --seed 9 SET
    impasto train ../shared/images/candy.jpg -o c-9600.pt --start-from c-9100.pt --steps 9600 --seed 10 \\
        --content-weight 1.5 SET
    impasto train ../shared/images/candy.jpg -o candy.pt --start-from c-9600.pt --steps 10100 --seed 12 \\
        --content-weight 2.0 SET

and then (2026-12-02, eighth session; RESULTS.md, "A mosaic for stills and a steady one for video") on 384 px
crops one at a time at half the learning rate, from the file the last command wrote (renamed candy-10100.pt
here), about 1.3 s a step; the result re-saved without Adam's state:

    impasto train ../shared/images/candy.jpg -o c-11100.pt --start-from candy-10100.pt --steps 10600 \\
        --seed 18 --content-weight 2.0 --lr 2.5e-4 --crop 384 --batch-size 1 --photos training_photos \\
        --content-layers relu4_2 --style-size 512 --preview-every 0 --precision auto --style-octaves 2
    impasto train ../shared/images/candy.jpg -o c-11100.pt --resume --steps 11100 --seed 18 \\
        --content-weight 2.0 --lr 2.5e-4 --crop 384 --batch-size 1 --photos training_photos \\
        --content-layers relu4_2 --style-size 512 --preview-every 0 --precision auto --style-octaves 2

The mosaic model the same way (shipped on 2026-12-02 as ``mosaic.pt``: stills within every quality target,
2.32x the flicker of ``impasto video`` on the pan clip; the model before it ships as ``mosaic-steady.pt``
for clips, 1.73x; RESULTS.md, "A mosaic for stills and a steady one for video"; re-saved without Adam's
state as above):

    impasto train ../shared/images/mosaic.jpg -o m-6000.pt --start-from mosaic-5000.pt --steps 5500 --seed 11 \\
        --content-weight 1.5 SET
    impasto train ../shared/images/mosaic.jpg -o m-6000.pt --resume --steps 6000 --seed 11 --content-weight 1.5 SET
    impasto train ../shared/images/mosaic.jpg -o m-6500.pt --start-from m-6000.pt --steps 6500 --seed 13 \\
        --content-weight 1.75 SET

The udnie model (2026-12-02, tenth session; RESULTS.md, "A new painting from a bundled model") was begun from the
bundled candy model, whose recorded settings come with --start-from (384 px crops one at a time, the style at
half size too, the motion-stability term at 1000, --precision auto). Its first 700 steps ran on one thread beside
another training (``OMP_NUM_THREADS=1``), the rest alone, stopped by SIGTERM after 30 minutes at step 13255 (as run:
--steps 20000; the learning rate is constant, so --steps 13255 ends at the same model) and re-saved without
Adam's state as above:

    impasto train ../shared/images/udnie.jpg --photos training_photos -o udnie.pt --start-from candy \\
        --steps 11800 --lr 1e-3 --seed 1 --content-layers relu3_1,relu4_2 --content-weight 2 --preview-every 0
    impasto train ../shared/images/udnie.jpg --photos training_photos -o udnie.pt --resume --steps 13255
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageOps

from panel import SHARED_IMAGES

SKIMAGE_PHOTOS = ("rocket.jpg", "motorcycle_left.png", "camera.png", "brick.png", "grass.png", "gravel.png",
                  "coins.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg", "clock_motion.png")
MATPLOTLIB_PHOTOS = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")
SHARED_PHOTOS = ("autumn_oak.jpg",)
# The wider set (--more): colour photos that ship inside Debian packages (apt-get install opencv-doc
# mate-backgrounds) and Gradio's wheel (impasto's web extra), none of them a panel photo. The synthetic and
# drawn images of those folders (logos, charts, noise, renders) are left out.
OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples")
OPENCV_PHOTOS = tuple(f"data/{name}" for name in (
    "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "board.jpg", "building.jpg",
    "butterfly.jpg", "chicky_512.png", "fruits.jpg", "graf1.png", "home.jpg", "leuvenA.jpg",
    "licenseplate_motion.jpg", "messi5.jpg", "orange.jpg", "rubberwhale1.png", "smarties.png",
    "squirrel_cls.jpg")) + ("alphamat/input_images/plant.jpg", "hfs/data/000.jpg") + tuple(
    f"text/scenetext0{number}.jpg" for number in range(1, 7))
MATE_NATURE = Path("/usr/share/backgrounds/mate/nature")
MATE_PHOTOS = ("Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg",
               "LadyBird.jpg", "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg")
GRADIO_PHOTOS = ("cheetah.jpg", "tower.jpg")
# The wallpapers are up to 5000 px wide; training crops come from photos scaled to about 512 px anyway.
LONG_SIDE_KEPT = 1600


def package_folder(name: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not installed (pip install {'scikit-image' if name == 'skimage' else name})")
    return Path(spec.origin).parent.joinpath(*parts)


def more_photos() -> list[tuple[Path, str]]:
    """The wider set's sources and the names they get in --out."""
    for folder, package in ((OPENCV_DOC, "opencv-doc"), (MATE_NATURE, "mate-backgrounds")):
        if not folder.is_dir():
            raise SystemExit(f"{folder} is missing: apt-get install {package}")
    pairs = [(OPENCV_DOC / name, "cv_" + name.replace("/", "_")) for name in OPENCV_PHOTOS]
    pairs += [(MATE_NATURE / name, f"mate_{name}") for name in MATE_PHOTOS]
    pairs += [(package_folder("gradio", "media_assets", "images", name), f"gradio_{name}")
              for name in GRADIO_PHOTOS]
    return pairs


def copy_scaled(source: Path, target: Path) -> None:
    with Image.open(source) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((LONG_SIDE_KEPT, LONG_SIDE_KEPT), Image.Resampling.LANCZOS)
        image.save(target.with_suffix(".png"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("training_photos"))
    parser.add_argument("--more", action="store_true",
                        help="add the wider set: 41 colour photos from opencv-doc, mate-backgrounds and Gradio")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sources = [package_folder("skimage", "data", name) for name in SKIMAGE_PHOTOS]
    sources += [package_folder("matplotlib", "mpl-data", "sample_data", name) for name in MATPLOTLIB_PHOTOS]
    sources += [SHARED_IMAGES / name for name in SHARED_PHOTOS]
    for source in sources:
        prefix = "sk_" if "skimage" in source.parts else ""
        shutil.copyfile(source, args.out / f"{prefix}{source.name}")
    more = more_photos() if args.more else []
    for source, name in more:
        copy_scaled(source, args.out / name)
    print(f"{len(sources) + len(more)} photos in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
