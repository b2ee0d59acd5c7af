"""``impasto web``: the command that serves the page of ``impasto.apps.web`` on this machine.

``impasto.cli.main`` hands over to it with Ctrl-C released: the server handles its own interrupts, and a
Ctrl-C stops it cleanly (exit 0).
"""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

from ..apps.web import DEFAULT_HOST, DEFAULT_MAX_UPLOAD_MB, DEFAULT_PORT, DEFAULT_QUEUE, serve
from ..errors import ImpastoError
from .common import EXIT_ERROR, OneLineParser, one_line_warnings


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="impasto web", description="Serve impasto's page on this machine.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST}: this machine only; 0.0.0.0: the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--queue", type=int, default=DEFAULT_QUEUE,
                        help=f"jobs that may wait behind the running one (default {DEFAULT_QUEUE})")
    parser.add_argument("--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_MB,
                        help=f"largest accepted upload in MB (default {DEFAULT_MAX_UPLOAD_MB})")
    parser.add_argument("--weights", help="VGG weights file (default: the bundled VGG-19)")
    parser.add_argument("--model", dest="models", action="append", default=[], metavar="NAME.pt",
                        help="a trained model (impasto train) the page offers besides the bundled ones "
                             "(the files in impasto/models: candy, mosaic...); repeat for more")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``impasto web [--host HOST] [--port PORT] ...``: serve until Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"port must be from 1 to 65535, got {args.port}")
    if args.queue < 2 or args.max_upload_mb < 1:
        parser.error("queue must be at least 2 and max-upload-mb at least 1")
    # Only looked for, not imported: Gradio reads where to keep its files when it is imported, which the
    # server sets first.
    if importlib.util.find_spec("gradio") is None:
        print("impasto: error: the web page needs Gradio: pip install 'impasto[web]'", file=sys.stderr)
        return EXIT_ERROR
    one_line_warnings("impasto")  # the server's log: one line per warning (an oversized upload is refused in one)
    try:
        serve(args.host, args.port, args.queue, args.max_upload_mb, args.weights, args.models)
    except KeyboardInterrupt:
        pass
    except ImpastoError as error:
        print(f"impasto: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    return 0
