"""SqliteConversationRepository: CRUD, ordering, soft delete, lazy loading, crash recovery."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.orm import Session

from keiko_desktop.core.errors import StoreError
from keiko_desktop.core.ports import ConversationRepository, MessageUpdate, Role
from keiko_desktop.store import Database, SqliteConversationRepository, open_database
from keiko_desktop.store.migrations import MIGRATIONS
from keiko_desktop.store.tables import conversations


def test_implements_the_port(repo: SqliteConversationRepository) -> None:
    port: ConversationRepository = repo  # checked by mypy
    for name in dir(ConversationRepository):
        if not name.startswith("_"):
            assert callable(getattr(port, name)), name


async def test_connection_pragmas(db: Database) -> None:
    def pragmas(session: Session) -> dict[str, object]:
        conn = session.connection()
        return {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }

    assert await db.read(pragmas) == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,  # NORMAL
        "busy_timeout": 5000,
    }


async def test_every_statement_runs_on_the_db_worker_thread(
    db: Database, repo: SqliteConversationRepository
) -> None:
    threads: set[str] = set()

    def record(*_: Any) -> None:
        threads.add(threading.current_thread().name)

    event.listen(db.engine, "before_cursor_execute", record)
    c = await repo.create_conversation("t")
    m = await repo.add_message(c.id, "user", "hi")
    await repo.update_message(m.id, MessageUpdate(content="hello"))
    await repo.list_messages(c.id)
    await repo.list_conversations()
    await repo.search("hello")
    assert threads
    assert all(name.startswith("keiko-db") for name in threads), threads
    assert threading.current_thread().name not in threads


async def test_writes_take_the_write_lock_up_front(
    db: Database, repo: SqliteConversationRepository
) -> None:
    """BEGIN IMMEDIATE makes another process wait at the start, never half-way through."""
    begins: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    await repo.create_conversation("w")
    await repo.list_conversations()
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


async def test_conversation_round_trip(repo: SqliteConversationRepository) -> None:
    before = datetime.now(UTC)
    created = await repo.create_conversation("First chat")
    assert created.title == "First chat"
    assert created.pinned is False
    assert created.message_count == 0
    assert created.created_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= created.created_at <= datetime.now(UTC)

    assert await repo.get_conversation(created.id) == created
    await repo.rename_conversation(created.id, "Renamed")
    await repo.set_pinned(created.id, True)
    got = await repo.get_conversation(created.id)
    assert got is not None
    assert (got.title, got.pinned, got.created_at) == ("Renamed", True, created.created_at)
    assert await repo.get_conversation(created.id + 1000) is None


async def test_message_round_trip_and_partial_update(repo: SqliteConversationRepository) -> None:
    c = await repo.create_conversation()
    user = await repo.add_message(c.id, "user", "What is 2+2?")
    reply = await repo.add_message(
        c.id, "assistant", "", status="streaming", model="smollm2", parent_id=user.id
    )
    assert (reply.status, reply.model, reply.parent_id) == ("streaming", "smollm2", user.id)

    await repo.update_message(reply.id, MessageUpdate(content="4", prompt_tokens=12))
    await repo.update_message(
        reply.id,
        MessageUpdate(
            status="complete",
            completion_tokens=1,
            time_to_first_token=0.25,
            tokens_per_second=31.5,
            duration=0.5,
        ),
    )
    await repo.update_message(reply.id, MessageUpdate())  # nothing to change
    got = await repo.get_message(reply.id)
    assert got is not None
    assert got.content == "4"  # kept: the second update had content=None
    assert got.prompt_tokens == 12
    assert (got.status, got.completion_tokens, got.duration) == ("complete", 1, 0.5)
    assert got.time_to_first_token == pytest.approx(0.25)
    assert got.tokens_per_second == pytest.approx(31.5)
    assert got.model == "smollm2"
    assert got.error is None

    await repo.update_message(reply.id, MessageUpdate(status="error", error="model crashed"))
    failed = await repo.get_message(reply.id)
    assert failed is not None
    assert (failed.status, failed.error, failed.content) == ("error", "model crashed", "4")

    assert await repo.count_messages(c.id) == 2
    await repo.delete_message(user.id)
    assert await repo.get_message(user.id) is None
    orphan = await repo.get_message(reply.id)
    assert orphan is not None
    assert orphan.parent_id is None  # ON DELETE SET NULL
    assert await repo.count_messages(c.id) == 1


async def test_add_message_rejects_bad_input(repo: SqliteConversationRepository) -> None:
    c = await repo.create_conversation()
    other = await repo.create_conversation()
    foreign = await repo.add_message(other.id, "user", "elsewhere")
    with pytest.raises(StoreError, match="no conversation 999"):
        await repo.add_message(999, "user", "hi")
    with pytest.raises(StoreError, match="not in conversation"):
        await repo.add_message(c.id, "assistant", "hi", parent_id=foreign.id)
    with pytest.raises(ValueError, match="role"):
        await repo.add_message(c.id, "robot", "hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status"):
        await repo.add_message(c.id, "user", "hi", status="done")  # type: ignore[arg-type]
    assert await repo.count_messages(c.id) == 0


async def test_list_orders_pinned_first_then_recently_active(
    repo: SqliteConversationRepository,
) -> None:
    a = await repo.create_conversation("a")
    b = await repo.create_conversation("b")
    c = await repo.create_conversation("c")
    assert [x.title for x in await repo.list_conversations()] == ["c", "b", "a"]

    await repo.add_message(a.id, "user", "bump")  # adding a message makes it the most recent
    listed = await repo.list_conversations()
    assert [x.title for x in listed] == ["a", "c", "b"]
    assert listed[0].updated_at > a.updated_at
    assert [x.message_count for x in listed] == [1, 0, 0]

    await repo.set_pinned(b.id, True)
    assert [x.title for x in await repo.list_conversations()] == ["b", "a", "c"]
    assert [x.title for x in await repo.list_conversations(limit=2)] == ["b", "a"]
    await repo.set_pinned(b.id, False)
    assert [x.title for x in await repo.list_conversations()] == ["a", "c", "b"]
    assert c.id in {x.id for x in await repo.list_conversations()}


async def test_soft_delete_restore_and_purge(
    db: Database, repo: SqliteConversationRepository
) -> None:
    keep = await repo.create_conversation("keep")
    old = await repo.create_conversation("old")
    recent = await repo.create_conversation("recent")
    for conv in (keep, old, recent):
        await repo.add_message(conv.id, "user", f"message in {conv.title}")

    await repo.delete_conversation(old.id)
    await repo.delete_conversation(old.id)  # twice is fine
    assert [x.title for x in await repo.list_conversations()] == ["recent", "keep"]
    assert await repo.get_conversation(old.id) is None
    assert await repo.count_messages(old.id) == 1  # nothing lost yet

    await repo.restore_conversation(old.id)  # undo
    assert {x.title for x in await repo.list_conversations()} == {"keep", "old", "recent"}

    await repo.delete_conversation(old.id)
    await repo.delete_conversation(recent.id)
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    await db.write(
        lambda s: s.execute(
            update(conversations)
            .where(conversations.c.id == old.id)
            .values(deleted_at=two_days_ago)
        )
    )
    assert await repo.purge_deleted(older_than_seconds=86400) == 1
    assert await repo.count_messages(old.id) == 0  # cascaded
    await repo.restore_conversation(old.id)  # too late: purged
    assert await repo.get_conversation(old.id) is None

    assert await repo.count_messages(recent.id) == 1  # deleted, but too recent to purge
    await repo.restore_conversation(recent.id)
    assert {x.title for x in await repo.list_conversations()} == {"keep", "recent"}

    await repo.delete_conversation(recent.id)
    assert await repo.purge_deleted() == 1
    assert [x.title for x in await repo.list_conversations()] == ["keep"]
    assert await repo.count_messages(keep.id) == 1


async def _fill(repo: SqliteConversationRepository, conversation_id: int, n: int) -> list[int]:
    ids = []
    for i in range(n):
        role: Role = "user" if i % 2 == 0 else "assistant"
        ids.append((await repo.add_message(conversation_id, role, f"message {i}")).id)
    return ids


async def test_lazy_loading_pages_back_through_500_messages(
    repo: SqliteConversationRepository,
) -> None:
    c = await repo.create_conversation("long")
    other = await repo.create_conversation("interleaved")
    ids = await _fill(repo, c.id, 500)
    await _fill(repo, other.id, 3)

    everything = await repo.list_messages(c.id)
    assert [m.id for m in everything] == ids
    assert everything[0].content == "message 0"

    latest = await repo.list_messages(c.id, limit=50)
    assert [m.id for m in latest] == ids[-50:]

    pages: list[list[int]] = []
    before: int | None = None
    while True:
        page = await repo.list_messages(c.id, limit=64, before_id=before)
        if not page:
            break
        pages.append([m.id for m in page])
        before = page[0].id
    assert [len(p) for p in pages] == [64] * 7 + [52]
    assert all(p == sorted(p) for p in pages)  # each page chronological
    assert [i for p in reversed(pages) for i in p] == ids  # nothing skipped or repeated

    assert [m.id for m in await repo.list_messages(c.id, before_id=ids[3])] == ids[:3]
    assert await repo.list_messages(c.id, limit=0) == []
    assert await repo.count_messages(c.id) == 500


async def test_mark_streaming_interrupted_after_a_crash(db_path: Path) -> None:
    db = await open_database(db_path)
    repo = db.conversations
    a = await repo.create_conversation("a")
    b = await repo.create_conversation("b")
    done = await repo.add_message(a.id, "assistant", "finished", status="complete")
    partial_a = await repo.add_message(a.id, "assistant", "half a rep", status="streaming")
    partial_b = await repo.add_message(b.id, "assistant", "half", status="streaming")
    db.close()  # the app "crashes" with two replies still streaming

    db = await open_database(db_path)
    try:
        repo = db.conversations
        assert await repo.mark_streaming_interrupted() == 2
        assert await repo.mark_streaming_interrupted() == 0
        statuses = {m.id: m.status for m in await repo.list_messages(a.id)}
        assert statuses == {done.id: "complete", partial_a.id: "interrupted"}
        got_b = await repo.get_message(partial_b.id)
        assert got_b is not None
        assert (got_b.status, got_b.content) == ("interrupted", "half")
    finally:
        await db.aclose()


async def test_concurrent_calls_are_serialised(repo: SqliteConversationRepository) -> None:
    c = await repo.create_conversation()
    stored = await asyncio.gather(*(repo.add_message(c.id, "user", f"m{i}") for i in range(100)))
    assert len({m.id for m in stored}) == 100
    assert await repo.count_messages(c.id) == 100


async def test_closed_database_raises_store_error(db_path: Path) -> None:
    db = await open_database(db_path)
    await db.aclose()
    await db.aclose()  # twice is fine
    db.close()
    assert db.closed
    with pytest.raises(StoreError, match="closed"):
        await db.conversations.list_conversations()


async def test_data_survives_reopen(db_path: Path) -> None:
    db = await open_database(db_path)
    c = await db.conversations.create_conversation("persisted")
    await db.conversations.add_message(c.id, "user", "still here")
    await db.aclose()

    db = await open_database(db_path)
    try:
        assert [x.title for x in await db.conversations.list_conversations()] == ["persisted"]
        assert [m.content for m in await db.conversations.list_messages(c.id)] == ["still here"]
        count = await db.read(
            lambda s: s.execute(text("SELECT count(*) FROM schema_migrations")).scalar_one()
        )
        assert count == len(MIGRATIONS)  # reopening applied nothing twice
    finally:
        await db.aclose()
