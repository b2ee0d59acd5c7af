"""Holding Ctrl-C and SIGTERM while the command starts, so that an early interrupt is one line, not a hang.

An interrupt raised in the middle of ``import torch`` can leave the import machinery locked (measured: the
process then hangs instead of exiting), and one raised while the interpreter is still importing the CLI
prints a traceback. So the command notes signals from its first line until its imports are done, then acts
on them. Library users never see this: only the command (``impasto``, ``python -m impasto``) calls it.
"""
from __future__ import annotations

import signal

_received: list[int] = []


def _note(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    _received.append(signum)


def raise_interrupt(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def hold() -> None:
    """From now on, Ctrl-C and SIGTERM are only noted."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _note)


def release() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt again; one that was noted while held is raised now."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, raise_interrupt)
    if _received:
        _received.clear()
        raise KeyboardInterrupt
