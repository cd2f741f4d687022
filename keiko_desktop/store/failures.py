"""Turn SQLite and SQLAlchemy failures into ``StoreError``s a user can act on.

Each message names the database file and each hint says what to do; none leaks a traceback.
"""

from __future__ import annotations

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


def readonly_error(path: Path) -> StoreError:
    return StoreError(
        f"Keiko cannot write to its database {path}: the file or its folder is read-only.",
        "Give your user write permission on the file and its folder "
        "(or set KEIKO_HOME to a writable folder), then start Keiko again.",
    )


def locked_error(path: Path) -> StoreError:
    return StoreError(
        f"The database {path} is locked by another program.",
        "Close other Keiko windows or programs using this file, then try again.",
    )


def corrupt_error(path: Path) -> StoreError:
    return StoreError(
        f"The file {path} is damaged or is not a Keiko database.",
        "Keiko left it untouched. Move it aside (or restore a backup) and start Keiko again "
        "to create a new one.",
    )


def full_error(path: Path) -> StoreError:
    return StoreError(
        f"The disk holding the database {path} is full; the last change was not saved.",
        "Free some disk space, then try again. Everything saved before is still there.",
    )


def cantopen_error(path: Path, reason: str = "") -> StoreError:
    detail = f" ({reason})" if reason else ""
    return StoreError(
        f"Keiko cannot open its database {path}{detail}.",
        "Check that the folder exists and that your user may read and write it "
        "(or set KEIKO_HOME to another folder).",
    )


def ioerror(path: Path) -> StoreError:
    return StoreError(
        f"A disk error occurred while reading or writing the database {path}.",
        "Check the disk (and that it is still connected), then try again.",
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
