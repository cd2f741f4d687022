"""Full-text search: matching, snippets, hostile input, updates and deletes."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from keiko_desktop.core.ports import MessageUpdate
from keiko_desktop.store import Database, SqliteConversationRepository, fts_query


def _fts_integrity(session: Session) -> None:
    """Raises if the FTS index disagrees with the messages table."""
    session.execute(
        text("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    )


@pytest.mark.parametrize(
    ("user_text", "expected"),
    [
        ("fox", '"fox"*'),
        ("quick fox ", '"quick" "fox"'),
        ('foo" OR (', '"foo""" "OR"'),
        ("a*b", '"a*b"*'),
        ("NEAR(a b)", '"NEAR(a" "b)"*'),
        ("   ", None),
        ("( ) * \" '", None),
        ("", None),
        ("nul\x00byte", '"nul" "byte"*'),
    ],
)
def test_fts_query_quotes_every_term(user_text: str, expected: str | None) -> None:
    assert fts_query(user_text) == expected


async def test_search_finds_words_and_marks_them(repo: SqliteConversationRepository) -> None:
    c = await repo.create_conversation("Animals")
    hit = await repo.add_message(c.id, "user", "The quick brown fox jumps over the lazy dog")
    await repo.add_message(c.id, "assistant", "Cats are independent")

    results = await repo.search("fox")
    assert len(results) == 1
    found = results[0]
    assert (found.conversation_id, found.message_id, found.role) == (c.id, hit.id, "user")
    assert found.conversation_title == "Animals"
    assert "[fox]" in found.snippet

    assert [h.message_id for h in await repo.search("LAZY fox")] == [hit.id]  # every word
    assert [h.message_id for h in await repo.search("dog fox")] == [hit.id]  # any order
    assert await repo.search("fox cats") == []  # not in one message
    assert [h.message_id for h in await repo.search("qui")] == [hit.id]  # word being typed
    assert await repo.search("qui ") == []  # a finished word is not a prefix
    assert await repo.search("elephant") == []


async def test_search_ignores_case_and_accents(repo: SqliteConversationRepository) -> None:
    c = await repo.create_conversation()
    m = await repo.add_message(c.id, "assistant", "Rendez-vous au Café de Flore")
    assert [h.message_id for h in await repo.search("cafe")] == [m.id]
    assert [h.message_id for h in await repo.search("CAFÉ")] == [m.id]


HOSTILE = [
    'foo" OR (',
    '"',
    '""',
    "*",
    "foo*",
    "AND",
    "OR",
    "NOT",
    "foo AND",
    "AND OR NOT",
    "(",
    ")",
    "((foo)",
    "NEAR(foo bar, 2)",
    "content:foo",
    "messages_fts:foo",
    "{content}: foo",
    "^foo",
    "-foo",
    "+foo",
    "foo'bar",
    "'; DROP TABLE messages; --",
    "\x00",
    "foo\x00bar",
    "\\",
    "%_",
    "😀 emoji",
    "a" * 5000,
]


@pytest.mark.parametrize("user_text", HOSTILE)
async def test_hostile_input_never_raises(
    repo: SqliteConversationRepository, user_text: str
) -> None:
    c = await repo.create_conversation()
    await repo.add_message(c.id, "user", "foo bar baz and or not")
    results = await repo.search(user_text)
    assert isinstance(results, list)
    assert await repo.count_messages(c.id) == 1


async def test_random_input_never_raises(repo: SqliteConversationRepository) -> None:
    c = await repo.create_conversation()
    await repo.add_message(c.id, "user", 'say "hello" (or not) * AND: NEAR')
    alphabet = "abc AND OR NOT NEAR \"*()^:+-{},.'\\\x00\t\n é😀"
    rng = random.Random(1234)
    for _ in range(300):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25)))
        await repo.search(query)  # must not raise


async def test_operators_are_plain_words(repo: SqliteConversationRepository) -> None:
    c = await repo.create_conversation()
    with_or = await repo.add_message(c.id, "user", "tea or coffee")
    await repo.add_message(c.id, "user", "tea only")
    # As FTS syntax "tea OR coffee" would match both; as words only the first has all three.
    assert [h.message_id for h in await repo.search("tea OR coffee")] == [with_or.id]
    quoted = await repo.add_message(c.id, "user", 'she said "hi" to me')
    assert [h.message_id for h in await repo.search('"hi"')] == [quoted.id]


async def test_update_and_delete_reach_the_index(
    db: Database, repo: SqliteConversationRepository
) -> None:
    c = await repo.create_conversation()
    m = await repo.add_message(c.id, "assistant", "", status="streaming")
    assert await repo.search("quantum") == []
    await repo.update_message(m.id, MessageUpdate(content="Quantum computing uses qubits"))
    assert [h.message_id for h in await repo.search("quantum")] == [m.id]
    await repo.update_message(m.id, MessageUpdate(content="Classical bits only"))
    assert await repo.search("quantum") == []
    assert [h.message_id for h in await repo.search("classical")] == [m.id]
    await repo.update_message(m.id, MessageUpdate(status="complete"))  # content untouched
    assert [h.message_id for h in await repo.search("classical")] == [m.id]
    await repo.delete_message(m.id)
    assert await repo.search("classical") == []
    await db.read(_fts_integrity)


async def test_deleted_conversations_are_not_found(
    db: Database, repo: SqliteConversationRepository
) -> None:
    visible = await repo.create_conversation("visible")
    hidden = await repo.create_conversation("hidden")
    await repo.add_message(visible.id, "user", "shared keyword")
    await repo.add_message(hidden.id, "user", "shared keyword")
    assert len(await repo.search("keyword")) == 2

    await repo.delete_conversation(hidden.id)
    assert [h.conversation_id for h in await repo.search("keyword")] == [visible.id]
    await repo.restore_conversation(hidden.id)
    assert len(await repo.search("keyword")) == 2

    await repo.delete_conversation(hidden.id)
    assert await repo.purge_deleted() == 1
    assert [h.conversation_id for h in await repo.search("keyword")] == [visible.id]
    await db.read(_fts_integrity)  # the cascade removed the purged rows from the index


async def test_equal_matches_come_newest_first_and_limit_applies(
    repo: SqliteConversationRepository,
) -> None:
    c = await repo.create_conversation()
    ids = [(await repo.add_message(c.id, "user", "same words here")).id for _ in range(5)]
    assert [h.message_id for h in await repo.search("words")] == ids[::-1]
    assert [h.message_id for h in await repo.search("words", limit=2)] == ids[:-3:-1]
    assert await repo.search("words", limit=0) == []


async def test_better_match_ranks_first(repo: SqliteConversationRepository) -> None:
    c = await repo.create_conversation()
    strong = await repo.add_message(c.id, "user", "python python python")
    await repo.add_message(
        c.id, "user", "a long message that mentions python once among many other words"
    )
    hits = await repo.search("python")
    assert len(hits) == 2
    assert hits[0].message_id == strong.id
