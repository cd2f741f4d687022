"""The orchestrator: runs a checked plan's steps, each when its dependencies are done.

    orchestrator = Orchestrator(execute, retry_policy=lambda agent: (1, 1.0), concurrency=2,
                                on_checkpoint=store, tracer=tracer)
    result = await orchestrator.run(plan, checkpoint)   # PlanResult: status, checkpoint, report

- **Order and concurrency.** A step starts once every step it depends on is ``done``; steps
  that do not depend on each other run at the same time, at most ``concurrency`` at once
  (plan order among those ready). Steps the checkpoint has ``done`` are not run again, so a
  resumed run does only what is left.
- **Retries.** A step whose executor raises is tried again up to the agent's ``retries``
  (``retry_policy(agent) -> (retries, backoff)``), waiting ``backoff`` seconds before the first
  retry and twice as long before each next one; meanwhile the step stays ``running`` with its
  attempts counted and the last error kept.
- **Failure.** When a step has used up its attempts the plan fails: no new step starts, the
  steps already running are allowed to finish (their output is kept, so a resume does not redo
  them), and every step not run is ``skipped`` with the reason.
- **Cancel.** ``cancel()`` cancels every running step's task; each is marked ``cancelled``
  within ``CANCEL_GRACE`` seconds (a step that ignores cancellation is abandoned then) and
  ``run`` returns ``cancelled``.
- **Checkpoints.** ``on_checkpoint(checkpoint, step_id)`` is awaited after every change of a
  step's state (running, each failed attempt, done, failed, skipped, cancelled), one call at a
  time in the order of the changes; it is how the run is stored. An error there is logged and
  the run goes on.
- **Trace.** Each step is a span of kind ``step`` named ``"s1 (Researcher)"``; each attempt is
  a child ``step`` span (``"s1 attempt 2"``), so retries are visible and the executor's own
  spans (model and tool calls) nest under the attempt they belong to.

A step's time limit is the executor's business (it knows the agent's ``step_timeout``); the
orchestrator only retries what the executor raises, a timeout included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from keiko_desktop.core.agents.plan import Checkpoint, Plan, PlanStep, StepState, check_plan
from keiko_desktop.core.agents.trace import OpenSpan, Tracer
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line

log = logging.getLogger(__name__)

StepExecutor = Callable[[PlanStep, Mapping[str, str], int], Awaitable[str]]
"""Runs one step: ``(step, outputs of its dependencies by id, attempt from 1) -> output``;
raises when the step failed (the orchestrator may try again)."""
RetryPolicy = Callable[[str], tuple[int, float]]
"""``agent name -> (retries, backoff seconds before the first retry)``."""
CheckpointSink = Callable[[Checkpoint, str], Awaitable[None]]

PlanStatus = Literal["completed", "failed", "cancelled"]
CANCEL_GRACE = 1.0
"""Seconds cancelled steps get to stop before they are abandoned."""
TEXT_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class PlanResult:
    """How a plan run ended. ``text``: the outputs of the steps no other step depends on (the
    plan's results), in plan order; ``report``: one line per step."""

    status: PlanStatus
    checkpoint: Checkpoint
    report: str
    text: str


def error_text(exc: BaseException) -> str:
    """What went wrong, on one line, for a step's ``error``."""
    if isinstance(exc, KeikoError):
        text = exc.message
    elif isinstance(exc, TimeoutError):
        text = "timed out"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return one_line(text, 500)


class Orchestrator:
    """Runs one plan (see the module docs). Use one orchestrator per run."""

    def __init__(
        self,
        execute: StepExecutor,
        *,
        retry_policy: RetryPolicy,
        concurrency: int = 2,
        on_checkpoint: CheckpointSink | None = None,
        tracer: Tracer | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self._execute = execute
        self._retry_policy = retry_policy
        self.concurrency = concurrency
        self._on_checkpoint = on_checkpoint
        self._tracer = tracer
        self._sleep = sleep
        self._checkpoint = Checkpoint()
        self._write_lock = asyncio.Lock()
        self._tasks: dict[asyncio.Task[None], PlanStep] = {}
        self._attempts: dict[str, int] = {}
        self._abandoned: set[str] = set()
        self._cancelled = False
        self._wake = asyncio.Event()

    @property
    def checkpoint(self) -> Checkpoint:
        """The step states so far."""
        return self._checkpoint

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop: no step starts any more, running steps are cancelled (see module docs)."""
        self._cancelled = True
        for task in self._tasks:
            task.cancel()
        self._wake.set()

    # ------------------------------------------------------------------ running
    async def run(self, plan: Plan, checkpoint: Checkpoint | None = None) -> PlanResult:
        """Run ``plan`` from ``checkpoint`` (its ``done`` steps are kept); never raises for a
        failed step. PlanError at once if the plan's ids or dependencies do not hold."""
        check_plan(plan, {step.agent for step in plan.steps})
        self._checkpoint = (checkpoint or Checkpoint()).for_resume()
        started: set[str] = set(self._checkpoint.done())
        failed: str | None = None
        try:
            while True:
                if failed is None and not self._cancelled:
                    self._start_ready(plan, started)
                if not self._tasks:
                    break
                if self._cancelled:
                    await self._stop_running()
                    continue
                self._wake.clear()
                waker = asyncio.ensure_future(self._wake.wait())
                try:
                    done, _ = await asyncio.wait(
                        {*self._tasks, waker}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    waker.cancel()
                for task, step in list(self._tasks.items()):
                    if task not in done:
                        continue
                    del self._tasks[task]
                    if task.cancelled():
                        await self._set(step.id, "cancelled", error="cancelled")
                    elif (exc := task.exception()) is not None:  # a bug here, not in the step
                        log.error("step %s crashed", step.id, exc_info=exc)
                        await self._set(step.id, "failed", error=error_text(exc))
                    if self._checkpoint.state(step.id).status == "failed" and failed is None:
                        failed = step.id
        except asyncio.CancelledError:
            self.cancel()
            await self._stop_running()
            raise
        status: PlanStatus = "cancelled" if self._cancelled else "completed"
        if failed is not None:
            status = "failed"
        await self._skip_the_rest(plan, failed)
        return PlanResult(status, self._checkpoint, self.report(plan), self._final_text(plan))

    def _start_ready(self, plan: Plan, started: set[str]) -> None:
        done = self._checkpoint.done()
        for step in plan.steps:
            if len(self._tasks) >= self.concurrency:
                return
            if step.id in started or not all(dep in done for dep in step.depends_on):
                continue
            started.add(step.id)
            inputs = {dep: self._checkpoint.state(dep).output for dep in step.depends_on}
            task = asyncio.ensure_future(self._run_step(step, inputs))
            self._tasks[task] = step

    async def _stop_running(self) -> None:
        """Cancel the running steps, wait ``CANCEL_GRACE`` for them, and mark them cancelled
        (a step that is still going is abandoned)."""
        tasks = dict(self._tasks)
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=CANCEL_GRACE)
            for task in pending:
                log.warning("step %s did not stop within %.1f s", tasks[task].id, CANCEL_GRACE)
        for task, step in tasks.items():
            ended = task.done() and not task.cancelled() and task.exception() is None
            if ended and self._checkpoint.state(step.id).status in ("done", "failed"):
                continue  # it ended before the cancel reached it
            await self._set(step.id, "cancelled", error="cancelled")
            if not task.done():
                self._abandoned.add(step.id)  # whatever it does later is not recorded

    async def _run_step(self, step: PlanStep, inputs: Mapping[str, str]) -> None:
        retries, backoff = self._retry_policy(step.agent)
        attempts = retries + 1
        async with self._span(f"{step.id} ({step.agent})") as span:
            for attempt in range(1, attempts + 1):
                self._attempts[step.id] = attempt
                await self._set(step.id, "running", count=True)
                try:
                    async with self._span(f"{step.id} attempt {attempt}"):
                        output = await self._execute(step, inputs, attempt)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a step fails in any way: retried
                    error = error_text(exc)
                    log.info("step %s attempt %d failed: %s", step.id, attempt, error)
                    if attempt < attempts:
                        await self._set(step.id, "running", error=error)
                        await self._sleep(backoff * 2 ** (attempt - 1))
                        continue
                    await self._set(step.id, "failed", error=error)
                    if span is not None:
                        span.status = "error"
                        span.detail = f"failed after {_attempts(attempt)}: {error}"
                    return
                await self._set(step.id, "done", output=output)
                if span is not None:
                    span.detail = f"done after {_attempts(attempt)}"
                return

    @contextlib.asynccontextmanager
    async def _span(self, name: str) -> AsyncIterator[OpenSpan | None]:
        if self._tracer is None:
            yield None
            return
        async with self._tracer.span("step", name) as span:
            yield span

    async def _skip_the_rest(self, plan: Plan, failed: str | None) -> None:
        """Mark every step that did not run ``skipped`` (why: the step it waited for, or the
        failure that stopped the plan). Pending steps of a cancelled run stay pending."""
        if failed is None:
            return
        blocked: dict[str, str] = {}  # step -> the failed or cancelled step it waits for
        for step in plan.steps:
            state = self._checkpoint.state(step.id)
            if state.status in ("failed", "cancelled"):
                blocked[step.id] = step.id
        changed = True
        while changed:
            changed = False
            for step in plan.steps:
                if step.id in blocked:
                    continue
                for dep in step.depends_on:
                    if dep in blocked:
                        blocked[step.id] = blocked[dep]
                        changed = True
                        break
        for step in plan.steps:
            if self._checkpoint.state(step.id).status != "pending":
                continue
            cause = blocked.get(step.id)
            reason = (
                f"{cause} {self._checkpoint.state(cause).status}"
                if cause is not None
                else f"the plan stopped when {failed} failed"
            )
            await self._set(step.id, "skipped", error=reason)

    async def _set(
        self,
        step_id: str,
        status: str,
        *,
        output: str | None = None,
        error: str | None = None,
        count: bool = False,
    ) -> None:
        if step_id in self._abandoned:
            return
        old = self._checkpoint.state(step_id)
        state = StepState(
            status,  # type: ignore[arg-type]
            old.output if output is None else output,
            old.attempts + 1 if count else old.attempts,
            None if status in ("done",) or count else error if error is not None else old.error,
        )
        self._checkpoint = self._checkpoint.with_step(step_id, state)
        if self._on_checkpoint is None:
            return
        snapshot = self._checkpoint
        async with self._write_lock:
            try:
                await self._on_checkpoint(snapshot, step_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not store the checkpoint after step %s", step_id)

    # ------------------------------------------------------------------ results
    def report(self, plan: Plan) -> str:
        """One line per step: ``✓ s1 (Researcher): done``, ``✗ s2 (Writer): failed after 2
        attempts: …``, ``· s3 (Writer): not run, s2 failed``."""
        lines = []
        for step in plan.steps:
            state = self._checkpoint.state(step.id)
            who = f"{step.id} ({one_line(step.agent, 64)})"
            tries = self._attempts.get(step.id, state.attempts)
            if state.status == "done":
                kept = "" if step.id in self._attempts else " (earlier run)"
                lines.append(f"✓ {who}: done{kept}")
            elif state.status == "failed":
                lines.append(f"✗ {who}: failed after {_attempts(tries)}: {state.error or '?'}")
            elif state.status == "cancelled":
                lines.append(f"✗ {who}: cancelled")
            elif state.status == "skipped":
                lines.append(f"· {who}: not run, {state.error or 'skipped'}")
            elif self._cancelled:
                lines.append(f"· {who}: not run, cancelled")
            else:
                lines.append(f"· {who}: {state.status}")
        return "\n".join(lines)

    def _final_text(self, plan: Plan) -> str:
        needed = {dep for step in plan.steps for dep in step.depends_on}
        outputs = [
            self._checkpoint.state(step.id).output
            for step in plan.steps
            if step.id not in needed and self._checkpoint.state(step.id).status == "done"
        ]
        return TEXT_SEPARATOR.join(outputs)


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"
