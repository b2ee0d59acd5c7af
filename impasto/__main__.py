"""``python -m impasto`` and the ``impasto`` command: hold interrupts first, then hand over to the CLI."""
import sys

from .interrupts import hold

hold()

from .cli import EXIT_INTERRUPTED, main  # noqa: E402 - imported after the interrupt handling is in place


def entry_point() -> None:
    try:
        code = main()
    except KeyboardInterrupt:
        # main() turns every interrupt it sees into one line and 130; this catches one that lands outside it
        # (between its handlers), so that the process never dies of the signal with a traceback instead.
        print("impasto: interrupted; nothing more written", file=sys.stderr)
        code = EXIT_INTERRUPTED
    raise SystemExit(code)


if __name__ == "__main__":
    entry_point()
