"""Exception types raised by impasto's Python API.

Every error a user can cause (a bad path, an unknown layer, a weights file of the wrong kind) is an
``ImpastoError`` carrying one human-readable line; the CLI prints that line and exits non-zero, so no
traceback ever reaches a user.
"""
import os


class ImpastoError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class ImageInputError(ImpastoError):
    """An input image cannot be read or used."""


class WeightsError(ImpastoError):
    """Network weights are missing, of the wrong kind, or corrupted."""


class ModelError(ImpastoError):
    """A trained model file is missing, not an impasto model, damaged, or made by a newer impasto."""


class OptionError(ImpastoError, ValueError):
    """An option or combination of options is invalid."""


class OutputError(ImpastoError):
    """An output file cannot be written where the user asked."""


class ResourceError(ImpastoError):
    """The run needs more memory than this machine has, or ran out of it."""


class ImpastoWarning(UserWarning):
    """Something worth telling the user that does not stop the run (the CLI prints it as one line)."""


def display_path(path) -> str:
    """A path quoted for a one-line message: repr-style (control characters escaped), shortened if long."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    if len(text) > DISPLAY_LIMIT:
        text = f"{text[:DISPLAY_LIMIT // 2]}...{text[-(DISPLAY_LIMIT // 2 - 3):]}"
    return repr(text)


DISPLAY_LIMIT = 80  # characters of a path shown in a message; longer ones keep their start and end


def saved_to(saved: list) -> str:
    """Where a run's best image and reports were written, for a one-line message."""
    return ", ".join(display_path(path) for path in saved) or "nowhere (no output path was given)"


class Interrupted(ImpastoError):
    """The run was interrupted (Ctrl-C, SIGTERM); ``image`` is the best result so far, ``saved`` what was written."""

    def __init__(self, image, saved: list):
        super().__init__(f"interrupted; best image so far saved to {saved_to(saved)}")
        self.image = image
        self.saved = saved


class NumericalError(ImpastoError):
    """The loss stopped being a finite number."""
