"""``python -m impasto`` and the ``impasto`` command: hold interrupts first, then hand over to the CLI."""
import os
import sys

from .cli.interrupts import hold

hold()

from .cli.main import EXIT_INTERRUPTED, main  # noqa: E402 - imported after the interrupt handling is in place


def entry_point() -> None:
    try:
        code = main()
    except KeyboardInterrupt:
        # main() turns every interrupt it sees into one line and 130; this catches one that lands outside it
        # (between its handlers), so that the process never dies of the signal with a traceback instead.
        print("impasto: interrupted; nothing more written", file=sys.stderr)
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        # Everything the run made is written and closed by now; leave without the interpreter's shutdown.
        # A Ctrl-C that lands inside source run by exec() (dataclasses and many lazy imports do that) makes
        # CPython note an "unhandled" interrupt, and under ``python -m`` it then kills itself with SIGINT at
        # exit (status -2) although we caught the interrupt and printed our line. os._exit keeps the 130.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    entry_point()
