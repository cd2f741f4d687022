"""SqliteAttachmentRepository on a real SQLite file: rows, chunks in FTS5, links, sources,
deletes that leave nothing behind, and the upgrade from a database made before m009."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from keiko_desktop.core.files.prompt import query_terms
from keiko_desktop.core.files.types import AttachmentError, Extracted, PageText
from keiko_desktop.store import Database, open_database
from keiko_desktop.store.attachments import SqliteAttachmentRepository

from .store_helpers import migrated_to

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.fixture
def files(db: Database) -> SqliteAttachmentRepository:
    return SqliteAttachmentRepository(db)


def _pdf(*pages: str) -> Extracted:
    return Extracted(
        "pdf", "application/pdf", tuple(PageText(i + 1, t) for i, t in enumerate(pages))
    )


def _chunks(*pages: str) -> list[tuple[int | None, int, str]]:
    return [(i + 1, 0, t) for i, t in enumerate(pages)]


async def _count(db: Database, sql: str) -> int:
    return int(await db.read(lambda s: s.execute(text(sql)).scalar_one()))


async def _fts_ok(db: Database) -> None:
    """FTS5's own check that the index agrees with the chunks table."""
    await db.write(
        lambda s: s.execute(text("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')"))
    )


async def test_add_stores_row_pages_and_chunks_and_same_content_is_one_row(
    db: Database, files: SqliteAttachmentRepository
) -> None:
    pages = ("Owls hunt at night.", "", "Ravens solve puzzles.")
    extracted = Extracted(
        "pdf",
        "application/pdf",
        tuple(PageText(i + 1, t) for i, t in enumerate(pages)),
        note="no text on page 2",
    )
    info = await files.add(
        SHA_A, "birds.pdf", extracted, 1234, [(1, 0, pages[0]), (3, 0, pages[2])]
    )
    assert (info.sha256, info.name, info.kind, info.mime, info.size) == (
        SHA_A,
        "birds.pdf",
        "pdf",
        "application/pdf",
        1234,
    )
    assert (info.pages, info.chars, info.chunks, info.note) == (2, 40, 2, "no text on page 2")
    assert abs(info.created_at - time.time()) < 60
    assert await files.get(info.id) == info
    assert await files.find_by_sha(SHA_A) == info
    assert await files.find_by_sha(SHA_B) is None
    assert await files.pages(info.id) == list(extracted.pages)

    again = await files.add(SHA_A, "other-name.pdf", extracted, 1234, [(1, 0, "x")])
    assert again == info
    assert await _count(db, "SELECT count(*) FROM attachments") == 1
    assert await _count(db, "SELECT count(*) FROM chunks") == 2
    assert await files.all_shas() == {SHA_A}


async def test_search_ranks_with_bm25_stems_and_stays_within_the_attachments_given(
    db: Database, files: SqliteAttachmentRepository
) -> None:
    a = await files.add(
        SHA_A,
        "report.pdf",
        _pdf(
            "The quarterly report covers revenue and costs.",
            "Revenue grew; revenue is up; the revenue report says so.",
            "Nothing about money here, only owls.",
        ),
        10,
        _chunks(
            "The quarterly report covers revenue and costs.",
            "Revenue grew; revenue is up; the revenue report says so.",
            "Nothing about money here, only owls.",
        ),
    )
    b = await files.add(
        SHA_B, "other.md", Extracted("markdown", "text/markdown", (PageText(None, "revenue"),)),
        7, [(None, 0, "revenue")],
    )  # fmt: skip

    found = await files.search([a.id], query_terms("What does it say about revenues?"), 10)
    assert [p.chunk.page for p in found] == [2, 1]  # the page saying it three times first
    assert found[0].score > found[1].score
    assert all(p.name == "report.pdf" and p.chunk.attachment_id == a.id for p in found)
    assert found[0].chunk.text.startswith("Revenue grew")
    assert found[0].label == "[report.pdf, p. 2]"

    both = await files.search([a.id, b.id], query_terms("revenue"), 10)
    assert {p.chunk.attachment_id for p in both} == {a.id, b.id}
    assert len(await files.search([a.id, b.id], query_terms("revenue"), 1)) == 1
    assert await files.search([a.id], "", 10) == []
    assert await files.search([], query_terms("revenue"), 10) == []
    # Quotes and FTS syntax in the question are only text.
    assert await files.search([a.id], query_terms('owls" OR NEAR(x'), 10) != []


async def test_first_chunks_take_turns_between_files(files: SqliteAttachmentRepository) -> None:
    a = await files.add(SHA_A, "a.pdf", _pdf("a1", "a2", "a3"), 1, _chunks("a1", "a2", "a3"))
    b = await files.add(SHA_B, "b.pdf", _pdf("b1", "b2"), 1, _chunks("b1", "b2"))
    first = await files.first_chunks([b.id, a.id], 4)
    assert [p.chunk.text for p in first] == ["b1", "a1", "b2", "a2"]
    assert [p.chunk.ordinal for p in first] == [0, 0, 1, 1]
    assert [p.chunk.text for p in await files.first_chunks([a.id], 10)] == ["a1", "a2", "a3"]


