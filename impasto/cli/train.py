"""``impasto train``: the command line over ``impasto.train``, with a progress bar (ETA and the loss terms).

Flags are named after ``TrainingOptions`` fields and take their defaults and ranges from there
(``impasto.config.training``, ``impasto.config.limits``); unset flags leave the defaults (or, with
``--resume``, the values the model was trained with).
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

from ..config.choices import DEVICES, PRECISIONS, STABILITY_KINDS
from ..config.presets import PRESETS
from ..config.training import TrainingOptions
from . import interrupts
from .common import (OneLineParser, finite_number, int_in_range, number_list, one_line_warnings,
                     run_to_the_end)

if TYPE_CHECKING:
    from ..engine.training import TrainingProgress

_DEFAULTS = {field.name: field.default for field in fields(TrainingOptions)}

# Each training option's flag and help; the default is read from TrainingOptions.
_HELP = {
    "steps": "training steps in all (a resumed model counts the steps it has)",
    "batch_size": "photos per step",
    "crop": "training crops are NxN px, from photos at about twice that size",
    "style_size": "the paintings' long side in px: the image size the model paints best",
    "lr": "Adam's learning rate",
    "model_width": "channels of the network's first layer (Johnson et al.: 32; cost grows with its square)",
    "model_blocks": "residual blocks of the network",
    "content_weight": "content weight (default: the preset's)",
    "style_weight": "style weight (default: the preset's)",
    "tv_weight": "total-variation weight (default: the preset's)",
    "style_octaves": "2: match the style on each crop at half size too, against the painting at half "
                     "--style-size (the still's default does at its last scale): larger strokes",
    "stability_weight": "hold the painting of a photo and of the same photo slightly changed (--stability) "
                        "together, against flicker in video",
    "checkpoint_every": "write the model file every N steps (0: only at the end)",
    "preview_every": "paint the preview photo every N steps (0: never)",
    "seed": "random seed (crops, initial weights)",
}


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="impasto train",
        description="Train a network that paints any photo in the style of a painting in one pass (Johnson et "
                    "al. 2016), with the same losses as a still; then: impasto PHOTO --model NAME.pt -o out.png")
    parser.add_argument("paintings", nargs="+", metavar="PAINTING", help="one or more paintings (several blend)")
    parser.add_argument("--photos", nargs="+", required=True, metavar="SOURCE",
                        help="training photos: folders, glob patterns, image files or video clips")
    parser.add_argument("-o", "--output", required=True, metavar="NAME.pt", help="the model file")
    parser.add_argument("--resume", action="store_true", help="continue training the model in --output")
    parser.add_argument("--start-from", metavar="MODEL",
                        help="begin from a trained model's network (a .pt file or a bundled name such as candy) "
                             "with a fresh optimizer: fine-tune it (e.g. --stability-weight for video) or reach "
                             "another painting sooner; --steps counts its steps too")
    parser.add_argument("--onnx", metavar="NAME.onnx", help="also export the trained model as ONNX")
    parser.add_argument("--preview", metavar="PHOTO",
                        help="the photo painted every --preview-every steps (default: one photo of the set, "
                             "held out of training)")
    parser.add_argument("--previews", metavar="FOLDER", help="where previews go (default: NAME.previews)")
    parser.add_argument("--no-training-state", action="store_true",
                        help="leave Adam's state out of the file (a third of the size; it cannot be resumed)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    group = parser.add_argument_group("training")
    for name, help_text in _HELP.items():
        default = _DEFAULTS[name]
        shown = f" (default {default})" if default is not None and "default:" not in help_text else ""
        kind = int_in_range(name) if isinstance(default, int) or name == "seed" else finite_number(name)
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, help=help_text + shown)
    group.add_argument("--content-layers", dest="content_layers", metavar="LAYERS",
                       help="the layers that hold the photo, e.g. relu4_2 or relu3_1,relu4_2 (default "
                            "relu3_1,relu4_2: from scratch a network needs relu3_1 to keep the photo; a trained "
                            "one fine-tuned on relu4_2 alone paints more of the painting)")
    group.add_argument("--style-layers", dest="style_layers", metavar="LAYERS",
                       help="the style layers and their weights, e.g. relu1_1:4,relu2_1,relu3_1,relu4_1,relu5_1:0.2 "
                            "(default: the preset's; a heavier relu1_1 matches the painting's colours more closely)")
    group.add_argument("--style-blend", dest="style_blend", type=number_list,
                       help="weights of several paintings, e.g. 0.7,0.3")
    group.add_argument("--preset", choices=tuple(PRESETS), help=f"the still whose losses are trained on (default "
                                                                 f"{_DEFAULTS['preset']})")
    group.add_argument("--stability", choices=STABILITY_KINDS,
                       help=f"what --stability-weight holds steady: motion (a camera moving a few px and zooming "
                            f"slightly) or noise (Gupta et al. 2017) (default {_DEFAULTS['stability']})")
    group.add_argument("--device", choices=DEVICES, help="auto (default), cpu, cuda or mps")
    group.add_argument("--precision", choices=PRECISIONS,
                       help="the loss network's arithmetic: float32 (default), bfloat16, or auto (bfloat16 on a "
                            "CPU with it in hardware: 1.3-1.4x faster steps there)")
    return parser


class StepBar:
    """A tqdm bar over the training steps, with the loss terms."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None

    def __call__(self, progress: TrainingProgress) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=progress.steps, initial=progress.step - 1, unit="step", file=sys.stderr,
                            dynamic_ncols=True, disable=None)
        terms = " ".join(f"{name} {value:.3g}" for name, value in progress.terms.items())
        self.bar.set_postfix_str(terms, refresh=False)
        self.bar.update(progress.step - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``impasto train PAINTING... --photos SOURCE... -o NAME.pt [options]``."""
    args = build_parser().parse_args(argv)
    from ..api import train

    one_line_warnings("impasto train")
    options = {name: getattr(args, name)
               for name in (*_HELP, "style_blend", "content_layers", "style_layers", "preset", "stability", "device",
                            "precision")
               if getattr(args, name) is not None}
    bar = StepBar(args.quiet)
    reached = {"step": 0}

    def each(progress: TrainingProgress) -> None:
        interrupts.raise_if_lost()  # every step: a Ctrl-C that a library swallowed still ends the training
        reached["step"] = progress.step
        bar(progress)

    code, model = run_to_the_end(
        "impasto train", bar,
        lambda: train(args.paintings, args.photos, args.output, resume=args.resume, start_from=args.start_from,
                      preview=args.preview, previews=args.previews, onnx=args.onnx,
                      keep_training_state=not args.no_training_state, callback=each, **options),
        lambda stopped: (f"interrupted after step {reached['step']}; model saved to "
                         f"{', '.join(map(str, stopped.saved))} (continue with --resume)"),
        "training")
    if code == 0 and not args.quiet:
        print(f"impasto train: wrote {args.output} ({model.steps} steps)"
              + (f" and {args.onnx}" if args.onnx else ""), file=sys.stderr)
    return code
