"""Holding Ctrl-C and SIGTERM while the command starts, so that an early interrupt is one line, not a hang.

An interrupt raised in the middle of ``import torch`` can leave the import machinery locked (measured: the
process then hangs instead of exiting), and one raised while the interpreter is still importing the CLI
prints a traceback. So the command notes signals from its first line until its imports are done, then acts
on them. Library users never see this: only the command (``impasto``, ``python -m impasto``) calls it.

After the start, a signal raises KeyboardInterrupt where the command is, and is noted too. A KeyboardInterrupt
can be lost on its way: C code that clears errors drops it, and CPython prints and drops one raised inside a
finaliser. CI saw one land while MediaPipe loaded protobuf's C extension, which printed a traceback and went on,
and the run painted on. So the commands load MediaPipe while signals are held (``load_detectors``), and
``raise_if_lost``, called at every step, raises a lost one again.
"""
from __future__ import annotations

import contextlib
import signal
from typing import Iterator, Optional

_received: list[int] = []


def _note(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    _received.append(signum)


def _note_and_raise(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    _received.append(signum)
    raise KeyboardInterrupt


def hold() -> None:
    """From now on, Ctrl-C and SIGTERM are only noted."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _note)


def release() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt again (and are noted for ``raise_if_lost``); one that was
    noted while held is raised now."""
    held = bool(_received)
    _received.clear()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _note_and_raise)
    if held:
        raise KeyboardInterrupt


def raise_if_lost() -> None:
    """Raise KeyboardInterrupt if a signal came since ``release`` and the command is still working: its own
    KeyboardInterrupt was lost on the way (it ends the work where it lands, so the work never asks again)."""
    if _received:
        _received.clear()
        raise KeyboardInterrupt


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Ctrl-C and SIGTERM only noted inside the block, acted on when it ends (``hold``, then ``release``)."""
    hold()
    try:
        yield
    finally:
        release()


def load_detectors(protect: Optional[str]) -> None:
    """Import MediaPipe's detectors now when a run with ``protect`` (None: the preset's "auto") will use them.

    MediaPipe imports protobuf's C extension, which prints and drops a KeyboardInterrupt raised while it loads:
    CI saw a Ctrl-C during start-up turn into a traceback and a run that painted on. A command calls this
    while signals are held; the run would import them anyway.
    """
    if (protect or "auto") != "none":
        from ..imaging.people import detectors_installed

        detectors_installed()
