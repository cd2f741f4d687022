"""Runs of agents and plans over SQLite: ``SqliteRunRepository`` (``core.agents.ports``'
``RunRepository``; tables made by ``m007_agents_runs_spans``).

A run keeps its plan and checkpoint as JSON (``Plan.to_json``, ``Checkpoint.to_json``), stored
after every step, so an interrupted run can resume from its last finished step. A ``running``
run records its owner like a streaming reply (``owners.py``): ``mark_runs_interrupted``, in any
process, interrupts only runs whose process (or Database, within this process) is gone. Spans
are upserted by (run, key), a batch in one transaction. Every method runs on the database's
worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast, get_args

from sqlalchemy import Row, and_, insert, literal_column, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from keiko_desktop.core.agents.errors import AgentError, PlanError
from keiko_desktop.core.agents.plan import Checkpoint, Plan, plan_from_json
from keiko_desktop.core.agents.records import (
    RunKind,
    RunRecord,
    RunStatus,
    Span,
    SpanKind,
    SpanStatus,
)
from keiko_desktop.store.owners import NO_OWNER, mark_orphans, orphaned_rows, owner_values
from keiko_desktop.store.sql import like_pattern
from keiko_desktop.store.tables import runs, utcnow
from keiko_desktop.store.tables import spans as spans_table

if TYPE_CHECKING:
    from keiko_desktop.store.database import Database

log = logging.getLogger(__name__)

_RUN_KINDS = frozenset(get_args(RunKind))
_RUN_STATUSES = frozenset(get_args(RunStatus))
_SPAN_KINDS = frozenset(get_args(SpanKind))
_SPAN_STATUSES = frozenset(get_args(SpanStatus))
_SPAN_VALUES = (
    "parent",
    "kind",
    "name",
    "start",
    "duration",
    "status",
    "prompt_tokens",
    "completion_tokens",
    "detail",
)


def _check(value: str, allowed: frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {sorted(allowed)}, not {value!r}")


def _plan(row: Row[Any]) -> Plan | None:
    if row.plan is None:
        return None
    try:
        return plan_from_json(row.plan)
    except PlanError:
        log.warning("run %s has a damaged plan; showing none", row.id)
        return None


def _checkpoint(row: Row[Any]) -> Checkpoint:
    try:
        return Checkpoint.from_json(row.checkpoint)
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("run %s has a damaged checkpoint; starting from none", row.id)
        return Checkpoint()


def _run(row: Row[Any]) -> RunRecord:
    return RunRecord(
        id=row.id,
        kind=cast(RunKind, row.kind),
        title=row.title,
        status=cast(RunStatus, row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        agent=row.agent,
        plan=_plan(row),
        checkpoint=_checkpoint(row),
        result=row.result,
        error=row.error,
        resumed_from=row.resumed_from,
    )


def _span(row: Row[Any]) -> Span:
    return Span(
        run_id=row.run_id,
        key=row.key,
        kind=cast(SpanKind, row.kind),
        name=row.name,
        start=row.start,
        duration=row.duration,
        status=cast(SpanStatus, row.status),
        parent=row.parent,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        detail=row.detail,
    )


def _get_run(session: Session, run_id: int) -> RunRecord | None:
    row = session.execute(select(runs).where(runs.c.id == run_id)).first()
    return None if row is None else _run(row)


_SEARCHED = (runs.c.title, runs.c.result, runs.c.error)
_SPAN_UPSERT = sqlite_insert(spans_table)
_SPAN_UPSERT = _SPAN_UPSERT.on_conflict_do_update(
    index_elements=[spans_table.c.run_id, spans_table.c.key],
    set_={name: _SPAN_UPSERT.excluded[name] for name in _SPAN_VALUES},
)


class SqliteRunRepository:
    """Runs, their plans and checkpoints, and their spans (implements ``RunRepository``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create_run(
        self,
        kind: RunKind,
        title: str,
        *,
        agent: str | None = None,
        plan: Plan | None = None,
        checkpoint: Checkpoint | None = None,
        resumed_from: int | None = None,
    ) -> RunRecord:
        """A new ``running`` run, owned by this process and Database until it ends.
        ``AgentError`` when ``resumed_from`` names no run."""
        _check(kind, _RUN_KINDS, "run kind")

        def run(session: Session) -> RunRecord:
            if resumed_from is not None and _get_run(session, resumed_from) is None:
                raise AgentError(f"There is no run {resumed_from} to resume.")
            now = utcnow()
            new_id = session.execute(
                insert(runs)
                .values(
                    kind=kind,
                    title=title,
                    agent=agent,
                    status="running",
                    plan=None if plan is None else plan.to_json(indent=None),
                    checkpoint=(checkpoint or Checkpoint()).to_json(),
                    result="",
                    resumed_from=resumed_from,
                    created_at=now,
                    updated_at=now,
                    **owner_values(self._db.owner()),
                )
                .returning(runs.c.id)
            ).scalar_one()
            created = _get_run(session, new_id)
            assert created is not None
            return created

        return await self._db.write(run)

    async def update_run(
        self,
        run_id: int,
        *,
        status: RunStatus | None = None,
        plan: Plan | None = None,
        checkpoint: Checkpoint | None = None,
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        """Change the fields given (a no-op for an unknown id). ``running`` makes this process
        the owner again; any other status ends ownership."""
        values: dict[str, object] = {}
        if status is not None:
            _check(status, _RUN_STATUSES, "run status")
            values["status"] = status
        if plan is not None:
            values["plan"] = plan.to_json(indent=None)
        if checkpoint is not None:
            values["checkpoint"] = checkpoint.to_json()
        if result is not None:
            values["result"] = result
        if error is not None:
            values["error"] = error
        if not values:
            return

        def run(session: Session) -> None:
            owner: dict[str, object] = {}
            if status == "running":
                owner = owner_values(self._db.owner())
            elif status is not None:
                owner = NO_OWNER
            session.execute(
                sql_update(runs)
                .where(runs.c.id == run_id)
                .values({**values, **owner, "updated_at": utcnow()})
            )

        await self._db.write(run)

    async def get_run(self, run_id: int) -> RunRecord | None:
        return await self._db.read(lambda s: _get_run(s, run_id))

    async def list_runs(self, limit: int = 100, search: str = "") -> list[RunRecord]:
        """Newest first (by creation). ``search``: runs whose title, result or error holds
        every word of it (case-insensitive for ASCII, like notes; ``%`` and ``_`` are text)."""
        words = search.split()

        def run(session: Session) -> list[RunRecord]:
            query = select(runs).order_by(runs.c.id.desc()).limit(max(0, limit))
            conditions = [
                or_(*(column.ilike(like_pattern(w), escape="\\") for column in _SEARCHED))
                for w in words
            ]
            if conditions:
                query = query.where(and_(*conditions))
            return [_run(row) for row in session.execute(query)]

        return await self._db.read(run)

    async def add_spans(self, spans: Sequence[Span]) -> None:
        """Insert or update spans by (run, key), all in one transaction; a span written twice
        in one batch keeps its last state. A run that does not exist is a ``StoreError``."""
        latest: dict[tuple[int, str], Span] = {}
        for span in spans:
            _check(span.kind, _SPAN_KINDS, "span kind")
            _check(span.status, _SPAN_STATUSES, "span status")
            latest[(span.run_id, span.key)] = span
        if not latest:
            return
        rows = [
            {"run_id": s.run_id, "key": s.key, **{name: getattr(s, name) for name in _SPAN_VALUES}}
            for s in latest.values()
        ]
        await self._db.write(lambda session: session.execute(_SPAN_UPSERT, rows))

    async def list_spans(self, run_id: int) -> list[Span]:
        """The run's spans by start time (the first written first among equal starts)."""

        def run(session: Session) -> list[Span]:
            query = (
                select(spans_table)
                .where(spans_table.c.run_id == run_id)
                .order_by(spans_table.c.start, literal_column("spans.rowid"))
            )
            return [_span(row) for row in session.execute(query)]

        return await self._db.read(run)

    async def mark_runs_interrupted(self) -> int:
        """Mark ``running`` runs whose owner is gone (``owners.owner_alive``) ``interrupted``;
        how many. A run another live process (or an open Database here) runs is left alone.
        Checked and marked in one write transaction."""

        def run(session: Session) -> int:
            orphans = orphaned_rows(session, runs, "running", runs.c.updated_at)
            ids = [row.id for row in orphans]
            values = {"status": "interrupted", "updated_at": utcnow()}
            marked = mark_orphans(session, runs, ids, "running", values)
            # Their spans still "running" ended with the process: cancelled, lasting until
            # the run's last write (all that is known of them).
            for row in orphans:
                session.execute(
                    sql_update(spans_table)
                    .where(spans_table.c.run_id == row.id, spans_table.c.status == "running")
                    .values(
                        status="cancelled", duration=_until(row.updated_at, spans_table.c.start)
                    )
                )
            return marked

        return await self._db.write(run)


def _until(last: Any, start: Any) -> Any:
    """SQL: seconds from a span's ``start`` (epoch) to ``last`` (a datetime), at least 0."""
    from sqlalchemy import func

    end = last.timestamp() if last is not None else 0.0
    return func.max(0.0, end - start)
