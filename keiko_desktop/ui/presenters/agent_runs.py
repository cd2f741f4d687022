"""AgentRuns: the runs behind the Agents panel — asking an agent, planning, running a plan,
stopping, and the Runs tab (list, search, show, resume).

An agent's answer streams into the Run tab, shown at most every ``FRAME_MS``; a plan run shows
each step's state as ``RunChanged`` arrives. The run shown in the Runs tab is read again on
each of its ``RunChanged``, and every ``LIVE_MS`` while it runs and the tab is on screen (spans
are stored in batches and have no event of their own). The ``AgentsPresenter`` owns this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from keiko_desktop.core.agents.errors import AgentError
from keiko_desktop.core.agents.events import RunChanged
from keiko_desktop.core.agents.handles import AgentRun, RunHandle, RunOutcome
from keiko_desktop.core.agents.plan import Checkpoint, Plan
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.panels.agents_panel import AgentsPanel
from keiko_desktop.ui.task_runner import TaskRunner

if TYPE_CHECKING:
    from keiko_desktop.core.agents.service import AgentService

FRAME_MS = 33
LIVE_MS = 1000
LIST_DELAY_MS = 150
RUNS_SHOWN = 200
ENDINGS = {
    "completed": "Done.",
    "failed": "Failed.",
    "cancelled": "Stopped.",
    "interrupted": "Interrupted.",
}


class AgentRuns(QObject):
    """Runs started from the panel, and the Runs tab (see the module docs).

    Signals:
        plan_proposed(object): a proposed ``Plan`` is in the editor.
        run_finished(object): a run followed on the Run tab ended (its ``RunOutcome``).
        run_shown(int): the Runs tab shows this run.
    """

    plan_proposed = Signal(object)
    run_finished = Signal(object)
    run_shown = Signal(int)

    def __init__(
        self,
        panel: AgentsPanel,
        agents: Callable[[], Awaitable[AgentService]],
        tasks: TaskRunner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self._page = panel.run_page
        self._tab = panel.runs_page
        self._agents = agents
        self._tasks = tasks
        self.active: RunHandle | None = None
        self.active_id: int | None = None
        self._planning: asyncio.Task[Any] | None = None
        self._pieces: list[str] = []
        self._search = ""
        self._show_seq = 0
        self._frame = self._timer(FRAME_MS, self._on_frame_timeout)
        self._list_due = self._timer(LIST_DELAY_MS, self._on_list_due_timeout, single=True)
        self._live = self._timer(LIVE_MS, self._on_live_timeout)

        self._page.ask_requested.connect(self._on_page_ask_requested)
        self._page.plan_requested.connect(self._on_page_plan_requested)
        self._page.run_plan_requested.connect(self._on_page_run_plan_requested)
        panel.folder_chosen.connect(self._on_panel_folder_chosen)
        self._page.stop_requested.connect(self.stop)
        self._page.open_trace_requested.connect(self._on_page_open_trace_requested)
        self._tab.run_selected.connect(self._on_tab_run_selected)
        self._tab.search_changed.connect(self._on_tab_search_changed)
        self._tab.resume_requested.connect(self._on_tab_resume_requested)

    # ------------------------------------------------------------------ public
    @property
    def busy(self) -> bool:
        return self.active is not None or self._planning is not None

    def stop(self) -> None:
        """Cancel the run, or the planning, the Run tab follows."""
        if self.active is not None:
            self.active.cancel()
        elif self._planning is not None:
            self._planning.cancel()

    def close(self) -> None:
        for timer in (self._frame, self._list_due, self._live):
            timer.stop()

    async def list_runs(self) -> None:
        agents = await self._agents()
        self._tab.set_runs(await agents.list_runs(RUNS_SHOWN, self._search))

    async def show_run(self, run_id: int) -> None:
        self._show_seq += 1
        seq = self._show_seq
        agents = await self._agents()
        record = await agents.get_run(run_id)
        spans = await agents.spans(run_id) if record is not None else []
        if seq != self._show_seq:
            return  # another run (or a newer read of this one) is on its way
        self._tab.show_run(record, spans)
        if record is not None and record.status == "running":
            self._live.start()
        else:
            self._live.stop()
        if record is not None:
            self.run_shown.emit(record.id)

    async def open_run(self, run_id: int) -> None:
        """List the runs, select ``run_id`` and show it."""
        await self.list_runs()
        self._tab.select_run(run_id)
        await self.show_run(run_id)

    def on_run_changed(self, event: RunChanged) -> None:
        """The bridge's ``run_changed`` (connected by the presenter)."""
        if event.run_id == self.active_id:
            self._tasks.spawn(self._step_changed(event.run_id), "show a step's state")
        shown = self._tab.run
        if shown is not None and shown.id == event.run_id:
            self._tasks.spawn(self.show_run(event.run_id), "show a run")
        self._list_due.start()

    # ------------------------------------------------------------------ runs
    async def ask(self, name: str, prompt: str) -> None:
        agents = await self._agents()
        self.panel.clear_error()
        handle = agents.start_run(name, prompt)
        self._page.begin_answer("Answer")
        await self._follow(handle, "ask")

    async def propose(self, goal: str) -> None:
        self._planning = asyncio.current_task()
        self._page.set_busy("plan")
        ended = "Stopped."
        try:
            agents = await self._agents()
            self.panel.clear_error()
            plan = await agents.propose_plan(goal)
            n = len(plan.steps)
            ended = f"Proposed {n} step{'' if n == 1 else 's'}: check, then run the plan."
        except asyncio.CancelledError:
            return  # Stop (the page says so)
        finally:
            self._planning = None
            self._page.set_busy(None, ended)
        self._page.plan_editor.set_plan(plan)
        self.plan_proposed.emit(plan)

    async def run_plan(self, plan: Plan) -> None:
        agents = await self._agents()
        self.panel.clear_error()
        handle = agents.start_plan(plan)
        self._page.begin_answer("Result")
        self._page.plan_editor.set_step_states(Checkpoint())
        await self._follow(handle, "run")

    async def run_folder(self, name: str, instruction: str, folder: str) -> None:
        """Run ``name`` once per text file of ``folder`` (a batch), shown like a plan: one
        step per file."""
        from keiko_desktop.core.agents.batch import folder_inputs

        agents = await self._agents()
        self.panel.clear_error()
        try:
            found = await folder_inputs(Path(folder))
        except AgentError as exc:
            self._page.set_busy(None)
            self.panel.show_error(exc.message, exc.hint)
            return
        handle = agents.start_batch(name, found.inputs, instruction=instruction)
        run_id = await handle.run_id()
        record = await agents.get_run(run_id)
        if record is not None and record.plan is not None:
            self._page.plan_editor.set_plan(record.plan)
        self._page.begin_answer("Result")
        await self._follow(handle, "run")

    async def resume(self, run_id: int) -> None:
        """Resume a plan run; the Run tab follows it when it is free."""
        agents = await self._agents()
        record = await agents.get_run(run_id)
        handle = agents.resume(run_id)
        if self.busy or record is None or record.plan is None:
            await self.open_run(await handle.run_id())
            return
        self._page.plan_editor.set_plan(record.plan)
        self._page.plan_editor.set_step_states(record.checkpoint)
        self._page.begin_answer("Result")
        await self._follow(handle, "run", show_in_tab=True)

    async def _follow(self, handle: RunHandle, kind: str, *, show_in_tab: bool = False) -> None:
        """Show ``handle``'s run on the Run tab until it ends."""
        self.active = handle
        self._page.set_busy(kind)
        outcome: RunOutcome | None = None
        try:
            run_id = await handle.run_id()
            self.active_id = run_id
            self._page.set_run_id(run_id)
            self._list_due.start()
            if show_in_tab:
                await self.open_run(run_id)
            if isinstance(handle, AgentRun):
                self._frame.start()
                async for piece in handle:
                    self._pieces.append(piece)
            outcome = await handle.result()
        finally:
            self._flush()
            self._frame.stop()
            self.active = None
            self.active_id = None
            ending = ENDINGS.get(outcome.status, "") if outcome is not None else "Stopped."
            if outcome is not None and outcome.error:
                ending = f"{ending} {one_line(outcome.error, 300)}"
            self._page.set_busy(None, ending)
        assert outcome is not None
        if kind == "run":
            self._page.plan_editor.set_step_states(outcome.checkpoint)
        self._page.set_result(outcome.text, outcome.report, outcome.error)
        self._list_due.start()
        self.run_finished.emit(outcome)

    async def _step_changed(self, run_id: int) -> None:
        agents = await self._agents()
        record = await agents.get_run(run_id)
        if record is None or run_id != self.active_id:
            return
        self._page.plan_editor.set_step_states(record.checkpoint)
        running = [k for k, v in record.checkpoint.steps.items() if v.status == "running"]
        if running:
            self._page.set_busy_text(f"Running step {', '.join(running)}…")

    # ------------------------------------------------------------------ internals
    def _timer(self, ms: int, slot: Callable[[], None], single: bool = False) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.setSingleShot(single)
        timer.timeout.connect(slot)
        return timer

    def _flush(self) -> None:
        if self._pieces:
            self._page.append_answer("".join(self._pieces))
            self._pieces.clear()

    # ------------------------------------------------------------------ slots
    def _start(self, kind: str, work: Coroutine[Any, Any, None], name: str) -> None:
        """Busy at once (a second click does nothing), idle again if ``work`` fails early."""
        self._page.set_busy(kind)
        self._tasks.spawn(self._idle_after_error(work), name)

    async def _idle_after_error(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except BaseException:
            self._page.set_busy(None)
            raise

    def _on_page_ask_requested(self, name: str, prompt: str) -> None:
        self._start("ask", self.ask(name, prompt), "ask an agent")

    def _on_page_plan_requested(self, goal: str) -> None:
        self._start("plan", self.propose(goal), "propose a plan")

    def _on_page_run_plan_requested(self, plan: Plan) -> None:
        self._start("run", self.run_plan(plan), "run a plan")

    def _on_panel_folder_chosen(self, name: str, instruction: str, folder: str) -> None:
        self._start("run", self.run_folder(name, instruction, folder), "run over a folder")

    def _on_page_open_trace_requested(self, run_id: int) -> None:
        self.panel.show_runs()
        self._tasks.spawn(self.open_run(run_id), "show a run")

    def _on_tab_run_selected(self, run_id: int) -> None:
        self._tasks.spawn(self.show_run(run_id), "show a run")

    def _on_tab_search_changed(self, text: str) -> None:
        self._search = text
        self._tasks.spawn(self.list_runs(), "search runs")

    def _on_tab_resume_requested(self, run_id: int) -> None:
        self._tasks.spawn(self.resume(run_id), "resume a run")

    def _on_list_due_timeout(self) -> None:
        if self._tab.run_list.run_ids() or self.panel.isVisible():
            self._tasks.spawn(self.list_runs(), "list runs")

    def _on_live_timeout(self) -> None:
        shown = self._tab.run
        if shown is not None and self._tab.isVisible():
            self._tasks.spawn(self.show_run(shown.id), "show a run")

    def _on_frame_timeout(self) -> None:
        self._flush()
