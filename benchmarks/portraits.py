"""Faces that stay faces: default against --protect faces (and people) on portraits, at the same seed.

    python benchmarks/portraits.py                 # 512 px, default quality: 2 portraits x 3 paintings x 3
    python benchmarks/portraits.py --smoke         # tiny, to check it runs

The portraits ship in packages (never downloaded): scikit-image's astronaut (Eileen Collins, in
../shared/images) and Matplotlib's sample photo of Grace Hopper. For each pair and each --protect setting:

* face found: the face detector's confidence on the result (0: no face found any more);
* features moved: how far the detector's six key points (eyes, nose tip, mouth, ears) moved from where it
  found them on the photo, as a share of the face's width (a face that stays a face keeps them in place);
* face structure: 1 - the correlation of the face region's edges with the photo's (the structure measure of
  impasto.reports.quality on the face's box; lower is closer to the photo);
* face colour: the mean absolute RGB difference to the photo inside the face box, 0..255;
* rest style: the Gram distance to the painting (the yardstick of impasto.reports.quality at 512 px) of
  everything but the protected area (a guided Gram weighted by 1 - the mask), so that the painting of the
  background and clothes is compared, not the face's;
* seconds for the whole run, detection included.

Writes portraits.md (the table) and portraits.jpg (photo | painting | default | faces | people per row) into
--out (default docs/), and the results into --work.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from panel import SHARED_IMAGES

HERE = Path(__file__).resolve().parent
PAINTINGS = ("candy.jpg", "udnie.jpg", "wave.jpg")
SETTINGS = ("none", "faces", "people")


def portraits() -> dict[str, Path]:
    import matplotlib

    return {"astronaut": SHARED_IMAGES / "astronaut.png",
            "hopper": Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"}


def detect(image: Image.Image):
    """The most confident face MediaPipe's full-range detector finds, or None."""
    from mediapipe.python.solutions import face_detection

    with face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.2) as detector:
        found = detector.process(np.ascontiguousarray(np.asarray(image.convert("RGB")))).detections or []
    return max(found, key=lambda detection: detection.score[0], default=None)


def face_box(photo: Image.Image) -> tuple[int, int, int, int]:
    """The face's box in pixels (left, top, right, bottom), as the detector finds it."""
    found = detect(photo)
    if found is None:
        raise SystemExit("no face found in a portrait of the panel")
    box = found.location_data.relative_bounding_box
    return (round(box.xmin * photo.width), round(box.ymin * photo.height),
            round((box.xmin + box.width) * photo.width), round((box.ymin + box.height) * photo.height))


def key_points(detection) -> np.ndarray:
    return np.array([(point.x, point.y) for point in detection.location_data.relative_keypoints])


def face_kept(photo: Image.Image, result: Image.Image) -> tuple[float, float]:
    """(the detector's confidence on the result, how far its key points moved / the face's width)."""
    before, after = detect(photo), detect(result)
    if after is None:
        return 0.0, float("nan")
    width = before.location_data.relative_bounding_box.width
    moved = np.linalg.norm(key_points(before) - key_points(after), axis=1).mean() / width
    return float(after.score[0]), float(moved)


