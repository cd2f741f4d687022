"""Turn SQLite and SQLAlchemy failures into ``StoreError``s a user can act on.

Each message names the database file and each hint says what to do; none leaks a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from keiko_desktop.core.errors import StoreError

SQLITE_HEADER = b"SQLite format 3\x00"

# (sqlite error name prefix, words in the message) -> kind
_KINDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("SQLITE_READONLY", ("readonly", "read-only"), "readonly"),
    ("SQLITE_BUSY", ("database is locked",), "locked"),
    ("SQLITE_LOCKED", ("table is locked",), "locked"),
    ("SQLITE_NOTADB", ("not a database",), "corrupt"),
    ("SQLITE_CORRUPT", ("malformed",), "corrupt"),
    ("SQLITE_FULL", ("disk is full",), "full"),
    ("SQLITE_CANTOPEN", ("unable to open",), "cantopen"),
    ("SQLITE_PERM", ("access permission denied",), "cantopen"),
    ("SQLITE_IOERR", ("disk i/o error",), "ioerror"),
)


def _kind(error: BaseException) -> str:
    name = str(getattr(error, "sqlite_errorname", "") or "")
    text = str(error).lower()
    for prefix, words, kind in _KINDS:
        if name.startswith(prefix) or any(word in text for word in words):
            return kind
    return "other"


# ---------------------------------------------------------------------- the disk and the file

LOW_SPACE = 1 << 20
"""Below this many free bytes, a disk I/O error is taken for a full disk (SQLite reports a
failed write to a full disk as SQLITE_FULL, but a failed ``-shm``/``-wal`` resize or sync as
SQLITE_IOERR)."""


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


def mount_point(path: Path) -> Path:
    """The mount point of the file system holding ``path``."""
    here = _existing(path.absolute())
    for candidate in (here, *here.parents):
        if os.path.ismount(candidate):
            return candidate
    return Path(here.anchor or "/")


def free_space(path: Path) -> int | None:
    """Bytes an unprivileged user may still write on the disk holding ``path``."""
    try:
        return shutil.disk_usage(_existing(path.absolute())).free
    except OSError:
        return None


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def nearest_folder(path: Path) -> Path:
    """The folder ``path`` would be made in: its parent, or the nearest one that exists."""
    return _existing(path.parent)


def writable(path: Path) -> bool:
    """Whether this user may write ``path`` (a folder: create files in it) and its file
    system is mounted read-write."""
    mode = os.W_OK | (os.X_OK if path.is_dir() else 0)
    return os.access(path, mode) and not _read_only_mount(path)


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(_existing(path)).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False


def readonly_error(path: Path) -> StoreError:
    """Which of the file system, the folder or the file refuses writes, and its fix."""
    folder = _existing(path.parent)  # the data folder, or the first parent that exists
    if _read_only_mount(path):
        mount = mount_point(path)
        return StoreError(
            f"Keiko cannot write to its database {path}: the file system at {mount} is "
            "mounted read-only.",
            f"Remount {mount} read-write (or set KEIKO_HOME to a writable folder), then "
            "start Keiko again.",
        )
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        where, what = folder, "its folder" if folder == path.parent else f"the folder {folder}"
    elif path.exists() and not os.access(path, os.W_OK):
        where, what = path, "the file"
    else:  # SQLite said read-only, but both look writable to us (an ACL, a -wal/-shm file)
        where, what = folder, "the file or its folder"
    return StoreError(
        f"Keiko cannot write to its database {path}: {what} is read-only.",
        f"Check the permissions of {where}: give your user write permission on it (or set "
        "KEIKO_HOME to a writable folder), then start Keiko again.",
    )


def locked_error(path: Path, holder: str = "") -> StoreError:
    """Another process holds the write lock; ``holder`` names it when it can be told."""
    who = holder or lock_holder(path) or "another Keiko window or `keiko` command"
    return StoreError(
        f"The database {path} is locked: {who} holds a write lock on it.",
        "Wait for it to finish, or close other Keiko windows and `keiko` commands, then try again.",
    )


def corrupt_error(path: Path) -> StoreError:
    return StoreError(
        f"The file {path} is damaged or is not a Keiko database.",
        "Keiko left it untouched. Move it aside (or restore a backup) and start Keiko again "
        "to create a new one.",
    )


def full_error(path: Path, *, writing: bool = True) -> StoreError:
    """The disk (or a size limit) is full; names the mount point and what is free there.
    ``writing``: a change was refused (not just found out by ``keiko doctor``)."""
    mount = mount_point(path)
    free = free_space(path)
    lost = "; the last change was not saved" if writing else ""
    kept = " Everything saved before is still there." if writing else ""
    if free is None or free < LOW_SPACE:
        left = "" if free is None else f" ({_size(free)} free)"
        return StoreError(
            f"The disk holding the database {path} is full{left}{lost}.",
            f"Free some disk space on {mount}, then try again.{kept}",
        )
    return StoreError(
        f"The database {path} is full: it could not grow{lost}. {mount} still has "
        f"{_size(free)} free, so a disk quota or a size limit was reached.",
        f"Free some disk space on {mount} or raise the quota, then try again.{kept}",
    )


def cantopen_error(path: Path, reason: str = "") -> StoreError:
    detail = f" ({reason})" if reason else ""
    return StoreError(
        f"Keiko cannot open its database {path}{detail}.",
        "Check that the folder exists and that your user may read and write it "
        "(or set KEIKO_HOME to another folder).",
    )


def ioerror(path: Path) -> StoreError:
    """A disk I/O error: a full disk when hardly any space is left, otherwise the disk."""
    free = free_space(path)
    if free is not None and free < LOW_SPACE:
        return full_error(path)
    return StoreError(
        f"A disk error occurred while reading or writing the database {path}.",
        f"Check the disk holding {mount_point(path)} (and that it is still connected), then "
        "try again.",
    )


def closed_error(path: Path) -> StoreError:
    return StoreError(
        f"The database {path} is already closed.",
        "This is a bug in Keiko; please report it.",
    )


_BUILDERS = {
    "readonly": readonly_error,
    "locked": locked_error,
    "corrupt": corrupt_error,
    "full": full_error,
    "cantopen": cantopen_error,
    "ioerror": ioerror,
}


def store_error(error: BaseException, path: Path) -> StoreError:
    """The ``StoreError`` for a failure of SQLite, SQLAlchemy or the file system."""
    if isinstance(error, StoreError):
        return error
    if isinstance(error, OSError) and not isinstance(error, sqlite3.Error):
        if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return full_error(path)
        if error.errno == errno.EROFS:
            return readonly_error(path)
        return cantopen_error(path, error.strerror or str(error))
    cause: BaseException = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        cause = error.orig
    builder = _BUILDERS.get(_kind(cause))
    if builder is not None:
        return builder(path)
    lines = str(cause).strip().splitlines()
    first_line = lines[0] if lines else type(cause).__name__
    return StoreError(
        f"The database {path} reported an error: {first_line}",
        "Try again; if it keeps happening, run `keiko doctor`.",
    )


def check_header(path: Path) -> None:
    """Refuse a non-empty file that does not start with SQLite's header, before SQLite opens it.

    SQLite would refuse it too, but only on first use; checking first guarantees Keiko never
    writes a byte into (or next to) a file that is not its database.
    """
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except IsADirectoryError as exc:
        raise cantopen_error(path, "it is a folder") from exc
    except OSError as exc:
        raise cantopen_error(path, exc.strerror or str(exc)) from exc
    if head and head != SQLITE_HEADER:
        raise corrupt_error(path)


# ---------------------------------------------------------------------- who holds the lock

_PROC_LOCKS = Path("/proc/locks")
# "1: POSIX  ADVISORY  WRITE 4242 08:01:131090 120 120" (pid, major:minor:inode, start, end)
_LOCK_LINE = re.compile(
    r"^\d+:\s+POSIX\s+\S+\s+WRITE\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s+(\d+)\s+(\d+|EOF)",
    re.IGNORECASE,
)
WAL_WRITE_LOCK = 120
"""The byte of the ``-shm`` file SQLite's WAL writer locks (``WAL_WRITE_LOCK``)."""
RESERVED_BYTE = 0x40000001
"""The byte of the database file a rollback-journal writer locks (``RESERVED_BYTE``)."""


