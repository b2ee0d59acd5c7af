"""The ``impasto`` command: argument parsing, a progress bar and error reporting around ``impasto.stylize``."""
from __future__ import annotations

import argparse
import contextlib
import math
import sys
import warnings
from dataclasses import fields
from typing import Optional, Sequence

from . import interrupts
from ..config.limits import FLOAT_RANGES, INT_RANGES, range_text
from ..config.presets import DEFAULT_PRESET, PRESETS, QUALITY_LEVELS

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _ranged(name: str):
    """An argparse type: an integer within the option's range (``limits.INT_RANGES``), checked at parse time."""
    low, high = INT_RANGES[name]

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {_shown(text)}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {range_text(name)}, got {_shown(text)}")
        return value

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def _ranged_list(name: str):
    """An integer or a comma-separated list of them, each within the option's range."""
    one = _ranged(name)

    def parse(text: str) -> int | list[int]:
        values = [one(part) for part in text.split(",")]
        return values[0] if len(values) == 1 else values

    parse.__name__ = name
    return parse


def _number(text: str) -> float:
    """An argparse type: a finite number >= 0 (weights, rates, exponents)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {_shown(text)}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {_shown(text)}")
    return value


def _ranged_number(name: str):
    """An argparse type: a number within the option's range (``limits.FLOAT_RANGES``)."""
    low, high = FLOAT_RANGES[name]

    def parse(text: str) -> float:
        value = _number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {range_text(name)}, got {_shown(text)}")
        return value

    parse.__name__ = name
    return parse


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 30 else repr(f"{text[:27]}...")


