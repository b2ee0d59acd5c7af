"""Atomic file writing: a result appears whole under its final name, or not at all."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, IO

from .errors import OutputError

# Read once: os.umask can only be read by setting it.
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    except OSError as error:
        raise OutputError(f"cannot write in {str(directory)!r} ({error.strerror or error})") from None
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        # mkstemp makes the file private (0600); give it the permissions a plain open() would have.
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise OutputError(f"cannot write {str(path)!r} ({error.strerror or error})") from None
        raise
    return path


def check_writable(path: str | os.PathLike, inputs: tuple = ()) -> Path:
    """Fail early, before a long run, if ``path`` cannot be written or would overwrite an input file."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"output folder {str(directory)!r} does not exist")
    if path.is_dir():
        raise OutputError(f"output {str(path)!r} is a directory")
    try:
        # A real probe: os.access says yes to root even on read-only mounts.
        with tempfile.NamedTemporaryFile(prefix=f".{path.name}.", suffix=".probe", dir=directory):
            pass
    except OSError as error:
        raise OutputError(f"cannot write in output folder {str(directory)!r} ({error.strerror or error})") from None
    for source in inputs:
        if isinstance(source, (str, os.PathLike)) and Path(source).exists() and path.exists() \
                and path.resolve() == Path(source).resolve():
            raise OutputError(f"output {str(path)!r} is one of the input files; choose another name")
    return path
