"""The ``impasto`` command: argument parsing, a progress bar and error reporting around ``impasto.stylize``;
``impasto web|video|batch`` are handed to ``impasto.cli.web``, ``.video`` and ``.batch``.

The parser is built from the option table (``impasto.cli.common``, ``impasto.config.option_table``) and checks
every value before PyTorch is imported; Ctrl-C and SIGTERM are held until then (``impasto.cli.interrupts``).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..config.option_table import OUTPUT_FILE, REPORTS, RUN_GROUPS
from ..config.presets import PRESETS
from . import interrupts
from .common import (EXIT_ERROR, EXIT_INTERRUPTED, MODEL_OPTIONS, OneLineParser, add_options, options_from_args,
                     refuse_size_with_print, refuse_still_options, run_to_the_end)

if TYPE_CHECKING:
    from ..engine import Progress, Stylizer


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``impasto IMAGE... -o OUTPUT [options]``."""
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
    parser.add_argument("--model", dest="trained_model", metavar="NAME.pt",
                        help="paint IMAGE in one pass with a model trained by impasto train (no painting needed; "
                             "--size, --preserve-colors, --tile, --device apply)")
    # The painting's options, then the reports (the table lists them in that order).
    report = add_options(parser, (*RUN_GROUPS, OUTPUT_FILE, REPORTS))[REPORTS]
    report.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--version", action="version", version=_version())
    return parser


def _version() -> str:
    from .. import __version__

    return f"impasto {__version__}"


class ProgressBar:
    """A tqdm bar over pixel-weighted work, so its ETA stays honest when later scales are slower."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def __call__(self, progress: Progress) -> None:
        interrupts.raise_if_lost()  # every step: a Ctrl-C that a library swallowed still ends the run
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


def _tell_tiling(stylizer: Stylizer) -> None:
    """Say before a big run starts that (and why) it is painted in tiles, and at what tile size."""
    if stylizer.tiling.tile:
        print(f"impasto: {stylizer.tiling.reason}", file=sys.stderr)


def _check_model_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """With --model: one photo, and none of a still's options that a trained model has no use for."""
    if args.demo:
        parser.error("--model paints your photo: give IMAGE, not --demo")
    if len(args.images) != 1:
        parser.error(f"--model paints one photo (its style is in the model); got {len(args.images)} images")
    refuse_still_options(parser, args, ("plot", "history", "snapshots", "timelapse", "style_masks"))


def _paint_with_model(args: argparse.Namespace) -> int:
    from ..api import paint_with_model
    from ..errors import ImpastoError

    try:
        given = {name: getattr(args, name) for name in MODEL_OPTIONS if getattr(args, name) is not None}
        paint_with_model(args.images[0], args.trained_model, output=args.output, side_by_side=args.side_by_side,
                         **given)
    except KeyboardInterrupt:
        print("impasto: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ImpastoError as error:
        print(f"impasto: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if not args.quiet:
        print(f"impasto: wrote {args.output}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: this process's); returns the exit status."""
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("impasto: interrupted before painting started; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED


SUBCOMMANDS = ("web", "video", "batch", "train")


def _run_subcommand(name: str, argv: list[str]) -> int:
    """``impasto web|video|batch ...``: its module (``impasto.cli.<name>``) parses the rest and runs."""
    if name == "web":
        interrupts.release()  # the server's own Ctrl-C handling takes over
        from .web import main as web_main

        return web_main(argv)
    if name == "video":
        with interrupts.held():
            from .video import main as video_main
        return video_main(argv)
    if name == "train":
        with interrupts.held():
            from .train import main as train_main
        return train_main(argv)
    with interrupts.held():
        from .batch import main as batch_main
    return batch_main(argv)


def _run(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in SUBCOMMANDS:
        return _run_subcommand(argv[0], argv[1:])
    with interrupts.held():
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.demo and args.images:
            parser.error("--demo uses the bundled sample images; give either --demo or IMAGE paths")
        refuse_size_with_print(parser, args)
        if args.trained_model is not None:
            _check_model_arguments(parser, args)
        elif not args.demo and len(args.images) < 2:
            parser.error("give a content image and at least one style image (or --demo)")
        from ..api import stylize
        from ..errors import ImpastoWarning
        if args.trained_model is None:
            interrupts.load_detectors(args.protect)

    # Our own warnings become one line each; library warnings (PyTorch internals) are not the user's concern.
    warnings.simplefilter("ignore")
    warnings.simplefilter("always", ImpastoWarning)
    warnings.showwarning = lambda message, *_: print(f"impasto: warning: {message}", file=sys.stderr)

    if args.trained_model is not None:
        return _paint_with_model(args)
    # Every flag named after an Options field is passed through; unset ones leave the preset's value.
    options = options_from_args(args)
    bar = ProgressBar(enabled=not args.quiet)

    def paint() -> None:
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

    code, _ = run_to_the_end("impasto", bar, paint, str, "painting")
    if code == 0 and not args.quiet:
        print(f"impasto: wrote {args.output}", file=sys.stderr)
    return code
