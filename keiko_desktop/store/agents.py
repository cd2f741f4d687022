"""Agents over SQLite: ``SqliteAgentRepository`` (``core.agents.ports``' ``AgentRepository``;
tables made by ``m007_agents_runs_spans``). ``SqliteRunRepository`` lives in ``runs.py``.

An agent's name is a column, unique compared by ``casefold`` (``name_key``), so "Writer" and
"WRITER" clash, and so do "Écrit" and "ÉCRIT"; the rest of its profile is JSON
(``profile_to_dict``), so a new profile field needs no migration. The shipped agents are seeded
once per database: ``store_meta`` remembers that an agent was ever stored (seeded or saved), so a
user who deleted every agent does not get them back on the next start. A conversation is bound
to an agent by id (``conversations.agent_id``): renaming keeps the binding, deleting the agent
makes it a plain chat (``ON DELETE SET NULL``). Every method runs on the database's worker
thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, delete, func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from keiko_desktop.core.agents.errors import AgentError, AgentProfileError
from keiko_desktop.core.agents.profiles import AgentProfile, profile_from_dict, profile_to_dict
from keiko_desktop.core.errors import StoreError
from keiko_desktop.store.runs import SqliteRunRepository
from keiko_desktop.store.sql import rowcount
from keiko_desktop.store.tables import agents, conversations, store_meta, utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from keiko_desktop.store.database import Database

__all__ = ["AGENTS_SEEDED", "SqliteAgentRepository", "SqliteRunRepository"]

log = logging.getLogger(__name__)

AGENTS_SEEDED = "agents_seeded"
"""The ``store_meta`` key set once any agent was stored (seeded or saved)."""


def _key(name: str) -> str:
    return name.strip().casefold()


def _profile_json(profile: AgentProfile) -> str:
    data = profile_to_dict(profile)
    data.pop("name")
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _profile(row: Row[Any]) -> AgentProfile:
    """The stored profile. A field an older or damaged row holds that no longer passes the
    checks falls back to its default (logged), so one bad field never hides the agent."""
    try:
        data = json.loads(row.profile)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        log.warning("agent %r has a damaged profile; using the defaults", row.name)
        data = {}
    data["name"] = row.name
    for _ in range(len(data) + 1):
        try:
            return replace(profile_from_dict(data), id=row.id)
        except AgentProfileError as exc:
            field = exc.field.split("[", 1)[0]
            if field == "name" or field not in data:
                break
            log.warning("agent %r: stored %s", row.name, exc.message)
            del data[field]
    return AgentProfile(name=row.name, id=row.id)


def _mark_seeded(session: Session, now: datetime) -> None:
    session.execute(
        sqlite_insert(store_meta)
        .values(key=AGENTS_SEEDED, value=now.isoformat(), updated_at=now)
        .on_conflict_do_nothing(index_elements=[store_meta.c.key])
    )


def _agent_id(session: Session, name: str) -> int | None:
    return session.execute(select(agents.c.id).where(agents.c.name_key == _key(name))).scalar()


class SqliteAgentRepository:
    """Agent profiles and which agent a conversation talks to (implements ``AgentRepository``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def list_agents(self) -> list[AgentProfile]:
        """Every agent, in the order they were made (the shipped ones first, as shipped)."""

        def run(session: Session) -> list[AgentProfile]:
            return [_profile(row) for row in session.execute(select(agents).order_by(agents.c.id))]

        return await self._db.read(run)

    async def get_agent(self, name: str) -> AgentProfile | None:
        """The agent named ``name`` (any case), or None."""

        def run(session: Session) -> AgentProfile | None:
            row = session.execute(select(agents).where(agents.c.name_key == _key(name))).first()
            return None if row is None else _profile(row)

        return await self._db.read(run)

    async def save_agent(self, profile: AgentProfile) -> AgentProfile:
        """Insert (``id`` None) or update (by ``id``) the checked profile; it comes back with
        its id. ``AgentProfileError`` on ``name`` when another agent has that name (any case),
        on the first bad field otherwise; ``AgentError`` when ``id`` names no agent."""
        checked = profile_from_dict(profile_to_dict(profile))
        key = _key(checked.name)

        def run(session: Session) -> AgentProfile:
            now = utcnow()
            clash = session.execute(
                select(agents.c.id, agents.c.name).where(agents.c.name_key == key)
            ).first()
            if clash is not None and clash.id != profile.id:
                raise AgentProfileError(
                    "name",
                    f"another agent is already named {clash.name!r}.",
                    "Choose another name (names are compared without case).",
                )
            values = {
                "name": checked.name,
                "name_key": key,
                "profile": _profile_json(checked),
                "updated_at": now,
            }
            if profile.id is None:
                agent_id = session.execute(
                    insert(agents).values(created_at=now, **values).returning(agents.c.id)
                ).scalar_one()
            else:
                agent_id = profile.id
                found = session.execute(
                    sql_update(agents).where(agents.c.id == agent_id).values(values)
                )
                if rowcount(found) == 0:
                    raise AgentError(
                        f"There is no agent {agent_id} to save {checked.name!r} over.",
                        "It was deleted meanwhile; save it as a new agent.",
                    )
            _mark_seeded(session, now)
            return replace(checked, id=agent_id)

        return await self._db.write(run)

    async def delete_agent(self, name: str) -> bool:
        """Delete the agent named ``name`` (any case); its conversations become plain chats.
        True when there was one."""

        def run(session: Session) -> int:
            return rowcount(session.execute(delete(agents).where(agents.c.name_key == _key(name))))

        return bool(await self._db.write(run))

    async def seed_agents(self, profiles: Sequence[AgentProfile]) -> int:
        """Insert ``profiles`` (checked; a repeated name once) if this database never stored
        an agent; how many went in. Deleting every agent later does not bring them back."""
        checked = [profile_from_dict(profile_to_dict(p)) for p in profiles]

        def run(session: Session) -> int:
            now = utcnow()
            seeded = session.execute(
                select(store_meta.c.key).where(store_meta.c.key == AGENTS_SEEDED)
            ).first()
            stored = session.execute(select(func.count(agents.c.id))).scalar_one()
            _mark_seeded(session, now)
            if seeded is not None or stored:
                return 0
            keys: set[str] = set()
            for profile in checked:
                key = _key(profile.name)
                if key in keys:
                    continue
                keys.add(key)
                session.execute(
                    insert(agents).values(
                        name=profile.name,
                        name_key=key,
                        profile=_profile_json(profile),
                        created_at=now,
                        updated_at=now,
                    )
                )
            return len(keys)

        return await self._db.write(run)

    async def set_conversation_agent(self, conversation_id: int, name: str | None) -> None:
        """Bind the conversation to the agent ``name`` (None: a plain chat again).
        ``AgentError`` for an unknown agent, ``StoreError`` for an unknown conversation."""

        def run(session: Session) -> None:
            agent_id = None
            if name is not None:
                agent_id = _agent_id(session, name)
                if agent_id is None:
                    raise AgentError(
                        f"There is no agent named {name!r}.", "Choose one of the agents listed."
                    )
            found = session.execute(
                sql_update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(agent_id=agent_id)
            )
            if rowcount(found) == 0:
                raise StoreError(
                    f"There is no conversation {conversation_id}.",
                    "It may have been deleted for good; start a new conversation.",
                )

        await self._db.write(run)

    async def conversation_agent(self, conversation_id: int) -> AgentProfile | None:
        """The agent the conversation is bound to, or None (unbound, or no such conversation)."""

        def run(session: Session) -> AgentProfile | None:
            row = session.execute(
                select(agents)
                .join(conversations, conversations.c.agent_id == agents.c.id)
                .where(conversations.c.id == conversation_id)
            ).first()
            return None if row is None else _profile(row)

        return await self._db.read(run)
