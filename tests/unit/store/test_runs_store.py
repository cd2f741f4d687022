"""Runs in the store: created, updated, listed and searched; plans and checkpoints round trip;
spans upserted in order, thousands at a time; interrupted only when their process is gone."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import replace
from typing import Any

import psutil
import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from keiko_desktop.core.agents.errors import AgentError
from keiko_desktop.core.agents.plan import Checkpoint, Plan, PlanStep, StepState
from keiko_desktop.core.agents.ports import RunRepository
from keiko_desktop.core.agents.records import Span
from keiko_desktop.core.errors import StoreError
from keiko_desktop.store import Database, SqliteRunRepository, open_database
from keiko_desktop.store.tables import runs
from tests.helpers.processes import dead_process

PLAN = Plan(
    "Write a report on otters",
    (
        PlanStep("research", "Researcher", "Find facts about otters"),
        PlanStep("draft", "Writer", "Write the report", ("research",)),
        PlanStep("sum", "Summarizer", "Summarise it", ("draft",)),
    ),
)


async def _owner(database: Database, run_id: int) -> tuple[Any, ...]:
    def run(session: Session) -> tuple[Any, ...]:
        query = text("SELECT owner_pid, owner_started, owner_token FROM runs WHERE id = :id")
        return tuple(session.execute(query.bindparams(id=run_id)).one())

    return await database.read(run)


async def _set_owner(
    database: Database, run_id: int, pid: int | None, started: float | None, token: str | None
) -> None:
    def run(session: Session) -> None:
        session.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(owner_pid=pid, owner_started=started, owner_token=token)
        )

    await database.write(run)


async def _status(database: Database, run_id: int) -> str:
    record = await database.runs.get_run(run_id)
    assert record is not None
    return record.status


def test_the_repository_is_the_port(database: Database) -> None:
    repo: RunRepository = database.runs  # mypy checks it implements the Protocol
    assert repo is database.runs
    assert isinstance(repo, SqliteRunRepository)


async def test_create_update_and_get_a_run(database: Database) -> None:
    repo = database.runs
    created = await repo.create_run("agent", "What is an otter?", agent="Researcher")
    assert (created.kind, created.title, created.agent, created.status) == (
        "agent",
        "What is an otter?",
        "Researcher",
        "running",
    )
    assert (created.plan, created.checkpoint, created.result, created.error) == (
        None,
        Checkpoint(),
        "",
        None,
    )
    pid, started, token = await _owner(database, created.id)
    assert (pid, token) == (os.getpid(), database.owner_token)
    assert started == pytest.approx(psutil.Process().create_time(), abs=1.5)

    await repo.update_run(created.id, result="A small mammal.")
    assert await _owner(database, created.id) == (pid, started, token)  # still running
    await repo.update_run(created.id, status="completed")
    done = await repo.get_run(created.id)
    assert done is not None
    assert (done.status, done.result, done.error) == ("completed", "A small mammal.", None)
    assert done.updated_at >= created.updated_at
    assert done.created_at == created.created_at
    assert await _owner(database, created.id) == (None, None, None)  # ended: no owner

    await repo.update_run(created.id, status="failed", error="boom")
    failed = await repo.get_run(created.id)
    assert failed is not None
    assert (failed.status, failed.error) == ("failed", "boom")
    await repo.update_run(9999, status="failed")  # unknown: a no-op
    assert await repo.get_run(9999) is None
    with pytest.raises(ValueError, match="run status"):
        await repo.update_run(created.id, status="exploded")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="run kind"):
        await repo.create_run("dance", "x")  # type: ignore[arg-type]


async def test_plan_and_checkpoint_round_trip(database: Database) -> None:
    repo = database.runs
    start = Checkpoint().with_step("research", StepState("done", "Otters: mammals", 1))
    created = await repo.create_run("plan", PLAN.goal, plan=PLAN, checkpoint=start)
    assert (created.plan, created.checkpoint) == (PLAN, start)

    later = start.with_step("draft", StepState("failed", "", 2, "model timed out — «ñ»"))
    edited = Plan(PLAN.goal, PLAN.steps[:2])
    await repo.update_run(created.id, plan=edited, checkpoint=later, status="interrupted")
    got = await repo.get_run(created.id)
    assert got is not None
    assert (got.plan, got.checkpoint, got.status) == (edited, later, "interrupted")
    assert got.checkpoint.done() == {"research"}

    resumed = await repo.create_run(
        "plan", PLAN.goal, plan=edited, checkpoint=later.for_resume(), resumed_from=created.id
    )
    assert resumed.resumed_from == created.id
    assert resumed.checkpoint.state("draft") == StepState("pending", "", 2, None)
    with pytest.raises(AgentError, match="no run 4242"):
        await repo.create_run("plan", "x", resumed_from=4242)


async def test_a_damaged_checkpoint_or_plan_reads_as_none(database: Database) -> None:
    created = await database.runs.create_run("plan", "g", plan=PLAN)
    await database.write(
        lambda s: s.execute(
            text("UPDATE runs SET plan = '{oops', checkpoint = '[1]' WHERE id = :id"),
            {"id": created.id},
        )
    )
    got = await database.runs.get_run(created.id)
    assert got is not None
    assert (got.plan, got.checkpoint) == (None, Checkpoint())


async def test_list_newest_first_and_search(database: Database) -> None:
    repo = database.runs
    otters = await repo.create_run("agent", "Tell me about OTTERS")
    report = await repo.create_run("plan", "Write a report")
    await repo.update_run(report.id, result="Otters hold hands", status="completed")
    broken = await repo.create_run("batch", "Rename files")
    await repo.update_run(broken.id, error="100% of 3_files failed", status="failed")
    literal = await repo.create_run("agent", "100 percent of x-files")

    async def found(search: str, limit: int = 100) -> list[int]:
        return [r.id for r in await repo.list_runs(limit, search)]

    assert await found("") == [literal.id, broken.id, report.id, otters.id]
    assert await found("", limit=2) == [literal.id, broken.id]
    assert await found("otters") == [report.id, otters.id]  # title or result, any case
    assert await found("FAILED") == [broken.id]  # the error
    assert await found("100%") == [broken.id]  # % is text, not a wildcard
    assert await found("3_f") == [broken.id]
    assert await found("x_files") == []  # _ is text too: "x-files" does not match
    assert await found("%") == [broken.id]
    assert await found("_") == [broken.id]
    assert await found("report otters") == [report.id]  # every word, anywhere
    assert await found("otters rename") == []


# ---------------------------------------------------------------------- spans


def _span(run_id: int, key: str, start: float, **values: Any) -> Span:
    return Span(run_id, key, values.pop("kind", "step"), values.pop("name", key), start, **values)


async def test_spans_are_upserted_and_listed_by_start(database: Database) -> None:
    repo = database.runs
    run = await repo.create_run("plan", "g")
    other = await repo.create_run("agent", "h")
    root = _span(run.id, "1", 100.0, kind="run", name="run")
    step = _span(run.id, "2", 101.0, parent="1")
    tied = _span(run.id, "10", 101.0, kind="tool", name="files.read_file", parent="2")
    await repo.add_spans([root, step, tied, _span(other.id, "1", 50.0)])
    assert await repo.list_spans(run.id) == [root, step, tied]  # a tie: first written first

    ended = Span(
        run.id, "2", "step", "2", 101.0, 2.5, "error", "1", 120, 45, "Step failed: «timeout»"
    )
    early = _span(run.id, "3", 99.0, kind="model", name="qwen")
    await repo.add_spans([ended, early])
    listed = await repo.list_spans(run.id)
    assert listed == [early, root, ended, tied]
    assert listed[2].end == pytest.approx(103.5)
    assert [s.key for s in await repo.list_spans(other.id)] == ["1"]
    assert await repo.list_spans(9999) == []


async def test_a_span_twice_in_one_batch_keeps_its_last_state(database: Database) -> None:
    run = await database.runs.create_run("agent", "g")
    opened = _span(run.id, "1", 10.0)
    closed = Span(run.id, "1", "step", "1", 10.0, 1.0, "ok")
    await database.runs.add_spans([opened, closed])
    assert await database.runs.list_spans(run.id) == [closed]
    await database.runs.add_spans([])  # nothing to write: fine


async def test_two_thousand_spans_in_one_call(database: Database) -> None:
    run = await database.runs.create_run("batch", "many")
    batch = [
        _span(run.id, str(i), 1000.0 + i / 10, parent=None if i == 1 else "1", detail="x" * 100)
        for i in range(1, 2001)
    ]
    began = time.perf_counter()
    await database.runs.add_spans(batch)
    first = time.perf_counter() - began
    ended = [Span(s.run_id, s.key, s.kind, s.name, s.start, 0.05, "ok", s.parent) for s in batch]
    began = time.perf_counter()
    await database.runs.add_spans(ended)
    second = time.perf_counter() - began
    listed = await database.runs.list_spans(run.id)
    assert listed == ended
    assert first < 2.0, f"2,000 new spans took {first:.2f} s"
    assert second < 2.0, f"updating 2,000 spans took {second:.2f} s"


async def test_spans_need_their_run_and_go_with_it(database: Database) -> None:
    with pytest.raises(StoreError):
        await database.runs.add_spans([_span(4242, "1", 1.0)])
    run = await database.runs.create_run("agent", "g")
    await database.runs.add_spans([_span(run.id, "1", 1.0)])
    with pytest.raises(ValueError, match="span status"):
        await database.runs.add_spans([_span(run.id, "2", 1.0, status="weird")])
    await database.write(
        lambda s: s.execute(text("DELETE FROM runs WHERE id = :id"), {"id": run.id})
    )
    count = await database.read(lambda s: s.execute(text("SELECT count(*) FROM spans")).scalar())
    assert count == 0  # ON DELETE CASCADE


# ---------------------------------------------------------------------- interrupted runs


async def test_runs_of_this_open_database_are_left_alone(database: Database) -> None:
    run = await database.runs.create_run("agent", "g")
    assert await database.runs.mark_runs_interrupted() == 0
    assert await _status(database, run.id) == "running"


async def test_a_dead_owner_is_interrupted_a_live_one_left_alone(
    database: Database, child: subprocess.Popen[bytes]
) -> None:
    repo = database.runs
    dead_pid, dead_started = dead_process()
    live_started = psutil.Process(child.pid).create_time()
    dead = await repo.create_run("plan", "dead")
    reused = await repo.create_run("plan", "reused")
    ownerless = await repo.create_run("plan", "ownerless")
    live = await repo.create_run("plan", "live")
    finished = await repo.create_run("agent", "finished")
    await _set_owner(database, dead.id, dead_pid, dead_started, "t1")
    await _set_owner(database, reused.id, child.pid, live_started - 600, "t2")
    await _set_owner(database, ownerless.id, None, None, None)
    await _set_owner(database, live.id, child.pid, live_started, "t3")
    await repo.update_run(finished.id, status="completed")

    assert await repo.mark_runs_interrupted() == 3
    statuses = [await _status(database, r.id) for r in (dead, reused, ownerless, live, finished)]
    assert statuses == ["interrupted", "interrupted", "interrupted", "running", "completed"]
    assert await _owner(database, dead.id) == (None, None, None)
    assert await _owner(database, live.id) == (child.pid, live_started, "t3")
    assert await repo.mark_runs_interrupted() == 0

    child.kill()  # its owner dies: the next recovery catches it
    child.wait(10)
    assert await repo.mark_runs_interrupted() == 1
    assert await _status(database, live.id) == "interrupted"


async def test_a_run_of_a_closed_database_here_is_interrupted(database: Database) -> None:
    writer = await open_database(database.path)
    try:
        run = await writer.runs.create_run("plan", "g", plan=PLAN)
        assert await database.runs.mark_runs_interrupted() == 0  # still running
    finally:
        writer.close()  # "crashes": it will never finish that run
    assert await database.runs.mark_runs_interrupted() == 1
    got = await database.runs.get_run(run.id)
    assert got is not None
    assert (got.status, got.plan) == ("interrupted", PLAN)


async def test_spans_left_running_by_a_dead_run_end_cancelled(database: Database) -> None:
    """The timeline must not show an interrupted run's spans as still running."""
    repo = SqliteRunRepository(database)
    record = await repo.create_run("plan", "crashed")
    start = record.created_at.timestamp()
    running = Span(record.id, "1", "step", "s1 (X)", start)
    finished = replace(Span(record.id, "2", "model", "m", start), duration=0.5, status="ok")
    await repo.add_spans([running, finished])

    def orphan(session: Any) -> None:  # its process died: no such pid
        session.execute(update(runs).where(runs.c.id == record.id).values(owner_pid=2**22 + 7))

    await database.write(orphan)
    assert await repo.mark_runs_interrupted() == 1
    spans = {s.key: s for s in await repo.list_spans(record.id)}
    assert spans["1"].status == "cancelled"
    assert spans["1"].duration is not None
    assert 0 <= spans["1"].duration < 60
    assert (spans["2"].status, spans["2"].duration) == ("ok", 0.5)
