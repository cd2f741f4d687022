"""Helpers for the store tests."""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

NOBODY = 65534


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_as_nobody(fn: Callable[[], object]) -> object:
    """Run ``fn`` in a forked child with the uid/gid of ``nobody``; return what it returned.

    As root, file permissions do not stop writes, so tests of a read-only file drop privileges
    for real. Everything ``fn`` needs must already be imported: nobody may not read the venv's
    base interpreter. An exception in the child comes back as ``("raised", type, message)``.
    """
    if not hasattr(os, "fork"):
        pytest.skip("no os.fork on this platform")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        status = 0
        try:
            os.close(read_end)
            try:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            except PermissionError:
                result: object = ("cannot-drop-privileges",)
            else:
                try:
                    result = ("returned", fn())
                except BaseException as exc:  # noqa: BLE001 - reported to the parent
                    result = ("raised", type(exc).__name__, str(exc))
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(result, out)
        except BaseException:  # noqa: BLE001 - the child must never return into pytest
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as inp:
        data = inp.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the unprivileged child crashed"
    assert data, "the unprivileged child reported nothing"
    result = pickle.loads(data)
    if result == ("cannot-drop-privileges",):
        pytest.skip("running as root without the right to switch to uid nobody")
    return result


SEED_TITLE = "precious"
SEED_TEXT = "do not lose me"


async def seed(path: Path) -> None:
    """A database at ``path`` holding one chat (``SEED_TITLE``) with one message."""
    from keiko_desktop.store import open_database

    db = await open_database(path)
    try:
        c = await db.conversations.create_conversation(SEED_TITLE)
        await db.conversations.add_message(c.id, "user", SEED_TEXT)
    finally:
        await db.aclose()


def migrated_to(path: Path, count: int) -> None:
    """A new database at ``path`` with only the first ``count`` migrations applied (a file
    as an older Keiko left it), to fill by raw SQL."""
    from keiko_desktop.store.database import create_sqlite_engine
    from keiko_desktop.store.migrations import MIGRATIONS, apply_migrations, migration_name

    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_sqlite_engine(path)
    try:
        applied = apply_migrations(engine, MIGRATIONS[:count])
        assert applied == [migration_name(m) for m in MIGRATIONS[:count]]
    finally:
        engine.dispose()
