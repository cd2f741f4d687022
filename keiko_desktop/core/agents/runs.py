"""The runs themselves: an agent on a prompt, a plan (fresh or resumed), a batch.

Each is a coroutine the service starts in its own task with a ``RunHandle``. It stores the run
(``RunRepository``) before any work, so the handle has an id; it checkpoints a plan after every
step (the orchestrator's ``on_checkpoint``); it records spans through a ``Tracer``; and it
always ends by storing how it ended (``completed``, ``failed``, ``cancelled``) and publishing
``RunChanged``, even when cancelled. A batch is a plan of independent steps, one per input, all
for one agent, so it shares the orchestrator's concurrency limit, retries, cancel and
checkpoints.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from keiko_desktop.core.agents.errors import AgentError
from keiko_desktop.core.agents.events import RunChanged
from keiko_desktop.core.agents.execution import AgentExecutor, agent_messages, step_messages
from keiko_desktop.core.agents.handles import AgentRun, RunHandle, RunOutcome
from keiko_desktop.core.agents.orchestrator import Orchestrator, error_text
from keiko_desktop.core.agents.plan import MAX_INSTRUCTION, Checkpoint, Plan, PlanStep, check_plan
from keiko_desktop.core.agents.ports import RunRepository
from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.agents.records import RunKind, RunStatus
from keiko_desktop.core.agents.trace import Tracer
from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatMessage

log = logging.getLogger(__name__)

MAX_PROMPT = 100_000
MAX_BATCH = 10_000
RESUMABLE: tuple[RunStatus, ...] = ("interrupted", "failed", "cancelled")

Track = Callable[[str, int, "str | None"], None]


class Runs:
    """Runs agents, plans and batches, storing each (see the module docs)."""

    def __init__(
        self,
        executor: AgentExecutor,
        store: RunRepository,
        bus: EventBus,
        settings: Callable[[], Settings],
        track: Track,
    ) -> None:
        self._executor = executor
        self._store = store
        self._bus = bus
        self._settings = settings
        self._track = track

    # ------------------------------------------------------------------ one agent
    async def agent_run(
        self, handle: AgentRun, profile_source: Callable[[], Awaitable[AgentProfile]], prompt: str
    ) -> RunOutcome:
        try:
            profile = await profile_source()
            if not prompt.strip():
                raise AgentError("The prompt is empty.", "Say what the agent should do.")
            if len(prompt) > MAX_PROMPT:
                raise AgentError(
                    f"The prompt is {len(prompt):,} characters; at most {MAX_PROMPT:,} fit.",
                    "Shorten it, or let the agent read a file.",
                )
            record = await self._store.create_run("agent", prompt, agent=profile.name)
        except BaseException:
            handle.end()
            raise
        run_id = record.id
        self._begin(handle, run_id)
        self._track(profile.name, 1, None)
        tracer = Tracer(run_id, self._store)
        pieces: list[str] = []
        status: RunStatus = "completed"
        error: str | None = None

        def on_piece(piece: str) -> None:
            pieces.append(piece)
            handle.push(piece)

        try:
            async with tracer.span("run", profile.name, prompt[:200]):
                done = await self._executor.answer(
                    profile, agent_messages(profile, prompt), tracer=tracer, on_piece=on_piece
                )
            if done.stats.finish_reason == "cancelled":
                status = "cancelled"
        except asyncio.CancelledError:
            status = "cancelled"
        except KeikoError as exc:
            status, error = "failed", exc.message
        except Exception as exc:
            log.exception("run %s of %s failed", run_id, profile.name)
            status, error = "failed", error_text(exc)
        finally:
            handle.end()
        text = "".join(pieces)
        await self._finish(tracer, run_id, status, text, error)
        self._track(profile.name, -1, error)
        return RunOutcome(run_id, status, text, error)

    # ------------------------------------------------------------------ plans
    async def plan_run(
        self,
        handle: RunHandle,
        agents_source: Callable[[], Awaitable[dict[str, AgentProfile]]],
        plan: Plan,
    ) -> RunOutcome:
        agents = await agents_source()
        title = plan.goal.strip() or (plan.steps[0].instruction if plan.steps else "plan")
        check_plan(plan, agents)  # a PlanError ends the run before anything is stored
        record = await self._store.create_run("plan", title, plan=plan)
        return await self._execute(handle, record.id, "plan", plan, agents, Checkpoint())

    async def resume(
        self,
        handle: RunHandle,
        agents_source: Callable[[], Awaitable[dict[str, AgentProfile]]],
        run_id: int,
    ) -> RunOutcome:
        old = await self._store.get_run(run_id)
        if old is None:
            raise AgentError(f"There is no run {run_id}.", "See the runs with `keiko agents runs`.")
        if old.kind == "agent" or old.plan is None:
            raise AgentError(
                f"Run {run_id} is one agent's answer; only plans and batches can be resumed.",
                "Run the agent again.",
            )
        if old.status not in RESUMABLE:
            raise AgentError(
                f"Run {run_id} is {old.status}; only interrupted, failed or cancelled runs can be"
                " resumed.",
                "Start it again instead." if old.status != "resumed" else "Resume the newer run.",
            )
        agents = await agents_source()
        check_plan(old.plan, agents)  # an agent deleted since: say so before anything runs
        checkpoint = old.checkpoint.for_resume()
        record = await self._store.create_run(
            old.kind,
            old.title,
            agent=old.agent,
            plan=old.plan,
            checkpoint=checkpoint,
            resumed_from=run_id,
        )
        await self._store.update_run(run_id, status="resumed")
        self._bus.publish(RunChanged(run_id, "resumed"))
        return await self._execute(handle, record.id, old.kind, old.plan, agents, checkpoint)

    # ------------------------------------------------------------------ batches
    async def batch_run(
        self,
        handle: RunHandle,
        profile_source: Callable[[], Awaitable[AgentProfile]],
        inputs: Sequence[str],
        instruction: str,
        concurrency: int,
    ) -> RunOutcome:
        profile = await profile_source()
        if not inputs:
            raise AgentError("The batch has no inputs.", "Give at least one.")
        if len(inputs) > MAX_BATCH:
            raise AgentError(f"The batch has {len(inputs):,} inputs; at most {MAX_BATCH:,}.")
        steps = tuple(
            PlanStep(str(n), profile.name, _item(item)) for n, item in enumerate(inputs, 1)
        )
        plan = Plan(instruction.strip(), steps)
        title = f"{profile.name} over {len(steps)} inputs" + (
            f": {instruction.strip()[:120]}" if instruction.strip() else ""
        )
        record = await self._store.create_run(
            "batch", title, agent=profile.name, plan=plan, checkpoint=Checkpoint()
        )
        agents = {profile.name: profile}
        return await self._execute(
            handle, record.id, "batch", plan, agents, Checkpoint(), concurrency
        )

    # ------------------------------------------------------------------ shared
    async def _execute(
        self,
        handle: RunHandle,
        run_id: int,
        kind: RunKind,
        plan: Plan,
        agents: Mapping[str, AgentProfile],
        checkpoint: Checkpoint,
        concurrency: int | None = None,
    ) -> RunOutcome:
        self._begin(handle, run_id)
        tracer = Tracer(run_id, self._store)

        def build(
            profile: AgentProfile, step: PlanStep, inputs: Mapping[str, str]
        ) -> list[ChatMessage]:
            if kind == "batch":  # the batch's instruction, then this step's input
                return agent_messages(profile, f"{plan.goal}\n\n{step.instruction}".strip())
            return step_messages(profile, plan.goal, step, inputs, lambda k: plan.step(k).agent)

        async def execute(step: PlanStep, inputs: Mapping[str, str], attempt: int) -> str:
            profile = agents[step.agent]
            self._track(profile.name, 1, None)
            error: str | None = None
            try:
                done = await self._executor.answer(
                    profile, build(profile, step, inputs), tracer=tracer
                )
                if not done.text.strip():
                    raise AgentError(f"{profile.name} gave no answer.")
                return done.text
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                error = error_text(exc)
                raise
            finally:
                self._track(profile.name, -1, error)

        async def on_checkpoint(state: Checkpoint, step_id: str) -> None:
            await self._store.update_run(run_id, checkpoint=state)
            self._bus.publish(RunChanged(run_id, "running", step_id))

        def retry_policy(agent: str) -> tuple[int, float]:
            profile = agents[agent]
            return profile.retries, profile.retry_backoff

        orchestrator = Orchestrator(
            execute,
            retry_policy=retry_policy,
            concurrency=concurrency or self._settings().agent_parallel_steps,
            on_checkpoint=on_checkpoint,
            tracer=tracer,
        )
        handle._cancel_hook = orchestrator.cancel
        status: RunStatus
        try:
            async with tracer.span("plan", plan.goal[:200] or kind):
                result = await orchestrator.run(plan, checkpoint)
            status, text, report = result.status, result.text, result.report
            state = result.checkpoint
        except asyncio.CancelledError:  # the task itself was cancelled (closing)
            status, text, report, state = "cancelled", "", "", orchestrator.checkpoint
        error = None if status == "completed" else _first_problem(report) or status
        await self._finish(tracer, run_id, status, text, error, state)
        return RunOutcome(run_id, status, text, error, report, state)

    def _begin(self, handle: RunHandle, run_id: int) -> None:
        handle.set_id(run_id)
        self._bus.publish(RunChanged(run_id, "running"))

    async def _finish(
        self,
        tracer: Tracer,
        run_id: int,
        status: RunStatus,
        text: str,
        error: str | None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        """Store how the run ended (shielded: a second cancel does not lose it)."""

        async def store() -> None:
            await tracer.flush()
            await self._store.update_run(
                run_id, status=status, result=text, error=error, checkpoint=checkpoint
            )

        try:
            await asyncio.shield(store())
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("could not store the end of run %s", run_id)
        self._bus.publish(RunChanged(run_id, status))


def _item(item: str) -> str:
    """A batch input as a step's instruction: at most ``MAX_INSTRUCTION`` characters (a file's
    text is cut, with a note), never empty."""
    text = item.strip() or "(empty)"
    if len(text) > MAX_INSTRUCTION:
        note = "\n[the rest was cut]"
        text = text[: MAX_INSTRUCTION - len(note)] + note
    return text


def _first_problem(report: str) -> str | None:
    for line in report.splitlines():
        if line.startswith("✗"):
            return line[1:].strip()
    return None