def face_scores(photo: Image.Image, result: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """(structure distance, mean colour difference) of the result's face box against the photo's."""
    from impasto.reports.quality import edge_map
    from impasto.imaging.images import image_to_tensor

    scale = result.width / photo.width
    photo_face = photo.crop(box).resize((128, 128), Image.Resampling.LANCZOS)
    result_face = result.crop(tuple(round(v * scale) for v in box)).resize((128, 128), Image.Resampling.LANCZOS)
    edges = torch.stack([edge_map(image_to_tensor(image)).flatten() for image in (photo_face, result_face)])
    colour = np.abs(np.asarray(photo_face, float) - np.asarray(result_face, float)).mean()
    return 1.0 - torch.corrcoef(edges)[0, 1].item(), float(colour)


@torch.no_grad()
def rest_style_distance(judge, result: Image.Image, rest: Image.Image, long_side: int = 512) -> float:
    """The yardstick's style distance of ``result`` outside the protected area (``rest``: white = counted)."""
    from impasto.imaging.images import fit_long_side, image_to_tensor
    from impasto.reports.quality import SCORE_STATISTIC, SCORE_STYLE_LAYERS

    shape = fit_long_side(result.width, result.height, long_side)
    features = judge.network(image_to_tensor(result, shape), SCORE_STYLE_LAYERS, "max")
    masks = judge.network.propagate_mask(image_to_tensor(rest.convert("RGB"), shape)[:, :1], SCORE_STYLE_LAYERS)
    targets = judge._style_targets(long_side)
    distances = [SCORE_STATISTIC.distance(features[layer], targets[layer], masks[layer]).sqrt().item()
                 for layer in SCORE_STYLE_LAYERS]
    return sum(distances) / len(distances)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs")
    parser.add_argument("--work", type=Path, default=Path("/tmp/portraits"))
    parser.add_argument("--paintings", default=",".join(PAINTINGS))
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--smoke", action="store_true", help="64 px, 2 iterations: checks that it runs")
    args = parser.parse_args()
    import impasto
    from PIL import ImageOps
    from impasto.imaging.images import load_image
    from impasto.imaging.people import protection_mask
    from impasto.reports.quality import QualityJudge
    from impasto.reports.sheets import labelled_row
    from run import stack_rows

    args.work.mkdir(parents=True, exist_ok=True)
    network = impasto.load_network()
    settings = args.settings.split(",")
    size = {"size": 96, "iterations": 2, "scales": 1} if args.smoke else {}
    lines = ["| photo | painting | --protect | face found | features moved | face structure | face colour "
             "| rest style | rest style vs none | seconds |", "|---|---|---|---|---|---|---|---|---|---|"]
    rows = []
    for photo_name, photo_path in portraits().items():
        photo = load_image(photo_path)
        box = face_box(photo)
        mask = protection_mask(photo, "people")  # the widest protected area: the rest is the same for all
        rest = ImageOps.invert(mask) if mask is not None else Image.new("L", photo.size, 255)
        for painting in args.paintings.split(","):
            style = SHARED_IMAGES / painting
            judge = QualityJudge(photo, [style], network=network)
            pictures, baseline = [load_image(photo_path), load_image(style)], None
            for protect in settings:
                output = args.work / f"{photo_name}__{Path(painting).stem}__{protect}.png"
                start = time.perf_counter()
                impasto.stylize(photo_path, style, output=output, network=network, seed=1, protect=protect, **size)
                seconds = time.perf_counter() - start
                result = load_image(output)
                structure, colour = face_scores(photo, result, box)
                confidence, moved = face_kept(photo, result.resize(photo.size, Image.Resampling.LANCZOS))
                rest_style = rest_style_distance(judge, result, rest)
                baseline = rest_style if protect == "none" else baseline
                ratio = f"{rest_style / baseline:.2f}" if baseline else "-"
                shift = f"{moved:.1%}" if confidence else "no face"
                lines.append(f"| {photo_name} | {Path(painting).stem} | {protect} | {confidence:.2f} | {shift} "
                             f"| {structure:.3f} | {colour:.1f} "
                             f"| {rest_style:.3f} | {ratio} | {seconds:.1f} |")
                print(lines[-1], flush=True)
                pictures.append(result)
            labels = ["photo", "painting", *[f"--protect {s}" for s in settings]]
            rows.append(labelled_row(list(zip(labels, pictures)), 256))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "portraits.md").write_text("\n".join(lines) + "\n")
    stack_rows(rows, args.out / "portraits.jpg")
    print(f"wrote {args.out / 'portraits.md'} and {args.out / 'portraits.jpg'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
