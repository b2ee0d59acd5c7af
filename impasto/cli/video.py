"""``impasto video``: the command line over ``impasto.apps.video.stylize_video``, with a progress bar over the
frames.

Importing this module imports PyTorch (through ``impasto.apps.video``): ``impasto.cli.main`` does it while
Ctrl-C is held, as it does for the other commands.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tqdm import tqdm

from ..apps.video import FrameProgress, VideoResult, stylize_video
from ..config.option_table import VIDEO
from ..errors import Interrupted, display_path
from . import interrupts
from .common import (OneLineParser, add_options, add_run_options, one_line_warnings, options_from_args,
                     refuse_still_options, run_to_the_end)

# What a clip painted by a trained model (--model) takes of a still's options.
VIDEO_MODEL_OPTIONS = ("size", "preserve_colors", "device", "precision")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="impasto video",
        description="Repaint a clip in the style of one or more paintings, frame by frame, each frame held to the "
                    "previous one along the optical flow so that it does not flicker.")
    parser.add_argument("input", metavar="INPUT", help="a video file (MP4, MOV, WebM, GIF...) or a folder of "
                                                       "numbered frames")
    parser.add_argument("styles", nargs="*", metavar="STYLE", help="one or more style images (paintings)")
    parser.add_argument("--model", dest="trained_model", metavar="NAME.pt",
                        help="paint every frame in one pass with a model trained by impasto train, or a bundled "
                             "one by name (mosaic-steady flickers less than mosaic); no painting needed; --size, "
                             "--preserve-colors luminance, --device, --max-frames apply")
    parser.add_argument("-o", "--output", required=True,
                        help="result: .mp4/.mov/.mkv (H.264), .webm (VP9), .gif, or a folder for PNG frames")
    add_options(parser, [VIDEO])
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_run_options(parser)
    return parser


class FrameBar:
    """A tqdm bar over the clip's frames, made at the first frame (when the count and a resume are known)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar: tqdm | None = None

    def __call__(self, update: FrameProgress) -> None:
        if self.bar is None:
            self.bar = tqdm(total=update.frames, initial=update.done_before, unit="frame", file=sys.stderr,
                            disable=True if self.quiet else None, dynamic_ncols=True)
        self.bar.update(update.frame - self.bar.n)
        self.bar.set_postfix_str(f"{update.seconds:.1f} s/frame", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _paint(args: argparse.Namespace, bar: FrameBar) -> VideoResult:
    if args.trained_model is not None:
        from ..apps.instant_video import paint_video_with_model

        given = {name: getattr(args, name) for name in (*VIDEO_MODEL_OPTIONS, "max_frames")
                 if getattr(args, name) is not None}
        return paint_video_with_model(args.input, args.trained_model, args.output, callback=bar, **given)
    return stylize_video(args.input, args.styles, args.output, preset=args.preset,
                         temporal_weight=args.temporal_weight, frame_iterations=args.frame_iterations,
                         flow=args.flow, independent=args.independent, resume=args.resume,
                         max_frames=args.max_frames, keep_frames=args.keep_frames, callback=bar,
                         **options_from_args(args))


def main(argv: Sequence[str] | None = None) -> int:
    """``impasto video INPUT STYLE [STYLE ...] -o OUTPUT [options]``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.style_masks:
        parser.error("style masks are drawn for one picture: they cannot be given for a clip")
    if args.trained_model is not None:
        if args.styles:
            parser.error("--model paints in the model's style: give no painting")
        refuse_still_options(parser, args, ("independent", "resume", "keep_frames"),
                             allowed=VIDEO_MODEL_OPTIONS)
    elif not args.styles:
        parser.error("give at least one style image (painting), or --model")
    if args.trained_model is None:
        with interrupts.held():
            interrupts.load_detectors(args.protect)
    one_line_warnings("impasto")  # "impasto: warning: ..." as the still command says it, not Python's two lines
    bar = FrameBar(args.quiet)
    code, result = run_to_the_end("impasto video", bar, lambda: _paint(args, bar), _interrupted, "painting")
    if code == 0 and not args.quiet:
        print(f"impasto video: wrote {display_path(result.output)} ({result.frames} frames)", file=sys.stderr)
    return code


def _interrupted(stopped: Interrupted) -> str:
    where = ", ".join(display_path(path) for path in stopped.saved) or "nowhere (no frame was finished)"
    return f"interrupted; the frames done so far are in {where} (add --resume to continue)"
