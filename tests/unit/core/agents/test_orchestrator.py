"""The orchestrator on a scripted step executor: order, concurrency, retries, failure,
resume, cancel, checkpoints and spans."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from keiko_desktop.core.agents.errors import PlanError
from keiko_desktop.core.agents.orchestrator import CANCEL_GRACE, Orchestrator, RetryPolicy
from keiko_desktop.core.agents.plan import Checkpoint, Plan, PlanStep, StepState
from keiko_desktop.core.agents.trace import Tracer

WAIT = 5.0  # bound on every wait in these tests


def plan_of(*steps: tuple[str, str, tuple[str, ...]]) -> Plan:
    return Plan("goal", tuple(PlanStep(i, agent, f"do {i}", deps) for i, agent, deps in steps))


@dataclass
class Script:
    """A step executor: each step sleeps ``delay`` (or its own), fails its first
    ``failures[id]`` attempts, and returns ``out:<id>``; it counts the steps running at once."""

    delay: float = 0.02
    delays: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    running: int = 0
    most_running: int = 0
    calls: list[tuple[str, dict[str, str], int]] = field(default_factory=list)
    events: list[tuple[str, str, float]] = field(default_factory=list)
    stubborn: bool = False
    """Ignore cancellation for two seconds (then give in)."""

    async def __call__(self, step: PlanStep, inputs: Mapping[str, str], attempt: int) -> str:
        self.calls.append((step.id, dict(inputs), attempt))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        self.events.append(("start", step.id, time.monotonic()))
        try:
            delay = self.delays.get(step.id, self.delay)
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                if not self.stubborn:
                    raise
                until = time.monotonic() + 2.0
                while time.monotonic() < until:  # every cancel is swallowed
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.sleep(until - time.monotonic())
                return f"late:{step.id}"  # too late: must not be recorded
            if attempt <= self.failures.get(step.id, 0):
                raise RuntimeError(f"boom {step.id}.{attempt}")
            return f"out:{step.id}"
        finally:
            self.running -= 1
            self.events.append(("end", step.id, time.monotonic()))

    def time_of(self, kind: str, step_id: str) -> float:
        return next(t for k, s, t in self.events if k == kind and s == step_id)

    def ran(self) -> list[str]:
        return [step_id for step_id, _, _ in self.calls]


@dataclass
class Sink:
    """Stores checkpoints as a repository would: every (step, status) in order."""

    written: list[tuple[str, str]] = field(default_factory=list)
    last: Checkpoint = field(default_factory=Checkpoint)

    async def __call__(self, checkpoint: Checkpoint, step_id: str) -> None:
        await asyncio.sleep(0)  # a real store hops threads
        self.written.append((step_id, checkpoint.state(step_id).status))
        self.last = checkpoint


def policy(retries: int = 0, backoff: float = 0.0) -> RetryPolicy:
    return lambda agent: (retries, backoff)


async def test_steps_start_after_their_dependencies_and_get_their_outputs() -> None:
    plan = plan_of(
        ("a", "Researcher", ()),
        ("b", "Writer", ("a",)),
        ("c", "Writer", ("a",)),
        ("d", "Summarizer", ("b", "c")),
    )
    script = Script()
    result = await asyncio.wait_for(
        Orchestrator(script, retry_policy=policy(), concurrency=4).run(plan), WAIT
    )
    assert result.status == "completed"
    for step in plan.steps:
        for dep in step.depends_on:
            assert script.time_of("start", step.id) >= script.time_of("end", dep)
    inputs = {step_id: given for step_id, given, _ in script.calls}
    assert inputs == {
        "a": {},
        "b": {"a": "out:a"},
        "c": {"a": "out:a"},
        "d": {"b": "out:b", "c": "out:c"},
    }
    assert script.most_running == 2  # b and c together
    assert result.text == "out:d"  # only the step nobody depends on
    assert result.report.splitlines() == [
        "✓ a (Researcher): done",
        "✓ b (Writer): done",
        "✓ c (Writer): done",
        "✓ d (Summarizer): done",
    ]
    assert all(
        result.checkpoint.state(s.id) == StepState("done", f"out:{s.id}", 1) for s in plan.steps
    )


@pytest.mark.parametrize("concurrency", [1, 2, 3])
async def test_independent_steps_run_up_to_the_limit_and_never_beyond(concurrency: int) -> None:
    plan = plan_of(*[(f"s{i}", "Writer", ()) for i in range(1, 7)])
    script = Script(delay=0.05)
    result = await asyncio.wait_for(
        Orchestrator(script, retry_policy=policy(), concurrency=concurrency).run(plan), WAIT
    )
    assert result.status == "completed"
    assert script.most_running == concurrency
    assert sorted(script.ran()) == [f"s{i}" for i in range(1, 7)]
    assert result.text == "\n\n".join(f"out:s{i}" for i in range(1, 7))


async def test_a_failed_attempt_is_retried_with_doubling_backoff_then_succeeds() -> None:
    plan = plan_of(("s1", "Writer", ()), ("s2", "Writer", ("s1",)))
    script = Script(failures={"s1": 3})
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    sink = Sink()
    orchestrator = Orchestrator(
        script, retry_policy=policy(retries=3, backoff=0.5), on_checkpoint=sink, sleep=sleep
    )
    result = await asyncio.wait_for(orchestrator.run(plan), WAIT)
    assert result.status == "completed"
    assert [(s, a) for s, _, a in script.calls] == [
        ("s1", 1),
        ("s1", 2),
        ("s1", 3),
        ("s1", 4),
        ("s2", 1),
    ]
    assert waits == [0.5, 1.0, 2.0]
    assert result.checkpoint.state("s1") == StepState("done", "out:s1", 4)
    # between attempts the step stays running, with its error kept
    assert sink.written[:8] == [("s1", "running")] * 7 + [("s1", "done")]
    assert result.report.splitlines()[0] == "✓ s1 (Writer): done"


async def test_giving_up_fails_the_plan_skips_dependents_and_lets_running_steps_finish() -> None:
    plan = plan_of(
        ("s1", "Researcher", ()),
        ("s4", "Coder", ()),
        ("s2", "Writer", ("s1",)),
        ("s3", "Writer", ("s2",)),
        ("s5", "Summarizer", ()),
    )
    script = Script(failures={"s1": 5}, delays={"s4": 0.3})
    sink = Sink()
    orchestrator = Orchestrator(
        script, retry_policy=policy(retries=1, backoff=0.01), concurrency=2, on_checkpoint=sink
    )
    result = await asyncio.wait_for(orchestrator.run(plan), WAIT)
    assert result.status == "failed"
    assert script.ran() == ["s1", "s4", "s1"]  # s5 never started: the plan stopped
    assert result.checkpoint.state("s4").status == "done"  # allowed to finish
    assert result.checkpoint.state("s1") == StepState("failed", "", 2, "RuntimeError: boom s1.2")
    assert result.report.splitlines() == [
        "✗ s1 (Researcher): failed after 2 attempts: RuntimeError: boom s1.2",
        "✓ s4 (Coder): done",
        "· s2 (Writer): not run, s1 failed",
        "· s3 (Writer): not run, s1 failed",
        "· s5 (Summarizer): not run, the plan stopped when s1 failed",
    ]
    assert {s: result.checkpoint.state(s).status for s in ("s2", "s3", "s5")} == {
        "s2": "skipped",
        "s3": "skipped",
        "s5": "skipped",
    }
    assert result.text == "out:s4"
    assert sink.last == result.checkpoint


async def test_resume_runs_only_the_steps_not_done() -> None:
    plan = plan_of(("s1", "Researcher", ()), ("s2", "Writer", ("s1",)), ("s3", "Writer", ("s2",)))
    before = Checkpoint(
        {
            "s1": StepState("done", "kept output", 1),
            "s2": StepState("failed", "", 2, "RuntimeError: boom"),
            "s3": StepState("skipped", "", 0, "s2 failed"),
        }
    )
    script = Script()
    sink = Sink()
    result = await asyncio.wait_for(
        Orchestrator(script, retry_policy=policy(), on_checkpoint=sink).run(plan, before), WAIT
    )
    assert result.status == "completed"
    assert script.calls == [("s2", {"s1": "kept output"}, 1), ("s3", {"s2": "out:s2"}, 1)]
    assert result.checkpoint.state("s1") == StepState("done", "kept output", 1)
    assert result.checkpoint.state("s2") == StepState("done", "out:s2", 3)  # attempts add up
    assert result.report.splitlines()[0] == "✓ s1 (Researcher): done (earlier run)"
    assert [s for s, _ in sink.written] == ["s2", "s2", "s3", "s3"]


@pytest.mark.parametrize("stubborn", [False, True], ids=["cooperative", "ignores-cancel"])
async def test_cancel_stops_running_steps_within_a_second(stubborn: bool) -> None:
    plan = plan_of(("s1", "Writer", ()), ("s2", "Writer", ()), ("s3", "Writer", ("s1",)))
    script = Script(delay=30.0, stubborn=stubborn)
    sink = Sink()
    orchestrator = Orchestrator(script, retry_policy=policy(), concurrency=2, on_checkpoint=sink)
    task = asyncio.ensure_future(orchestrator.run(plan))
    deadline = time.monotonic() + WAIT
    while script.running < 2:
        assert time.monotonic() < deadline, "the steps never started"
        await asyncio.sleep(0.01)
    asked = time.monotonic()
    orchestrator.cancel()
    result = await asyncio.wait_for(task, WAIT)
    elapsed = time.monotonic() - asked
    if stubborn:  # abandoned after the grace period
        assert CANCEL_GRACE - 0.05 <= elapsed < CANCEL_GRACE + 0.5
    else:
        assert elapsed < 0.5
    assert result.status == "cancelled"
    assert {s: result.checkpoint.state(s).status for s in ("s1", "s2", "s3")} == {
        "s1": "cancelled",
        "s2": "cancelled",
        "s3": "pending",
    }
    assert result.report.splitlines() == [
        "✗ s1 (Writer): cancelled",
        "✗ s2 (Writer): cancelled",
        "· s3 (Writer): not run, cancelled",
    ]
    assert sink.last == result.checkpoint  # the cancel was stored
    assert script.ran() == ["s1", "s2"]
    deadline = time.monotonic() + WAIT
    while script.running:  # a stubborn step ends late: nothing of it is recorded
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert sink.last == result.checkpoint
    assert orchestrator.checkpoint == result.checkpoint


async def test_cancelling_the_run_task_marks_the_steps_cancelled_and_raises() -> None:
    plan = plan_of(("s1", "Writer", ()))
    script = Script(delay=30.0)
    sink = Sink()
    orchestrator = Orchestrator(script, retry_policy=policy(), on_checkpoint=sink)
    task = asyncio.ensure_future(orchestrator.run(plan))
    deadline = time.monotonic() + WAIT
    while script.running < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT)
    assert sink.last.state("s1").status == "cancelled"
    assert script.running == 0


async def test_a_checkpoint_is_stored_after_every_state_change() -> None:
    plan = plan_of(("s1", "Researcher", ()), ("s2", "Writer", ("s1",)))
    script = Script(failures={"s2": 1})
    sink = Sink()
    snapshots: list[Checkpoint] = []

    async def store(checkpoint: Checkpoint, step_id: str) -> None:
        snapshots.append(checkpoint)
        await sink(checkpoint, step_id)

    orchestrator = Orchestrator(script, retry_policy=policy(retries=1), on_checkpoint=store)
    result = await asyncio.wait_for(orchestrator.run(plan), WAIT)
    assert sink.written == [
        ("s1", "running"),
        ("s1", "done"),
        ("s2", "running"),  # attempt 1
        ("s2", "running"),  # attempt 1 failed: error kept, waiting to retry
        ("s2", "running"),  # attempt 2
        ("s2", "done"),
    ]
    assert snapshots[3].state("s2") == StepState("running", "", 1, "RuntimeError: boom s2.1")
    assert snapshots[4].state("s2") == StepState("running", "", 2, None)
    assert snapshots[-1] == result.checkpoint


async def test_a_store_that_fails_does_not_stop_the_run() -> None:
    async def broken(checkpoint: Checkpoint, step_id: str) -> None:
        raise OSError("disk full")

    result = await asyncio.wait_for(
        Orchestrator(Script(), retry_policy=policy(), on_checkpoint=broken).run(
            plan_of(("s1", "Writer", ()))
        ),
        WAIT,
    )
    assert result.status == "completed"


async def test_each_step_and_each_attempt_is_a_span() -> None:
    plan = plan_of(("s1", "Researcher", ()), ("s2", "Writer", ("s1",)))
    tracer = Tracer(run_id=1)
    script = Script(failures={"s1": 1, "s2": 9})
    result = await asyncio.wait_for(
        Orchestrator(script, retry_policy=policy(retries=1), tracer=tracer).run(plan), WAIT
    )
    assert result.status == "failed"
    spans = {span.name: span for span in tracer.spans}
    assert set(spans) == {
        "s1 (Researcher)",
        "s1 attempt 1",
        "s1 attempt 2",
        "s2 (Writer)",
        "s2 attempt 1",
        "s2 attempt 2",
    }
    assert all(span.kind == "step" for span in spans.values())
    step1, step2 = spans["s1 (Researcher)"], spans["s2 (Writer)"]
    assert spans["s1 attempt 1"].parent == step1.key
    assert spans["s1 attempt 2"].parent == step1.key
    assert spans["s2 attempt 2"].parent == step2.key
    assert spans["s1 attempt 1"].status == "error"
    assert spans["s1 attempt 1"].detail == "RuntimeError: boom s1.1"
    assert spans["s1 attempt 2"].status == "ok"
    assert (step1.status, step1.detail) == ("ok", "done after 2 attempts")
    assert step2.status == "error"
    assert step2.detail == "failed after 2 attempts: RuntimeError: boom s2.2"
    assert all(span.duration is not None for span in spans.values())


async def test_a_plan_with_a_cycle_is_refused_before_anything_runs() -> None:
    plan = plan_of(("s1", "Writer", ("s2",)), ("s2", "Writer", ("s1",)))
    script = Script()
    with pytest.raises(PlanError, match="circle"):
        await Orchestrator(script, retry_policy=policy()).run(plan)
    assert script.calls == []
