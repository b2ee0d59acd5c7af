"""Paths as users type them: quoting them in messages, asking what they are, writing files atomically.

A result appears whole under its final name, or not at all. Every question about a path ("does it exist, is
it a folder?") goes through ``path_kind``, which turns whatever the operating system raises (a name too
long, a symlink loop, a file used as a folder) into a one-line error that names the path.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, IO, Iterable, Optional, Type

from .errors import ImpastoError, OptionError, OutputError, display_path

_OS_REASONS = {
    errno.ENAMETOOLONG: "has a name too long for the file system",
    errno.ELOOP: "is a symbolic link loop",
    errno.ENOTDIR: "has a part that is a file, not a folder",
    errno.EACCES: "cannot be reached (permission denied)",
}


def path_kind(path: str | os.PathLike, role: str, error: Type[ImpastoError] = OptionError) -> str:
    """``"file"``, ``"dir"``, ``"other"`` or ``"missing"``; any other answer from the system is ``error``.

    A dangling symbolic link is ``"missing"``; a symbolic link loop, a name too long or a file used as a
    folder is an error that says so, not "does not exist".
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"  # nothing there, or a symbolic link to nothing
    except OSError as problem:
        reason = _OS_REASONS.get(problem.errno, f"cannot be checked ({problem.strerror or problem})")
        raise error(f"{role} {display_path(path)} {reason}") from None
    except ValueError:  # an embedded NUL character
        raise error(f"{role} {display_path(path)} is not a valid path (it contains a NUL character)") from None
    if stat.S_ISREG(mode):
        return "file"
    return "dir" if stat.S_ISDIR(mode) else "other"


def same_file(first: str | os.PathLike, second: str | os.PathLike) -> bool:
    """Whether two paths name the same file (existing or not): the same resolved path, or the same inode."""
    try:
        if Path(first).resolve() == Path(second).resolve():
            return True
        return os.path.samefile(first, second)
    except (OSError, ValueError, RuntimeError):
        return False


def check_distinct_outputs(outputs: Iterable[tuple[str, Optional[str | os.PathLike]]]) -> None:
    """Refuse two outputs of one run that resolve to the same file (one would overwrite the other)."""
    given = [(role, path) for role, path in outputs if path is not None]
    for index, (role, path) in enumerate(given):
        for other_role, other in given[index + 1:]:
            if same_file(path, other):
                raise OutputError(f"the {role} and the {other_role} would be the same file {display_path(path)}; "
                                  f"give them different names")

# Read once: os.umask can only be read by setting it.
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        # A short prefix: the name may already be as long as the file system allows.
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name[:32]}.", suffix=".part", dir=directory)
    except OSError as error:
        raise OutputError(f"cannot write in {display_path(directory)} ({error.strerror or error})") from None
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        # mkstemp makes the file private (0600); give it the permissions a plain open() would have.
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise OutputError(f"cannot write {display_path(path)} ({error.strerror or error})") from None
        raise
    return path


def check_writable(path: str | os.PathLike, inputs: tuple = (), role: str = "output") -> Path:
    """Fail early, before a long run, if ``path`` cannot be written or would overwrite an input file."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    folder = path_kind(directory, f"{role} folder", OutputError)
    if folder == "missing":
        raise OutputError(f"{role} folder {display_path(directory)} does not exist")
    if folder != "dir":
        raise OutputError(f"{role} folder {display_path(directory)} is a file, not a folder")
    kind = path_kind(path, role, OutputError)
    if kind == "dir":
        raise OutputError(f"{role} {display_path(path)} is a folder")
    try:
        # A real probe: os.access says yes to root even on read-only mounts.
        with tempfile.NamedTemporaryFile(prefix=".impasto.", suffix=".probe", dir=directory):
            pass
    except OSError as error:
        raise OutputError(f"cannot write in {role} folder {display_path(directory)} "
                          f"({error.strerror or error})") from None
    for source in inputs:
        if isinstance(source, (str, os.PathLike)) and kind != "missing" and same_file(path, source):
            raise OutputError(f"{role} {display_path(path)} is one of the input files; choose another name")
    return path
