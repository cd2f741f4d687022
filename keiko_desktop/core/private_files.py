"""Owner-only folders (0700) and files (0600) for what Keiko keeps, whatever the umask.

The database, logs, settings and caches hold the user's chats and configuration, so nobody else
on the machine may read them. The process umask is never changed (files the user saves through
tools keep their normal modes): each Keiko file is created with an explicit ``0o600`` through
``os.open`` and each Keiko folder with ``0o700``, and an existing file or folder with a looser
mode (from an older Keiko) is tightened when it is opened again. Only Keiko's own folders are
touched (config, data, cache, logs and what is inside them), never the user's home or the
folders above them.

On Windows the modes mean little (``os.chmod`` only sets the read-only flag); files there are
private through the user's profile folder, and these functions just create and open files.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, overload

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

StrPath = str | os.PathLike[str]

TextMode = Literal["r", "w", "a", "x", "r+", "w+", "a+", "x+"]
BinaryMode = Literal["rb", "wb", "ab", "xb", "r+b", "w+b", "a+b", "x+b", "rb+", "wb+", "ab+", "xb+"]

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no CRLF translation below Python's own


def _chmod(path: StrPath, mode: int) -> None:
    """Set ``mode`` unless it is already so; a failure (not our file) is logged, not raised."""
    try:
        if stat.S_IMODE(os.stat(path).st_mode) != mode:
            os.chmod(path, mode)
    except OSError as exc:
        log.warning("cannot make %s private (mode %o): %s", path, mode, exc)


def private_dir(path: StrPath, *, tighten: bool = True) -> Path:
    """Create the folder ``path`` (and any missing parents) with mode 0700, and return it.

    Folders this call creates are 0700 whatever the umask. An existing ``path`` is chmodded to
    0700 (``tighten``; pass False for a folder that may be the user's, such as the parent of a
    file named by an environment variable); existing parents are never changed.
    """
    target = Path(path)
    missing: list[Path] = []
    probe = target
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue  # made by someone else in the meantime (another Keiko process)
        _chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
    if not target.is_dir():
        raise NotADirectoryError(f"{target} is not a folder")
    if tighten:
        _chmod(target, PRIVATE_DIR_MODE)
    return target


def _flags(mode: str) -> int:
    kinds = {"r": os.O_RDONLY, "w": os.O_CREAT | os.O_TRUNC, "a": os.O_CREAT | os.O_APPEND}
    kinds["x"] = os.O_CREAT | os.O_EXCL
    core = mode.replace("b", "").replace("t", "")
    if not core or core[0] not in kinds or core[1:] not in ("", "+"):
        raise ValueError(f"invalid mode for open_private: {mode!r}")
    flags = kinds[core[0]] | _BINARY
    if core.endswith("+"):
        return flags | os.O_RDWR
    return flags | (os.O_RDONLY if core[0] == "r" else os.O_WRONLY)


@overload
def open_private(
    path: StrPath,
    mode: TextMode = "r",
    *,
    encoding: str | None = "utf-8",
    errors: str | None = None,
    newline: str | None = None,
) -> io.TextIOWrapper: ...


@overload
def open_private(
    path: StrPath,
    mode: BinaryMode,
    *,
    encoding: None = None,
    errors: None = None,
    newline: None = None,
) -> BinaryIO: ...


@overload
def open_private(
    path: StrPath,
    mode: str,
    *,
    encoding: str | None = "utf-8",
    errors: str | None = None,
    newline: str | None = None,
) -> IO[Any]: ...


def open_private(
    path: StrPath,
    mode: str = "r",
    *,
    encoding: str | None = "utf-8",
    errors: str | None = None,
    newline: str | None = None,
) -> IO[Any]:
    """``open(path, mode)``, but a file it creates is 0600 whatever the umask, and an existing
    file opened for writing ("w", "a", "x", "+") is chmodded to 0600 first.

    Text modes default to UTF-8; binary modes take no encoding.
    """
    flags = _flags(mode)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        if flags & (os.O_WRONLY | os.O_RDWR):
            _tighten_fd(fd, path)
        if "b" in mode:
            return os.fdopen(fd, mode)
        return os.fdopen(fd, mode, encoding=encoding, errors=errors, newline=newline)
    except BaseException:
        os.close(fd)
        raise


def _tighten_fd(fd: int, path: StrPath) -> None:
    fchmod = getattr(os, "fchmod", None)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) == PRIVATE_FILE_MODE:
            return
        if fchmod is not None:
            fchmod(fd, PRIVATE_FILE_MODE)
        else:
            os.chmod(path, PRIVATE_FILE_MODE)
    except OSError as exc:
        log.warning("cannot make %s private (mode 600): %s", path, exc)


def ensure_private_file(path: StrPath) -> Path:
    """Create ``path`` empty with mode 0600 if it is missing; chmod it to 0600 if it exists."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a folder, not a file")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, PRIVATE_FILE_MODE)
    except FileExistsError:
        _chmod(path, PRIVATE_FILE_MODE)
        return Path(path)
    try:
        _tighten_fd(fd, path)
    finally:
        os.close(fd)
    return Path(path)


def tighten_file(path: StrPath) -> bool:
    """Chmod an existing file to 0600 (never creating it); False when there is none."""
    if not os.path.lexists(path):
        return False
    _chmod(path, PRIVATE_FILE_MODE)
    return True


def write_private_bytes(path: StrPath, data: bytes) -> Path:
    """Replace ``path`` atomically with ``data``: a 0600 temp file next to it, fsynced, then
    ``os.replace``d over it, so a crash never leaves half a file. The folder must exist."""
    target = Path(path)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            _tighten_fd(out.fileno(), tmp)  # the umask may have masked more than 0o077
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def write_private_text(path: StrPath, text: str, *, encoding: str = "utf-8") -> Path:
    """``write_private_bytes`` for text (UTF-8 unless told)."""
    return write_private_bytes(path, text.encode(encoding))