def _float_list(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (and exit code 2), not argparse's usage block."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    presets = "; ".join(f"{name}: {values['description']}" for name, values in PRESETS.items())
    parser = OneLineParser(
        prog="impasto",
        description="Repaint a photo in the style of one or more paintings (Gatys et al. neural style transfer).",
        epilog=f"Presets - {presets}. Explicit options override the preset.",
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="the photo to repaint, then one or more style images (paintings)")
    parser.add_argument("--demo", action="store_true",
                        help="use the sample photo and painting that ship with the install (no IMAGE needed)")
    parser.add_argument("-o", "--output", required=True, help="result file; .png or .jpg decides the format")
    add_run_options(parser)

    report = parser.add_argument_group("reports")
    report.add_argument("--plot", help="write the loss curves (PNG)")
    report.add_argument("--history", help="write every logged iteration (.csv or .json)")
    report.add_argument("--log-every", type=_ranged("log_every"),
                        help=f"log every N iterations into the history (default 1; {range_text('log_every')})")
    report.add_argument("--side-by-side", help="write content | style(s) | result in one image")
    report.add_argument("--save-every", type=_ranged("save_every"), default=0,
                        help=f"save a snapshot every N iterations ({range_text('save_every')})")
    report.add_argument("--snapshots", help="folder for the snapshots (the current image, every --save-every)")
    report.add_argument("--timelapse", help="an animation of the painting forming: .gif, .webp or .png (APNG)")
    report.add_argument("--timelapse-every", type=_ranged("timelapse_every"), default=0,
                        help=f"iterations between timelapse frames (default: about 100 frames in all; "
                             f"{range_text('timelapse_every')})")
    report.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--version", action="version", version=_version())
    return parser


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a painting (recipe, size, controls, network, losses, optimizer): shared by the single
    run and ``impasto batch``, named after ``Options`` fields so that they pass straight through."""
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=list(PRESETS), help="recipe to start from")
    parser.add_argument("--quality", choices=list(QUALITY_LEVELS),
                        help="draft (about 10 s), default (about 30 s) or high (about 80 s) at 512 px; "
                             "for the default preset")

    size = parser.add_argument_group("size and schedule")
    size.add_argument("--size", type=_ranged("size"), help=f"output long side in pixels (aspect ratio kept; {range_text('size')})")
    size.add_argument("--scales", type=_ranged("scales"), help=f"number of coarse-to-fine scales ({range_text('scales')})")
    size.add_argument("--min-size", type=_ranged("min_size"), help=f"long side of the first (coarsest) scale ({range_text('min_size')})")
    size.add_argument("--iterations", type=_ranged_list("iterations"),
                      help=f"iterations per scale: one number or a list, e.g. 100,50,20 (each {range_text('iterations')})")
    size.add_argument("--style-size", type=_ranged("style_size"),
                      help=f"style images' long side at the output scale (default: --size; {range_text('style_size')})")
    size.add_argument("--style-shape", choices=["aspect", "content"],
                      help="paintings keep their aspect ratio (default) or are squashed to the photo's (content: "
                           "the d2l and keras-blog presets, as their documents resize both images to one shape)")
    size.add_argument("--style-scale", type=_ranged_number("style_scale"),
                      help="style images' size relative to the output (0.5: finer strokes, 2: larger), as "
                           f"jcjohnson's -style_scale; instead of --style-size ({range_text('style_scale')})")
    size.add_argument("--max-input-pixels", type=_ranged("max_input_pixels"),
                      help=f"refuse input images larger than this (decompression-bomb guard; default 89478485; "
                           f"{range_text('max_input_pixels')})")
    size.add_argument("--style-octaves", type=_ranged("style_octaves"),
                      help=f"match the style on the image at 1, 1/2, 1/4... of its size (default preset: 2; "
                           f"{range_text('style_octaves')})")
    size.add_argument("--style-blend", type=_float_list, help="weights of several style images, e.g. 0.7,0.3")
    size.add_argument("--tile", type=_ranged("tile"), metavar="N",
                      help="paint the scales larger than N px in overlapping tiles of at most NxN px, for big "
                           "prints (default: only when the output would not fit in memory whole, then 1024; "
                           f"{range_text('tile')})")
    size.add_argument("--tile-overlap", type=_ranged("tile_overlap"), metavar="PX",
                      help="pixels shared by neighbouring tiles, blended across (default: the tile side / 8)")

    control = parser.add_argument_group("artistic control")
    control.add_argument("--preserve-colors", choices=["luminance", "histogram"],
                         help="keep the photo's colours: luminance (paint the luminance, put the photo's chroma "
                              "back) or histogram (recolour the paintings to the photo's palette first)")
    control.add_argument("--style-mask", dest="style_masks", action="append", metavar="MASK",
                         help="once per style image, in order: where that style paints (white: here, grey: a "
                              "share, black: not here); the content's aspect ratio")

    network = parser.add_argument_group("network")
    network.add_argument("--model", choices=["vgg16", "vgg19"], help="network architecture")
    network.add_argument("--weights", help="torchvision .pth or Keras .h5 VGG weights (default: bundled VGG-19)")
    network.add_argument("--pooling", choices=["max", "avg"], help="pooling layers (avg: smoother results)")
    network.add_argument("--content-layers", help="e.g. relu4_2 or conv4_2:1,conv5_2:0.5 or D2L index 25")
    network.add_argument("--style-layers", help="e.g. relu1_1,relu2_1,relu3_1:0.5 or block3_conv3 or 0,5,10")

    loss = parser.add_argument_group("losses")
    loss.add_argument("--content-weight", type=_number)
    loss.add_argument("--style-weight", type=_number)
    loss.add_argument("--style-balance", type=_ranged_number("style_balance"),
                      help="let the style weight follow the painting's feature energy against the photo's, to "
                           "this power (default preset: 0.55; 0: the same weight for every painting; "
                           f"{range_text('style_balance')})")
    loss.add_argument("--tv-weight", type=_number)
    loss.add_argument("--content-loss", dest="content_reduction", choices=["mean", "sum", "relative"],
                      help="mean (D2L) or sum (Gatys, Keras blog) of squared differences, or relative: "
                           "their sum over the target's squared norm (impasto's default)")
    loss.add_argument("--style-norm", dest="style_normalization", choices=["d2l", "gatys", "relative", "keras"],
                      help="d2l: Gram/(c*h*w), mean squared; gatys: sum squared / (4 c^2 (hw)^2); relative: "
                           "||G - A||^2 / ||A||^2 per layer (impasto's default); keras: sum squared / (4 * 3^2 * "
                           "(image H W)^2) for every layer, the Keras blog's")
    loss.add_argument("--style-loss", choices=["gram", "meancov"],
                      help="the style statistic: gram (Gram matrices, Gatys et al.; default) or meancov (channel "
                           "mean and covariance, a Wasserstein-2 distance as in crowsonkb/style-transfer-pytorch)")
    loss.add_argument("--tv-kind", choices=["d2l", "keras"], help="d2l: mean |diff|; keras: sum (dx^2+dy^2)^beta")
    loss.add_argument("--tv-beta", type=_number, help="exponent beta of the keras TV form (default 1.25)")

    optim = parser.add_argument_group("optimization")
    optim.add_argument("--init", help="content, uniform, normal, mean (the network's mean pixel plus faint "
                                      "noise, jcjohnson's -init random), keras (uniform 0..255 minus 128 in the "
                                      "network's units, the Keras blog's), or an image file to start from")
    optim.add_argument("--init-palette", choices=["content", "style"],
                       help="style (default): recolour the first image to the paintings' colour mean and "
                            "covariance; content: keep its own colours")
    optim.add_argument("--seed", type=_ranged("seed"),
                       help=f"random seed: the same seed repeats a CPU run bit for bit ({range_text('seed')})")
    optim.add_argument("--optimizer", help="adam or lbfgs, or one per scale such as lbfgs,lbfgs,adam,adam")
    optim.add_argument("--line-search", choices=["strong_wolfe", "none"],
                       help="L-BFGS line search (none: Torch7's fixed step, as jcjohnson/neural-style)")
    optim.add_argument("--lbfgs-restart", type=_ranged("lbfgs_restart"),
                       help=f"run L-BFGS in calls of N evaluations, each with a fresh history (the Keras blog: 20; "
                            f"0: one call; {range_text('lbfgs_restart')})")
    optim.add_argument("--lbfgs-history", type=_ranged("lbfgs_history"),
                       help=f"L-BFGS correction pairs kept (default 50; {range_text('lbfgs_history')})")
    optim.add_argument("--lr", type=_number, help="Adam learning rate (ImageNet-normalized pixel units)")
    optim.add_argument("--lr-decay", type=_number, help="learning-rate factor applied every --lr-decay-every")
    optim.add_argument("--lr-decay-every", type=_ranged_list("lr_decay_every"),
                       help=f"iterations between decays, per scale (0: none; {range_text('lr_decay_every')})")
    optim.add_argument("--clamp-pixels", action=argparse.BooleanOptionalAction, default=None,
                       help="keep pixels in 0..1 after each Adam step (default; the d2l presets do not)")
    optim.add_argument("--stage-handoff", choices=["bicubic", "d2l"],
                       help="how a scale starts the next: bicubic (default) or d2l (8-bit, PIL bilinear)")
    optim.add_argument("--resample", choices=["lanczos", "bicubic", "bilinear", "nearest"],
                       help="filter that resizes the photo and paintings to each scale (default lanczos; the d2l "
                            "presets: bilinear, as torchvision's Resize; keras-blog: nearest, as its Pillow)")
    optim.add_argument("--loss-units", choices=["network", "torchvision"],
                       help="torchvision: the loss weights were tuned on torchvision's VGG (D2L) and are rescaled "
                            "layer by layer for the network in use (the d2l presets' default)")
    optim.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="default auto: a GPU if there is one")


def _version() -> str:
    from .. import __version__

    return f"impasto {__version__}"




class ProgressBar:
    """A tqdm bar over pixel-weighted work, so its ETA stays honest when later scales are slower."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def __call__(self, progress) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=1000, file=sys.stderr, leave=True, dynamic_ncols=True, disable=None,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}")
        stage = progress.stage
        tile = f" tile {progress.tile}/{progress.tiles}" if progress.tiles > 1 else ""
        self.bar.set_description_str(f"scale {stage.index + 1}/{progress.stages} {stage.shape[1]}x{stage.shape[0]}"
                                     f"{tile} it {progress.iteration}/{stage.iterations}", refresh=False)
        terms = " ".join(f"{name} {value:.3g}" for name, value in progress.terms.items())
        self.bar.set_postfix_str(f"{terms} | total {progress.total:.4g}", refresh=False)
        self.bar.update(round(progress.work_fraction * 1000) - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _tell_tiling(stylizer) -> None:
    """Say before a big run starts that (and why) it is painted in tiles, and at what tile size."""
    if stylizer.tiling.tile:
        print(f"impasto: {stylizer.tiling.reason}", file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("impasto: interrupted before painting started; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED


@contextlib.contextmanager
def _signals_held():
    """Hold Ctrl-C and SIGTERM while the arguments are parsed and PyTorch is imported, then act on them
    (see ``impasto.interrupts``); from then on SIGTERM ends a run like Ctrl-C does."""
    interrupts.hold()
    try:
        yield
    finally:
        interrupts.release()


def _run(argv: Optional[Sequence[str]]) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["web"]:
        interrupts.release()  # the server's own Ctrl-C handling takes over
        from ..apps.web import main as web_main

        return web_main(argv[1:])
    if argv[:1] == ["video"]:
        with _signals_held():
            from ..apps.video import main as video_main
        return video_main(argv[1:])
    if argv[:1] == ["batch"]:
        with _signals_held():
            from ..apps.batch import main as batch_main
        return batch_main(argv[1:])
    with _signals_held():
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.demo and args.images:
            parser.error("--demo uses the bundled sample images; give either --demo or IMAGE paths")
        if not args.demo and len(args.images) < 2:
            parser.error("give a content image and at least one style image (or --demo)")
        from ..api import stylize
        from ..errors import ImpastoError, ImpastoWarning, Interrupted
        from ..config.options import Options

    # Our own warnings become one line each; library warnings (PyTorch internals) are not the user's concern.
    warnings.simplefilter("ignore")
    warnings.simplefilter("always", ImpastoWarning)
    warnings.showwarning = lambda message, *_: print(f"impasto: warning: {message}", file=sys.stderr)

    # Every flag named after an Options field is passed through; unset flags are None and leave the preset's value.
    options = {field.name: getattr(args, field.name) for field in fields(Options)
               if field.name != "preset" and hasattr(args, field.name)}
    bar = ProgressBar(enabled=not args.quiet)
    try:
        if args.demo:
            from ..imaging.samples import sample_painting, sample_photo

            content, styles = sample_photo(), [sample_painting()]
        else:
            content, styles = args.images[0], args.images[1:]
        stylize(content, styles, preset=args.preset, output=args.output, plot=args.plot,
                history=args.history, side_by_side=args.side_by_side, snapshots=args.snapshots,
                save_every=args.save_every, timelapse=args.timelapse, timelapse_every=args.timelapse_every,
                style_masks=args.style_masks, callback=bar, on_start=None if args.quiet else _tell_tiling,
                **options)
    except Interrupted as interrupted:
        bar.close()
        print(f"impasto: {interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        bar.close()
        print("impasto: interrupted before painting started; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ImpastoError as error:
        bar.close()
        print(f"impasto: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    bar.close()
    if not args.quiet:
        print(f"impasto: wrote {args.output}", file=sys.stderr)
    return 0
