"""The command's signal handling (impasto.cli.interrupts): held during start-up, then raised where the command
is, and raised again at the next step when a library swallowed it."""
import signal

import pytest

from impasto.cli import interrupts
from impasto.cli.main import ProgressBar


@pytest.fixture
def handlers():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    interrupts._received.clear()


def test_a_signal_held_during_start_up_is_raised_on_release(handlers):
    interrupts.hold()
    signal.raise_signal(signal.SIGINT)  # only noted
    with pytest.raises(KeyboardInterrupt):
        interrupts.release()
    interrupts.raise_if_lost()  # raised once: nothing is left over for the first step


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_a_library_swallowed_ends_the_run_at_the_next_step(handlers, sig):
    interrupts.release()
    try:
        signal.raise_signal(sig)
    except KeyboardInterrupt:
        pass  # what a finaliser or C code that clears errors does with it
    bar = ProgressBar(enabled=False)
    with pytest.raises(KeyboardInterrupt):
        bar(None)
    bar(None)  # raised once; the run's own handling takes it from there


def test_a_run_without_signals_is_never_interrupted(handlers):
    interrupts.hold()
    interrupts.release()
    for _ in range(3):
        ProgressBar(enabled=False)(None)