def _file_id(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return os.major(st.st_dev), os.minor(st.st_dev), st.st_ino


def _covers(start: str, end: str, byte: int) -> bool:
    return int(start) <= byte and (end.upper() == "EOF" or byte <= int(end))


def lock_holders(path: Path, locks: str | None = None) -> list[int]:
    """Pids holding SQLite's write lock on the database ``path``, read from ``/proc/locks``
    (``locks``: its text, for tests); [] where that cannot be told (not Linux)."""
    if locks is None:
        try:
            locks = _PROC_LOCKS.read_text()
        except OSError:
            return []
    targets = []
    for file, byte in ((path.with_name(path.name + "-shm"), WAL_WRITE_LOCK), (path, RESERVED_BYTE)):
        file_id = _file_id(file)
        if file_id is not None:
            targets.append((file_id, byte))
    pids: list[int] = []
    for line in locks.splitlines():
        match = _LOCK_LINE.match(line.strip())
        if match is None:
            continue
        pid, major, minor, inode, start, end = match.groups()
        # By inode: on overlay file systems the device /proc/locks shows is the layer's
        # (minor and major are still parsed, so the line is known to be well formed).
        del major, minor
        held = any(int(inode) == fid[2] and _covers(start, end, byte) for fid, byte in targets)
        if held and int(pid) not in pids and int(pid) != os.getpid():
            pids.append(int(pid))
    return pids


def describe_process(pid: int) -> str:
    """``process 4242 (keiko ask hello)``, or ``process 4242`` when it cannot be read."""
    try:
        import psutil

        proc = psutil.Process(pid)
        words = proc.cmdline() or [proc.name()]
    except Exception:  # noqa: BLE001 - gone, or not ours to look at
        return f"process {pid}"
    if len(words) > 2 and words[1] == "-m" and words[2] == "keiko_desktop":
        words = ["keiko", *words[3:]]
    shown = " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words))
    return f"process {pid} ({shown[:80]})"


def lock_holder(path: Path) -> str:
    """The process holding the write lock on ``path`` in words, or "" when not known."""
    pids = lock_holders(path)
    return ", ".join(describe_process(pid) for pid in pids[:3])
