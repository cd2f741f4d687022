"""Failures become StoreErrors that name the file and say what to do; nothing stored is lost."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from keiko_desktop.core.errors import StoreError
from keiko_desktop.store import Database, open_database

from .store_helpers import SEED_TEXT, digest, run_as_nobody, seed

SHORT_TIMEOUT_MS = 200


def _assert_actionable(error: StoreError, path: Path, *words: str) -> None:
    text = str(error)
    assert str(path) in error.message
    assert error.hint
    assert "Traceback" not in text
    assert "sqlalchemy" not in text.lower()
    for word in words:
        assert word in text.lower(), f"{word!r} not in {text!r}"


async def _assert_seed_intact(path: Path) -> None:
    db = await open_database(path)
    try:
        [conversation] = await db.conversations.list_conversations()
        messages = await db.conversations.list_messages(conversation.id)
        assert [m.content for m in messages] == [SEED_TEXT]
    finally:
        await db.aclose()


# ---------------------------------------------------------------- not a database


def _write_random_bytes(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(8192))


def _scramble_after_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[16:] = os.urandom(len(data) - 16)
    path.write_bytes(bytes(data))


async def test_random_bytes_are_refused_and_left_untouched(db_path: Path) -> None:
    _write_random_bytes(db_path)
    before = digest(db_path)
    with pytest.raises(StoreError) as caught:
        await open_database(db_path)
    _assert_actionable(caught.value, db_path, "not a keiko database", "untouched")
    assert digest(db_path) == before
    assert not [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name + "-")]


async def test_damaged_database_is_refused_and_left_untouched(db_path: Path) -> None:
    """A real SQLite header followed by garbage: SQLite itself must report it."""
    await seed(db_path)
    _scramble_after_header(db_path)
    before = digest(db_path)
    with pytest.raises(StoreError) as caught:
        await open_database(db_path)
    _assert_actionable(caught.value, db_path, "damaged")
    assert digest(db_path) == before


async def test_a_folder_in_place_of_the_file(db_path: Path) -> None:
    os.makedirs(db_path)
    with pytest.raises(StoreError) as caught:
        await open_database(db_path)
    _assert_actionable(caught.value, db_path, "cannot open")


# ---------------------------------------------------------------- locked


def _hold_exclusive_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    return other


async def test_locked_database_at_open(db_path: Path) -> None:
    await seed(db_path)
    other = _hold_exclusive_lock(db_path)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            await open_database(db_path, busy_timeout_ms=SHORT_TIMEOUT_MS)
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    _assert_actionable(caught.value, db_path, "locked", "close other keiko")
    assert SHORT_TIMEOUT_MS / 1000 * 0.8 <= waited < 5  # it waited for the lock, briefly
    await _assert_seed_intact(db_path)


async def test_locked_new_style_database_at_open(db_path: Path) -> None:
    """A rollback-journal file locked by another program: even switching to WAL must wait."""
    sqlite3.connect(db_path).close()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("CREATE TABLE theirs (x)")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError) as caught:
            await open_database(db_path, busy_timeout_ms=SHORT_TIMEOUT_MS)
    finally:
        other.execute("ROLLBACK")
        other.close()
    _assert_actionable(caught.value, db_path, "locked")


async def test_locked_database_while_writing(db_path: Path) -> None:
    db = await open_database(db_path, busy_timeout_ms=SHORT_TIMEOUT_MS)
    try:
        repo = db.conversations
        c = await repo.create_conversation("mine")
        other = _hold_exclusive_lock(db_path)
        try:
            with pytest.raises(StoreError) as caught:
                await repo.add_message(c.id, "user", "blocked")
            _assert_actionable(caught.value, db_path, "locked")
            assert [x.title for x in await repo.list_conversations()] == ["mine"]  # WAL reads
        finally:
            other.execute("ROLLBACK")
            other.close()
        await repo.add_message(c.id, "user", "after the lock")  # recovers by itself
        assert [m.content for m in await repo.list_messages(c.id)] == ["after the lock"]
    finally:
        await db.aclose()


# ---------------------------------------------------------------- full disk


async def test_full_disk_is_reported_and_earlier_data_kept(db_path: Path) -> None:
    await seed(db_path)
    db = await open_database(db_path)
    try:

        def cap_size(session: Session) -> None:
            conn = session.connection()
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL past this

        await db.write(cap_size)
        [conversation] = await db.conversations.list_conversations()
        with pytest.raises(StoreError) as caught:
            await db.conversations.add_message(conversation.id, "user", "x" * 2_000_000)
        _assert_actionable(caught.value, db_path, "full", "free some disk space")
        assert await db.conversations.count_messages(conversation.id) == 1
    finally:
        await db.aclose()
    await _assert_seed_intact(db_path)


# ---------------------------------------------------------------- read-only


async def test_read_only_mode_reads_and_refuses_writes(db_path: Path) -> None:
    await seed(db_path)
    before = digest(db_path)
    db = await open_database(db_path, read_only=True)
    try:
        [conversation] = await db.conversations.list_conversations()
        assert [h.message_id for h in await db.conversations.search("lose")]
        with pytest.raises(StoreError) as caught:
            await db.conversations.add_message(conversation.id, "user", "nope")
        _assert_actionable(caught.value, db_path, "read-only")
    finally:
        await db.aclose()
    assert digest(db_path) == before


async def test_sqlite_read_only_connection_reports_read_only(db_path: Path) -> None:
    """SQLite's own refusal (``mode=ro``) is translated too, not just our guard in ``write``."""
    await seed(db_path)
    db = await open_database(db_path, read_only=True)
    try:
        with pytest.raises(StoreError) as caught:
            await db.read(lambda s: s.connection().exec_driver_sql("DELETE FROM messages"))
        _assert_actionable(caught.value, db_path, "read-only", "write permission")
    finally:
        await db.aclose()
    await _assert_seed_intact(db_path)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside the (root-only) pytest tmp tree, so uid nobody can reach it."""
    path = Path(tempfile.mkdtemp(prefix="keiko-store-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        path.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


def _open_error(path: Path) -> tuple[str, str] | None:
    """Open and close ``path``; the StoreError's text if that fails."""
    try:
        db = asyncio.run(open_database(path))
    except StoreError as exc:
        return ("StoreError", str(exc))
    db.close()
    return None


