"""AgentService: the one door to agents for the window and the CLI.

Profiles (create, edit, duplicate, delete, export, import; the shipped ones seeded on first
start), each agent's status (``AgentStatusChanged``), conversations bound to an agent, and
runs: one agent on a prompt (``start_run``), a plan toward a goal (``propose_plan`` then
``start_plan``), one agent over many inputs (``start_batch``), and ``resume`` of an interrupted
plan from its checkpoint. Every run is stored (``RunRepository``) with its spans, and ends in a
``RunOutcome`` (see ``handles.py``); the runs themselves are in ``runs.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from keiko_desktop.core.agents.errors import AgentError, AgentProfileError
from keiko_desktop.core.agents.events import AgentsChanged, AgentStatusChanged
from keiko_desktop.core.agents.handles import AgentRun, BatchRun, PlanRun, RunHandle, RunOutcome
from keiko_desktop.core.agents.plan import Plan, check_plan
from keiko_desktop.core.agents.planner import propose_plan
from keiko_desktop.core.agents.ports import AgentRepository, RunRepository
from keiko_desktop.core.agents.profiles import (
    SHIPPED_PROFILES,
    AgentProfile,
    AgentStatus,
    export_json,
    import_json,
)
from keiko_desktop.core.agents.records import RunRecord, Span
from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatModel

if TYPE_CHECKING:
    from keiko_desktop.core.agents.model_pool import ModelPool
    from keiko_desktop.core.agents.runs import Runs
    from keiko_desktop.core.tools.service import ToolService

log = logging.getLogger(__name__)

STOP_WAIT = 5.0


class AgentService:
    """Agents, their status and their runs (see the module docs)."""

    def __init__(
        self,
        agents: AgentRepository,
        runs: RunRepository,
        pool: ModelPool,
        bus: EventBus,
        settings: Callable[[], Settings],
        tools: Callable[[], Awaitable[ToolService | None]],
        model_loaded: Callable[[str], bool],
    ) -> None:
        self.bus = bus
        self.repo = agents
        self.run_store = runs
        self.pool = pool
        self._settings = settings
        self._model_loaded = model_loaded
        self._tools = tools
        self._busy: Counter[str] = Counter()
        self._errors: dict[str, str] = {}
        self._shown: dict[str, AgentStatus] = {}
        self._active: set[RunHandle] = set()
        self._run_maker: Runs | None = None
        self.recovered = 0
        self._load_task: asyncio.Task[None] | None = None

    def start_loading(self) -> None:
        """Start ``load`` in the background (``build_core`` does; every method waits for it)."""
        if self._load_task is None:
            self._load_task = asyncio.get_running_loop().create_task(self._load())
            self._load_task.add_done_callback(_log_load_failure)

    async def ready(self) -> None:
        """Wait until the shipped agents are seeded and dead runs marked (``start_loading``)."""
        self.start_loading()
        assert self._load_task is not None
        await asyncio.shield(self._load_task)

    async def _load(self) -> None:
        seeded = await self.repo.seed_agents(SHIPPED_PROFILES)
        if seeded:
            log.info("added the %d shipped agents", seeded)
        self.recovered = await self.run_store.mark_runs_interrupted()
        if self.recovered:
            log.info("marked %d runs whose process ended as interrupted", self.recovered)

    # ------------------------------------------------------------------ profiles
    async def list_agents(self) -> list[AgentProfile]:
        await self.ready()
        return await self.repo.list_agents()

    async def get_agent(self, name: str) -> AgentProfile:
        await self.ready()
        profile = await self.repo.get_agent(name)
        if profile is None:
            known = ", ".join(p.name for p in await self.repo.list_agents())
            raise AgentError(f"There is no agent named {name!r}.", f"Known agents: {known}.")
        return profile

    async def save_agent(self, profile: AgentProfile) -> AgentProfile:
        await self.ready()
        old = None
        if profile.id is not None:
            old = next((p for p in await self.repo.list_agents() if p.id == profile.id), None)
        saved = await self.repo.save_agent(profile.validate())
        names = (saved.name,) if old is None or old.name == saved.name else (old.name, saved.name)
        self.bus.publish(AgentsChanged(names))
        return saved

    async def duplicate_agent(self, name: str) -> AgentProfile:
        await self.ready()
        original = await self.get_agent(name)
        taken = {p.name.casefold() for p in await self.repo.list_agents()}
        for n in range(1, 1000):
            suffix = " (copy)" if n == 1 else f" (copy {n})"
            candidate = original.name[: 64 - len(suffix)] + suffix
            if candidate.casefold() not in taken:
                return await self.save_agent(original.renamed(candidate))
        raise AgentError(f"{name!r} has too many copies already.", "Delete or rename some.")

    async def delete_agent(self, name: str) -> None:
        await self.ready()
        if not await self.repo.delete_agent(name):
            await self.get_agent(name)  # raises: no such agent
        self._errors.pop(name, None)
        self.bus.publish(AgentsChanged((name,)))

    async def export_agents(self, names: Sequence[str] | None = None) -> str:
        await self.ready()
        if names:
            profiles = [await self.get_agent(name) for name in names]
        else:
            profiles = await self.repo.list_agents()
        return export_json(profiles)

    async def import_agents(self, text: str, *, replace: bool = False) -> list[AgentProfile]:
        """Store the agents of an exported file; nothing is stored if any field is bad, or (without
        ``replace``) if an agent of that name exists."""
        await self.ready()
        profiles = import_json(text)
        existing = {p.name.casefold(): p for p in await self.repo.list_agents()}
        for i, profile in enumerate(profiles):
            if profile.name.casefold() in existing and not replace:
                raise AgentProfileError(
                    f"agents[{i}].name",
                    f"an agent named {profile.name!r} exists already.",
                    "Import with replace (--replace), or rename it in the file.",
                )
        saved = []
        for profile in profiles:
            old = existing.get(profile.name.casefold())
            stored = _with_id(profile, old.id if old is not None else None)
            saved.append(await self.repo.save_agent(stored))
        self.bus.publish(AgentsChanged(tuple(p.name for p in saved)))
        return saved

    # ------------------------------------------------------------------ status
    def status(self, name: str) -> tuple[AgentStatus, str]:
        """(status, detail) of the agent named ``name``, as it is now."""
        if self._busy[name]:
            runs = self._busy[name]
            return "busy", f"{runs} run{'s' if runs > 1 else ''} in progress"
        if name in self._errors:
            return "error", self._errors[name]
        return "inactive", ""

    async def status_of(self, profile: AgentProfile) -> tuple[AgentStatus, str]:
        status, detail = self.status(profile.name)
        if status == "inactive" and self._model_loaded(profile.model):
            return "ready", "its model is loaded"
        return status, detail

    def _track(self, name: str, delta: int, error: str | None = None) -> None:
        """A run of ``name`` started (+1) or ended (-1, with its error or None)."""
        self._busy[name] += delta
        if delta < 0:
            if error:
                self._errors[name] = error
            else:
                self._errors.pop(name, None)
        status, detail = self.status(name)
        if status == "inactive":
            status, detail = "ready", ""
        if self._shown.get(name) != status or status == "error":
            self._shown[name] = status
            self.bus.publish(AgentStatusChanged(name, status, detail))

    # ------------------------------------------------------------------ chat binding
    async def set_conversation_agent(self, conversation_id: int, name: str | None) -> None:
        await self.ready()
        await self.repo.set_conversation_agent(conversation_id, name)

    async def conversation_agent(self, conversation_id: int) -> AgentProfile | None:
        await self.ready()
        return await self.repo.conversation_agent(conversation_id)

    async def tools(self) -> ToolService | None:
        """The tool service, started if need be (for chat bound to an agent with tools)."""
        return await self._tools()

    def lease(self, model: str) -> AbstractAsyncContextManager[ChatModel]:
        """An agent's model from the pool (for chat bound to an agent)."""
        return self.pool.lease(model)

    # ------------------------------------------------------------------ runs
    def start_run(self, name: str, prompt: str, *, conversation_id: int | None = None) -> AgentRun:
        """Start ``name`` on ``prompt``; iterate the handle for the answer as it streams."""
        handle = AgentRun()
        self._started(handle, self._runs.agent_run(handle, lambda: self.get_agent(name), prompt))
        return handle

    async def propose_plan(self, goal: str, *, seed: int | None = None) -> Plan:
        """A plan toward ``goal`` for the agents there are, from the chat's model."""
        await self.ready()
        agents = await self.repo.list_agents()
        if not agents:
            raise AgentError("There are no agents to plan for.", "Create an agent first.")
        async with self.pool.lease("") as model:
            plan = await propose_plan(model, goal, agents, seed=seed)
        log.info("proposed a plan of %d steps", len(plan.steps))
        return plan

    async def check(self, plan: Plan) -> Plan:
        await self.ready()
        return check_plan(plan, [p.name for p in await self.repo.list_agents()])

    def start_plan(self, plan: Plan) -> PlanRun:
        """Run ``plan``. It is checked first (``check`` does that alone): a plan that does not
        hold raises its PlanError from ``run_id()`` and ``result()``, and nothing is stored."""
        handle = PlanRun()
        self._started(handle, self._runs.plan_run(handle, self._agents_by_name, plan))
        return handle

    def resume(self, run_id: int) -> PlanRun:
        """Go on with an interrupted, failed or cancelled plan run from its checkpoint: the steps
        it finished are kept, not run again. The old run is marked ``resumed``. A run that
        cannot be resumed raises its AgentError from ``run_id()`` and ``result()``."""
        handle = PlanRun()
        self._started(handle, self._runs.resume(handle, self._agents_by_name, run_id))
        return handle

    def start_batch(
        self,
        name: str,
        inputs: Sequence[str],
        *,
        instruction: str = "",
        concurrency: int | None = None,
    ) -> BatchRun:
        """Run ``name`` once per input (``instruction`` before each), at most ``concurrency``
        (default: the ``agent_parallel_steps`` setting) at a time; outputs collected."""
        handle = BatchRun()
        limit = concurrency or self._settings().agent_parallel_steps
        work = self._runs.batch_run(
            handle, lambda: self.get_agent(name), list(inputs), instruction, limit
        )
        self._started(handle, work)
        return handle

    def active_runs(self) -> list[RunHandle]:
        return [h for h in self._active if not h.done]

    async def list_runs(self, limit: int = 100, search: str = "") -> list[RunRecord]:
        await self.ready()
        return await self.run_store.list_runs(limit, search)

    async def get_run(self, run_id: int) -> RunRecord | None:
        await self.ready()
        return await self.run_store.get_run(run_id)

    async def spans(self, run_id: int) -> list[Span]:
        await self.ready()
        return await self.run_store.list_spans(run_id)

    async def aclose(self) -> None:
        """Cancel every run and wait (briefly) for each to store how it ended."""
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
            await asyncio.wait({self._load_task})
        handles = self.active_runs()
        for handle in handles:
            handle.cancel()
        if handles:
            await asyncio.wait(
                [asyncio.ensure_future(h.result()) for h in handles], timeout=STOP_WAIT
            )
        await self.pool.aclose()

    # ------------------------------------------------------------------ internals
    @property
    def _runs(self) -> Runs:
        """What runs agents, made on first use: it brings the runner and the tool middleware
        (jsonschema), which a process that never runs an agent (``keiko ask``) does not need."""
        if self._run_maker is None:
            from keiko_desktop.core.agents.execution import AgentExecutor
            from keiko_desktop.core.agents.runs import Runs

            executor = AgentExecutor(self.pool, self._tools, self._settings)
            self._run_maker = Runs(executor, self.run_store, self.bus, self._settings, self._track)
        return self._run_maker

    def _started(self, handle: RunHandle, work: Coroutine[Any, Any, RunOutcome]) -> None:
        handle.start(work)
        self._active.add(handle)
        handle.on_done(lambda: self._active.discard(handle))

    async def _agents_by_name(self) -> dict[str, AgentProfile]:
        await self.ready()
        return {p.name: p for p in await self.repo.list_agents()}


def _with_id(profile: AgentProfile, agent_id: int | None) -> AgentProfile:
    return replace(profile, id=agent_id)


def _log_load_failure(task: asyncio.Task[None]) -> None:
    """Say why the agents could not load (``ready()`` raises it to every caller too)."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not load the agents: %s", task.exception())
