"""Migrations: upgrade from an old schema keeps every row, runs once, refuses newer files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.orm import Session

from keiko_desktop.core.errors import StoreError
from keiko_desktop.store import (
    MIGRATIONS,
    Database,
    applied_migrations,
    apply_migrations,
    create_sqlite_engine,
    migration_name,
    open_database,
)
from keiko_desktop.store.tables import metadata

from .store_helpers import digest, migrated_to

ALL_NAMES = [migration_name(m) for m in MIGRATIONS]


def _build_v1(path: Path) -> None:
    """A database as the first release left it: only m001, with rows written by raw SQL."""
    migrated_to(path, 1)
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [
                (1, "Old trip plans", "2024-03-01 09:00:00", "2024-03-01 09:05:00"),
                (2, "Recipes", "2024-03-02 10:00:00.250000", "2024-03-03 08:00:00.500000"),
            ],
        )
        con.executemany(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, model,"
            " completion_tokens, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, 1, None, "user", "Plan a trip to Kyoto", "complete", None, None,
                 "2024-03-01 09:00:00", "2024-03-01 09:00:00"),
                (2, 1, 1, "assistant", "Visit Fushimi Inari early", "complete", "m1", 5,
                 "2024-03-01 09:00:05", "2024-03-01 09:00:05"),
                (3, 2, None, "user", "A recipe for miso soup", "streaming", None, None,
                 "2024-03-02 10:00:00", "2024-03-02 10:00:00"),
            ],
        )  # fmt: skip
    con.close()


def _tables(path: Path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()


async def test_upgrade_from_v1_keeps_every_row_and_indexes_it(db_path: Path) -> None:
    _build_v1(db_path)
    assert "messages_fts" not in _tables(db_path)

    db = await open_database(db_path)
    try:
        assert await db.applied_migrations() == ALL_NAMES
        repo = db.conversations
        listed = await repo.list_conversations()
        assert [(c.id, c.title, c.pinned, c.message_count) for c in listed] == [
            (2, "Recipes", False, 1),
            (1, "Old trip plans", False, 2),
        ]
        assert listed[0].updated_at == datetime(2024, 3, 3, 8, 0, 0, 500000, tzinfo=UTC)
        assert listed[1].created_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

        old = await repo.list_messages(1)
        assert [(m.id, m.role, m.content, m.parent_id) for m in old] == [
            (1, "user", "Plan a trip to Kyoto", None),
            (2, "assistant", "Visit Fushimi Inari early", 1),
        ]
        assert (old[1].model, old[1].completion_tokens) == ("m1", 5)

        # m002 backfilled the index with the rows that existed before it.
        assert [h.message_id for h in await repo.search("kyoto")] == [1]
        assert [h.message_id for h in await repo.search("miso")] == [3]
        # m003's columns work on old rows.
        await repo.set_pinned(1, True)
        await repo.delete_conversation(2)
        assert [c.id for c in await repo.list_conversations()] == [1]
        assert await repo.search("miso") == []
        assert await repo.mark_streaming_interrupted() == 1

        new = await repo.add_message(1, "user", "And Nara?")
        assert new.id == 4
        assert [h.message_id for h in await repo.search("nara")] == [4]
    finally:
        await db.aclose()


def _build_v4(path: Path) -> None:
    """A database as m001..m004 left it (before reply owners), with rows by raw SQL."""
    migrated_to(path, 4)
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, pinned)"
            " VALUES (1, 'Kept', '2024-05-01 09:00:00', '2024-05-01 09:00:00', 1)"
        )
        con.executemany(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, status,"
            " created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
            [
                (1, None, "user", "Tell me about owls", "complete",
                 "2024-05-01 09:00:00", "2024-05-01 09:00:00"),
                (2, 1, "assistant", "Owls are nocturnal", "complete",
                 "2024-05-01 09:00:02", "2024-05-01 09:00:02"),
                (3, None, "user", "And ravens?", "complete",
                 "2024-05-01 09:01:00", "2024-05-01 09:01:00"),
                (4, 3, "assistant", "Ravens are cle", "streaming",
                 "2024-05-01 09:01:01", "2024-05-01 09:01:01"),
            ],
        )  # fmt: skip
    con.close()


async def test_upgrade_adds_reply_owners_and_old_streaming_rows_are_orphans(
    db_path: Path,
) -> None:
    _build_v4(db_path)
    db = await open_database(db_path)
    try:
        assert await db.applied_migrations() == ALL_NAMES
        assert "m005_message_stream_owner" in ALL_NAMES
        repo = db.conversations
        kept = await repo.list_messages(1)
        assert [(m.id, m.role, m.content, m.status, m.parent_id) for m in kept] == [
            (1, "user", "Tell me about owls", "complete", None),
            (2, "assistant", "Owls are nocturnal", "complete", 1),
            (3, "user", "And ravens?", "complete", None),
            (4, "assistant", "Ravens are cle", "streaming", 3),
        ]
        owners = await db.read(
            lambda s: s.execute(
                text("SELECT owner_pid, owner_started, owner_token FROM messages")
            ).all()
        )
        assert [tuple(o) for o in owners] == [(None, None, None)] * 4
        assert [h.message_id for h in await repo.search("ravens")] == [3, 4]

        # A streaming row from before the owners has none: nobody can still be writing it.
        assert await repo.mark_streaming_interrupted() == 1
        reply = await repo.get_message(4)
        assert reply is not None
        assert (reply.status, reply.content) == ("interrupted", "Ravens are cle")
        # New replies get an owner and are left alone while it lives.
        new = await repo.add_message(1, "assistant", "", status="streaming", parent_id=3)
        assert new.id == 5
        assert await repo.mark_streaming_interrupted() == 0
    finally:
        await db.aclose()


async def test_applying_twice_is_a_no_op(db_path: Path) -> None:
    db = await open_database(db_path)
    await db.aclose()
    engine = create_sqlite_engine(db_path)
    try:
        assert apply_migrations(engine) == []
        with engine.connect() as conn:
            assert applied_migrations(conn) == ALL_NAMES
            count = conn.execute(text("SELECT count(*) FROM schema_migrations")).scalar_one()
            assert count == len(MIGRATIONS)
    finally:
        engine.dispose()


async def test_schema_after_migrations_matches_tables_module(db: Database) -> None:
    def describe(session: Session) -> dict[str, tuple[dict[str, bool], set[str]]]:
        inspector = inspect(session.connection())
        described = {}
        for table in metadata.tables:
            key = set(inspector.get_pk_constraint(table)["constrained_columns"])
            columns = {
                c["name"]: bool(c["nullable"]) and c["name"] not in key
                for c in inspector.get_columns(table)
            }
            indexes = {str(i["name"]) for i in inspector.get_indexes(table)}
            described[table] = (columns, indexes)
        return described

    actual = await db.read(describe)
    for name, table in metadata.tables.items():
        columns, indexes = actual[name]
        assert columns == {c.name: bool(c.nullable) for c in table.columns}, name
        assert indexes == {str(i.name) for i in table.indexes}, name


def m004_broken(conn: Connection) -> None:
    conn.exec_driver_sql("CREATE TABLE half_done (x INTEGER)")
    raise RuntimeError("boom in the middle of a migration")


async def test_a_failing_migration_changes_nothing(db_path: Path) -> None:
    db = await open_database(db_path)
    await db.aclose()
    engine = create_sqlite_engine(db_path)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            apply_migrations(engine, (*MIGRATIONS, m004_broken))
        with engine.connect() as conn:
            assert applied_migrations(conn) == ALL_NAMES
    finally:
        engine.dispose()
    assert "half_done" not in _tables(db_path)  # the DDL was rolled back with it


async def test_a_newer_keikos_database_is_refused_untouched(db_path: Path) -> None:
    db = await open_database(db_path)
    await db.aclose()
    con = sqlite3.connect(db_path)
    with con:
        con.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
            ("m042_from_the_future", "2030-01-01 00:00:00"),
        )
    con.close()
    before = digest(db_path)

    with pytest.raises(StoreError) as caught:
        await open_database(db_path)
    message = str(caught.value)
    assert "m042_from_the_future" in message
    assert str(db_path) in message
    assert "newer version of Keiko" in message
    assert caught.value.hint
    assert digest(db_path) == before

    with pytest.raises(StoreError, match="m042_from_the_future"):
        await open_database(db_path, read_only=True)


async def test_read_only_open_refuses_an_old_schema(db_path: Path) -> None:
    _build_v1(db_path)
    with pytest.raises(StoreError, match="needs an upgrade"):
        await open_database(db_path, read_only=True)
    assert "messages_fts" not in _tables(db_path)
