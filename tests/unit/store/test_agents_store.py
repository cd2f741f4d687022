"""Agents in the store: profiles saved and read back, unique names whatever the case, the
shipped agents seeded once per database, conversations bound to an agent, and m007 on an older
database keeping what it had."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from keiko_desktop.core.agents.errors import AgentError, AgentProfileError
from keiko_desktop.core.agents.ports import AgentRepository
from keiko_desktop.core.agents.profiles import SHIPPED_PROFILES, AgentProfile
from keiko_desktop.core.errors import StoreError
from keiko_desktop.store import (
    MIGRATIONS,
    Database,
    SqliteAgentRepository,
    migration_name,
    open_database,
)
from tests.unit.store.store_helpers import migrated_to

RESEARCHER = AgentProfile(
    name="Researcher",
    description="Looks things up.",
    system_prompt="Be careful.",
    icon="search",
    model="qwen.gguf",
    tools=("files.read_file", "notes"),
    temperature=0.2,
    max_tokens=800,
    max_steps=6,
    step_timeout=30.0,
    retries=2,
    retry_backoff=0.5,
    tags=("research",),
)


async def _agent_id_of(database: Database, conversation_id: int) -> int | None:
    def run(session: Session) -> int | None:
        query = text("SELECT agent_id FROM conversations WHERE id = :id")
        value = session.execute(query.bindparams(id=conversation_id)).scalar_one()
        return None if value is None else int(value)

    return await database.read(run)


def test_the_repository_is_the_port(database: Database) -> None:
    repo: AgentRepository = database.agents  # mypy checks it implements the Protocol
    assert repo is database.agents  # one per Database, made once
    assert isinstance(repo, SqliteAgentRepository)


def test_importing_the_store_does_not_load_the_agents_repositories() -> None:
    code = (
        "import sys, keiko_desktop.store\n"
        "print(sorted(m for m in sys.modules"
        " if m in ('keiko_desktop.store.agents', 'keiko_desktop.store.runs')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


async def test_a_profile_round_trips_every_field(database: Database) -> None:
    saved = await database.agents.save_agent(RESEARCHER)
    assert saved.id is not None
    assert saved == RESEARCHER  # ids are not compared
    for spelling in ("Researcher", "researcher", "  RESEARCHER "):
        got = await database.agents.get_agent(spelling)
        assert got == RESEARCHER
        assert got is not None
        assert got.id == saved.id
    assert await database.agents.get_agent("Nobody") is None


async def test_save_updates_by_id_and_renames(database: Database) -> None:
    repo = database.agents
    first = await repo.save_agent(AgentProfile(name="Writer"))
    second = await repo.save_agent(AgentProfile(name="Coder", tools=("files",)))
    edited = await repo.save_agent(replace(first, name="Poet", temperature=1.1))
    assert edited.id == first.id
    assert await repo.get_agent("Writer") is None
    poet = await repo.get_agent("poet")
    assert poet is not None
    assert (poet.id, poet.temperature) == (first.id, 1.1)
    assert [(a.id, a.name) for a in await repo.list_agents()] == [
        (first.id, "Poet"),
        (second.id, "Coder"),
    ]
    # The name is stored trimmed; changing only its case is no clash with itself.
    recased = await repo.save_agent(replace(edited, name="  POET  "))
    assert recased.name == "POET"
    assert [a.name for a in await repo.list_agents()] == ["POET", "Coder"]


async def test_names_are_unique_whatever_the_case(database: Database) -> None:
    repo = database.agents
    writer = await repo.save_agent(AgentProfile(name="Writer"))
    author = await repo.save_agent(AgentProfile(name="Écrivain"))
    for clash in ("writer", "WRITER", " Writer ", "ÉCRIVAIN"):
        with pytest.raises(AgentProfileError) as caught:
            await repo.save_agent(AgentProfile(name=clash))
        assert caught.value.field == "name"
        assert "already named" in caught.value.message
    with pytest.raises(AgentProfileError, match="already named 'Writer'"):  # renaming onto it
        await repo.save_agent(replace(author, name="wRITER"))
    assert [a.name for a in await repo.list_agents()] == ["Writer", "Écrivain"]
    assert await repo.get_agent("écrivain") == author
    assert writer.id != author.id


async def test_invalid_profiles_and_unknown_ids_are_refused(database: Database) -> None:
    repo = database.agents
    with pytest.raises(AgentProfileError) as caught:
        await repo.save_agent(AgentProfile(name="Hot", temperature=9.0))
    assert caught.value.field == "temperature"
    with pytest.raises(AgentProfileError, match="'name'"):
        await repo.save_agent(AgentProfile(name="   "))
    with pytest.raises(AgentError, match="no agent 4242"):
        await repo.save_agent(replace(AgentProfile(name="Ghost"), id=4242))
    assert await repo.list_agents() == []


async def test_delete_by_name_any_case(database: Database) -> None:
    repo = database.agents
    await repo.save_agent(AgentProfile(name="Summarizer"))
    assert await repo.delete_agent("SUMMARIZER")
    assert not await repo.delete_agent("Summarizer")
    assert await repo.list_agents() == []


async def test_a_stored_field_that_no_longer_passes_falls_back_to_its_default(
    database: Database,
) -> None:
    saved = await database.agents.save_agent(AgentProfile(name="Old", max_steps=5))
    profile = json.dumps({"temperature": 99, "max_steps": 5, "tools": ["bad name!"], "x": 1})

    def damage(session: Session) -> None:
        session.execute(
            text("UPDATE agents SET profile = :p WHERE id = :id").bindparams(p=profile, id=saved.id)
        )

    await database.write(damage)
    got = await database.agents.get_agent("old")
    assert got == AgentProfile(name="Old", max_steps=5)  # the bad fields at their defaults
    unreadable = text("UPDATE agents SET profile = 'not json' WHERE id = :id")
    await database.write(lambda s: s.execute(unreadable, {"id": saved.id}))
    assert await database.agents.list_agents() == [AgentProfile(name="Old")]


# ---------------------------------------------------------------------- seeding


async def test_the_shipped_agents_are_seeded_once(database: Database) -> None:
    repo = database.agents
    assert await repo.seed_agents(SHIPPED_PROFILES) == len(SHIPPED_PROFILES)
    listed = await repo.list_agents()
    assert listed == list(SHIPPED_PROFILES)  # in the order shipped, with every field
    assert all(a.builtin and a.id is not None for a in listed)
    assert await repo.seed_agents(SHIPPED_PROFILES) == 0
    assert len(await repo.list_agents()) == len(SHIPPED_PROFILES)


async def test_deleting_every_agent_does_not_bring_the_shipped_ones_back(
    database: Database,
) -> None:
    """A choice: the user deleted them on purpose, so the next start must not undo it."""
    assert await database.agents.seed_agents(SHIPPED_PROFILES) == len(SHIPPED_PROFILES)
    for agent in await database.agents.list_agents():
        assert await database.agents.delete_agent(agent.name)
    path = database.path
    await database.aclose()
    reopened = await open_database(path)
    try:
        assert await reopened.agents.seed_agents(SHIPPED_PROFILES) == 0
        assert await reopened.agents.list_agents() == []
    finally:
        await reopened.aclose()


async def test_an_agent_saved_before_seeding_means_no_seeding(database: Database) -> None:
    await database.agents.save_agent(AgentProfile(name="Mine"))
    await database.agents.delete_agent("Mine")  # even gone again: an agent was stored
    assert await database.agents.seed_agents(SHIPPED_PROFILES) == 0
    assert await database.agents.list_agents() == []


async def test_seeding_checks_profiles_and_skips_a_repeated_name(database: Database) -> None:
    with pytest.raises(AgentProfileError):
        await database.agents.seed_agents([AgentProfile(name="Bad", max_tokens=1)])
    assert await database.agents.seed_agents([]) == 0  # nothing checked was stored
    # (an empty seed still counts as the first start)
    assert await database.agents.seed_agents(SHIPPED_PROFILES) == 0


async def test_seeding_keeps_the_first_of_a_repeated_name(database: Database) -> None:
    twice = [AgentProfile(name="Twin", temperature=0.1), AgentProfile(name="TWIN")]
    assert await database.agents.seed_agents(twice) == 1
    assert await database.agents.list_agents() == [twice[0]]


# ---------------------------------------------------------------------- conversations


async def test_a_conversation_is_bound_to_an_agent_by_id(database: Database) -> None:
    agents = database.agents
    chat = await database.conversations.create_conversation("with an agent")
    other = await database.conversations.create_conversation("plain")
    writer = await agents.save_agent(AgentProfile(name="Writer"))
    assert await agents.conversation_agent(chat.id) is None

    await agents.set_conversation_agent(chat.id, "writer")
    assert await agents.conversation_agent(chat.id) == writer
    assert await _agent_id_of(database, chat.id) == writer.id
    assert await agents.conversation_agent(other.id) is None
    renamed = await agents.save_agent(replace(writer, name="Poet"))  # the binding follows
    assert await agents.conversation_agent(chat.id) == renamed

    await agents.set_conversation_agent(chat.id, None)
    assert await agents.conversation_agent(chat.id) is None
    assert await agents.conversation_agent(9999) is None


async def test_binding_refuses_unknown_agents_and_conversations(database: Database) -> None:
    chat = await database.conversations.create_conversation("c")
    await database.agents.save_agent(AgentProfile(name="Writer"))
    await database.agents.set_conversation_agent(chat.id, "Writer")
    with pytest.raises(AgentError, match="no agent named 'Nobody'"):
        await database.agents.set_conversation_agent(chat.id, "Nobody")
    assert await database.agents.conversation_agent(chat.id) is not None  # unchanged
    with pytest.raises(StoreError, match="no conversation 777"):
        await database.agents.set_conversation_agent(777, "Writer")


async def test_deleting_an_agent_makes_its_conversations_plain_chats(database: Database) -> None:
    chat = await database.conversations.create_conversation("c")
    await database.conversations.add_message(chat.id, "user", "hello")
    await database.agents.save_agent(AgentProfile(name="Writer"))
    await database.agents.set_conversation_agent(chat.id, "Writer")
    assert await database.agents.delete_agent("Writer")
    assert await _agent_id_of(database, chat.id) is None  # ON DELETE SET NULL
    assert await database.agents.conversation_agent(chat.id) is None
    assert await database.conversations.count_messages(chat.id) == 1
    kept = await database.conversations.get_conversation(chat.id)
    assert kept is not None
    assert kept.title == "c"


# ---------------------------------------------------------------------- migration


def _build_v6(path: Path) -> None:
    """A database as m001..m006 left it, with a conversation, messages and a policy."""
    names = [migration_name(m) for m in MIGRATIONS]
    assert names.index("m007_agents_runs_spans") == 6
    migrated_to(path, 6)
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, pinned)"
            " VALUES (1, 'Kept chat', '2024-06-01 09:00:00', '2024-06-01 09:00:00', 1)"
        )
        con.executemany(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, status,"
            " created_at, updated_at) VALUES (?, 1, ?, ?, ?, 'complete', ?, ?)",
            [
                (1, None, "user", "Tell me about otters", "2024-06-01 09:00:00",
                 "2024-06-01 09:00:00"),
                (2, 1, "assistant", "Otters hold hands", "2024-06-01 09:00:01",
                 "2024-06-01 09:00:01"),
            ],
        )  # fmt: skip
        con.execute(
            "INSERT INTO tool_policies (tool, policy, updated_at, fingerprint)"
            " VALUES ('files.read_file', 'never', '2024-06-01 09:00:00', 'f.p')"
        )
    con.close()


async def test_m007_keeps_an_older_databases_rows_and_seeds_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keiko.sqlite3"
    _build_v6(path)
    database = await open_database(path)
    try:
        assert "m007_agents_runs_spans" in await database.applied_migrations()
        listed = await database.conversations.list_conversations()
        assert [(c.id, c.title, c.pinned, c.message_count) for c in listed] == [
            (1, "Kept chat", True, 2)
        ]
        kept = await database.conversations.list_messages(1)
        assert [(m.id, m.content, m.parent_id) for m in kept] == [
            (1, "Tell me about otters", None),
            (2, "Otters hold hands", 1),
        ]
        assert {h.message_id for h in await database.conversations.search("otters")} == {1, 2}
        policy = await database.read(
            lambda s: s.execute(text("SELECT policy, fingerprint FROM tool_policies")).one()
        )
        assert tuple(policy) == ("never", "f.p")
        assert await _agent_id_of(database, 1) is None

        # An upgraded database never had agents: the first start seeds them.
        assert await database.agents.seed_agents(SHIPPED_PROFILES) == len(SHIPPED_PROFILES)
        await database.agents.set_conversation_agent(1, "Researcher")
        bound = await database.agents.conversation_agent(1)
        assert bound is not None
        assert bound.name == "Researcher"
        run = await database.runs.create_run("agent", "otters?", agent="Researcher")
        assert run.id == 1
    finally:
        await database.aclose()
