"""``python -m impasto`` and the ``impasto`` command: hold interrupts first, then hand over to the CLI."""
from .interrupts import hold

hold()

from .cli import main  # noqa: E402 - imported after the interrupt handling is in place


def entry_point() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entry_point()