def _as_user_without_rights(path: Path) -> tuple[str, str] | None:
    if os.geteuid() != 0:
        return _open_error(path)
    result = run_as_nobody(lambda: _open_error(path))  # root ignores file permissions
    assert isinstance(result, tuple), result
    assert result[0] == "returned", result
    outcome = result[1]
    assert outcome is None or isinstance(outcome, tuple)
    return outcome


def test_read_only_file_is_refused(shared_dir: Path) -> None:
    path = shared_dir / "keiko.sqlite3"
    asyncio.run(seed(path))
    shared_dir.chmod(0o777)  # the folder is writable: only the file is read-only
    path.chmod(0o444)
    before = digest(path)

    outcome = _as_user_without_rights(path)

    assert outcome is not None, "opening a read-only file should fail"
    kind, text = outcome
    assert kind == "StoreError"
    assert str(path) in text
    assert "read-only" in text
    assert "write permission" in text
    assert digest(path) == before
    path.chmod(0o644)
    asyncio.run(_assert_seed_intact(path))


def test_read_only_folder_is_refused(shared_dir: Path) -> None:
    asyncio.run(seed(shared_dir / "warm-up.sqlite3"))  # imports everything the child needs
    folder = shared_dir / "locked-down"
    folder.mkdir()
    folder.chmod(0o555)
    path = folder / "keiko.sqlite3"

    outcome = _as_user_without_rights(path)

    assert outcome is not None, "creating a database in a read-only folder should fail"
    kind, text = outcome
    assert kind == "StoreError"
    assert str(path) in text
    assert "cannot open" in text.lower() or "read-only" in text
    assert not path.exists()


async def test_database_object_repr_and_state(db: Database) -> None:
    assert "open" in repr(db)
    assert not db.closed