async def test_links_keep_their_order_and_a_gone_attachment_links_nothing(
    db: Database, files: SqliteAttachmentRepository
) -> None:
    repo = db.conversations
    chat = await repo.create_conversation("c")
    first = await repo.add_message(chat.id, "user", "look at these")
    second = await repo.add_message(chat.id, "user", "and this")
    a = await files.add(SHA_A, "a.pdf", _pdf("a"), 1, _chunks("a"))
    b = await files.add(SHA_B, "b.pdf", _pdf("b"), 1, _chunks("b"))

    await files.link(first.id, [b.id, a.id, b.id])
    assert [i.name for i in await files.for_message(first.id)] == ["b.pdf", "a.pdf"]
    await files.link(first.id, [a.id])  # linked already: no change
    assert [i.name for i in await files.for_message(first.id)] == ["b.pdf", "a.pdf"]
    await files.link(second.id, [a.id])
    assert [i.name for i in await files.for_conversation(chat.id)] == ["b.pdf", "a.pdf"]

    with pytest.raises(AttachmentError, match="gone") as caught:
        await files.link(second.id, [b.id, 999])
    assert caught.value.hint
    assert [i.name for i in await files.for_message(second.id)] == ["a.pdf"]

    # Deleting a message deletes its links, not the attachments.
    await repo.delete_message(first.id)
    assert [i.name for i in await files.for_conversation(chat.id)] == ["a.pdf"]
    assert await files.get(b.id) is not None


async def test_sources_keep_their_rank_and_go_with_the_chunks(
    db: Database, files: SqliteAttachmentRepository
) -> None:
    repo = db.conversations
    chat = await repo.create_conversation("c")
    user = await repo.add_message(chat.id, "user", "q")
    reply = await repo.add_message(chat.id, "assistant", "a", parent_id=user.id)
    a = await files.add(SHA_A, "a.pdf", _pdf("p1", "p2", "p3"), 1, _chunks("p1", "p2", "p3"))
    chunk_ids = [p.chunk.id for p in await files.first_chunks([a.id], 3)]

    await files.set_sources(reply.id, [chunk_ids[2], chunk_ids[0], chunk_ids[2], 424242])
    assert [p.chunk.text for p in await files.sources(reply.id)] == ["p3", "p1"]
    await files.set_sources(reply.id, [chunk_ids[1]])  # replaces
    sources = await files.sources(reply.id)
    assert [(p.chunk.text, p.name, p.chunk.page) for p in sources] == [("p2", "a.pdf", 2)]
    one = await files.chunk(chunk_ids[1])
    assert one is not None
    assert one.chunk == sources[0].chunk
    assert await files.chunk(424242) is None

    assert await files.delete_unlinked([a.id]) == [SHA_A]  # unlinked: the user message has none
    assert await files.sources(reply.id) == []
    assert await _count(db, "SELECT count(*) FROM message_sources") == 0


async def test_delete_unlinked_leaves_linked_and_young_ones_and_the_index_clean(
    db: Database, files: SqliteAttachmentRepository
) -> None:
    repo = db.conversations
    chat = await repo.create_conversation("c")
    user = await repo.add_message(chat.id, "user", "q")
    kept = await files.add(SHA_A, "kept.pdf", _pdf("linked owls"), 1, _chunks("linked owls"))
    loose = await files.add(SHA_B, "loose.pdf", _pdf("loose owls"), 1, _chunks("loose owls"))
    await files.link(user.id, [kept.id])

    assert await files.delete_unlinked([kept.id]) == []
    assert await files.delete_unlinked(older_than=time.time() - 3600) == []  # too young
    assert await files.delete_unlinked(older_than=time.time() + 60) == [SHA_B]
    assert await files.get(loose.id) is None
    assert await files.pages(loose.id) == []
    assert await _count(db, "SELECT count(*) FROM chunks") == 1
    found = await files.search([kept.id, loose.id], query_terms("owls"), 10)
    assert [p.name for p in found] == ["kept.pdf"]
    await _fts_ok(db)

    # Purging the conversation unlinks the rest; then it can go too.
    await repo.delete_conversation(chat.id)
    await repo.purge_deleted(0.0)
    assert await files.delete_unlinked() == [SHA_A]
    assert await _count(db, "SELECT count(*) FROM chunks") == 0
    assert await files.search([kept.id], query_terms("owls"), 10) == []
    await _fts_ok(db)


async def test_a_database_from_before_m009_upgrades_and_keeps_its_chats(db_path: Path) -> None:
    migrated_to(db_path, 8)
    con = sqlite3.connect(db_path)
    with con:
        con.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at)"
            " VALUES (1, 'Old', '2024-05-01 09:00:00', '2024-05-01 09:00:00')"
        )
        con.execute(
            "INSERT INTO messages (id, conversation_id, role, content, status, created_at,"
            " updated_at) VALUES (1, 1, 'user', 'hello', 'complete', '2024-05-01 09:00:00',"
            " '2024-05-01 09:00:00')"
        )
    con.close()
    db = await open_database(db_path)
    try:
        assert "m009_attachments" in await db.applied_migrations()
        files = SqliteAttachmentRepository(db)
        info = await files.add(SHA_A, "n.md", _pdf("notes"), 5, _chunks("notes"))
        await files.link(1, [info.id])
        assert [i.id for i in await files.for_conversation(1)] == [info.id]
    finally:
        await db.aclose()
