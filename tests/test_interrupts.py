"""The command's signal handling (impasto.cli.interrupts): held during start-up, then raised where the command
is, and raised again at the next step when a library swallowed it."""
import signal
import subprocess
import sys

import pytest

from impasto.cli import interrupts
from impasto.cli.main import ProgressBar
from tests.conftest import gradient_image, stripes_image


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


SIGNALS_RELEASED_WITH = """
import sys
from impasto.cli import interrupts, main

released = interrupts.release

def release():
    print("mediapipe loaded:", "mediapipe" in sys.modules, flush=True)
    released()

interrupts.release = release
sys.exit(main.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("protect, loaded", [("auto", True), ("none", False)])
def test_mediapipe_is_imported_while_signals_are_held(tmp_path, protect, loaded):
    """protobuf's C extension, which MediaPipe imports, prints and drops a KeyboardInterrupt raised while it
    loads (CI saw a Ctrl-C during start-up turn into a traceback and a run that painted on): the command
    imports it before it lets signals through. Without --protect there is nothing to detect and no import."""
    content, style, out = tmp_path / "content.png", tmp_path / "style.png", tmp_path / "out.png"
    gradient_image(48, 32).save(content)
    stripes_image(32, 32).save(style)
    result = subprocess.run([sys.executable, "-c", SIGNALS_RELEASED_WITH, str(content), str(style), "-o", str(out),
                             "--size", "32", "--scales", "1", "--iterations", "1", "--quiet", "--protect", protect],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"mediapipe loaded: {loaded}"
