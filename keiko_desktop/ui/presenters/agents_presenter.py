"""AgentsPresenter: drives the Agents panel with the AgentService (``core.agents``).

It lists the agents with their status (kept current by ``AgentStatusChanged`` and
``AgentsChanged``), opens the profile editor (``AgentDialog``: the models the registry knows,
the running tool servers' tools) and saves what it returns, duplicates, deletes, imports and
exports agents (files are read and written off the GUI thread; an import that would replace
agents asks first). Runs (ask, plan, run, stop, the Runs tab) are ``AgentRuns``'s, in
``self.runs``. The page loads when it is first shown, so the window's start never waits on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from keiko_desktop.core.agents.errors import AgentProfileError
from keiko_desktop.core.agents.events import AgentsChanged, AgentStatusChanged
from keiko_desktop.core.agents.profiles import MAX_IMPORT_BYTES, AgentProfile, import_json
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import ModelStateChanged
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.agent_dialog import AgentDialog
from keiko_desktop.ui.dialogs.agent_tools import ToolChoice
from keiko_desktop.ui.panels.agents_panel import AgentsPanel
from keiko_desktop.ui.presenters.agent_runs import AgentRuns
from keiko_desktop.ui.task_runner import TaskRunner

if TYPE_CHECKING:
    from keiko_desktop.app import Core
    from keiko_desktop.core.agents.service import AgentService


class AgentsUnavailableError(KeikoError):
    """This Core has no agents (a window on a core built without them)."""


def read_agents_file(path: str) -> str:
    """The text of an agents file; a file too big for one is cut (the import then says so)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_IMPORT_BYTES * 4 + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AgentProfileError("file", "is not UTF-8 text.", "Is it an agents file?") from None


def write_agents_file(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def _count(n: int) -> str:
    return f"{n} agent{'s' if n != 1 else ''}"


class AgentsPresenter(QObject):
    """Owns the async work behind the Agents panel (see the module docs).

    Signals:
        agents_listed(): the agent list was (re)filled.
        dialog_opened(object): the profile editor (``AgentDialog``) is on screen.
    """

    agents_listed = Signal()
    dialog_opened = Signal(object)

    def __init__(
        self,
        panel: AgentsPanel,
        core: CoreHandle,
        bridge: EventBridge,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self._page = panel.run_page
        self._list = panel.agent_list
        self._core = core
        self.tasks = TaskRunner(self._show_error)
        self.runs = AgentRuns(panel, self._agents, self.tasks, self)
        self.dialog: AgentDialog | None = None
        self._list_seq = 0
        self._select_next: str | None = None
        self._dialog_theme: object = None

        panel.first_shown.connect(self._on_panel_first_shown)
        panel.delete_confirmed.connect(self._on_panel_delete_confirmed)
        panel.import_chosen.connect(self._on_panel_import_chosen)
        panel.export_chosen.connect(self._on_panel_export_chosen)
        self._list.agent_selected.connect(self._on_list_agent_selected)
        self._list.new_requested.connect(self._on_list_new_requested)
        self._list.edit_requested.connect(self._on_list_edit_requested)
        self._list.duplicate_requested.connect(self._on_list_duplicate_requested)
        bridge.agents_changed.connect(self._on_bridge_agents_changed)
        bridge.agent_status_changed.connect(self._on_bridge_agent_status_changed)
        bridge.run_changed.connect(self.runs.on_run_changed)
        bridge.model_state_changed.connect(self._on_bridge_model_state_changed)

    # ------------------------------------------------------------------ public
    async def load(self) -> None:
        """List the agents and the runs (the page's first show does this)."""
        await self.list_agents()
        await self.runs.list_runs()

    async def list_agents(self, select: str | None = None) -> None:
        """Show the agents with their statuses (and select ``select``, also when a newer
        listing, say for ``AgentsChanged``, overtakes this one)."""
        self._list_seq += 1
        seq = self._list_seq
        if select is not None:
            self._select_next = select
        agents = await self._agents()
        profiles = await agents.list_agents()
        statuses = {p.name: await agents.status_of(p) for p in profiles}
        if seq != self._list_seq:
            return  # a newer listing is on its way
        self._list.set_profiles(profiles, statuses)
        self._page.set_agents([p.name for p in profiles])
        if self._select_next is not None:
            self._list.select_agent(self._select_next)
            self._select_next = None
        self._show_selected()
        self.agents_listed.emit()

    def open_editor(self, name: str | None) -> None:
        """The profile editor for ``name`` (None: a new agent)."""
        self.tasks.spawn(self._open_editor(name), "open the agent editor")

    def escape(self) -> None:
        """Esc on the Agents page: stop what runs from it."""
        self.runs.stop()

    def close(self) -> None:
        self.runs.close()
        self.tasks.close()
        if self.dialog is not None:
            self.dialog.reject()

    # ------------------------------------------------------------------ profiles
    async def _open_editor(self, name: str | None) -> AgentDialog:
        core = await self._core.get()
        agents = await self._agents()
        profile = await agents.get_agent(name) if name is not None else AgentProfile(name="")
        if self.dialog is None or self._dialog_theme is not self.panel.theme:
            if self.dialog is not None:
                self.dialog.deleteLater()
            self._dialog_theme = self.panel.theme
            self.dialog = AgentDialog(self.panel.theme, self.panel.window())
            self.dialog.save_requested.connect(self._on_dialog_save_requested)
        models = [
            (m.name + (" (bundled)" if m.bundled else ""), m.name)
            for m in core.registry.list_models()
        ]
        self.dialog.set_models(models)
        self.dialog.set_tool_choices(self._tool_choices(core))
        self.dialog.set_profile(profile)
        self.dialog.open()
        self.dialog_opened.emit(self.dialog)
        return self.dialog

    @staticmethod
    def _tool_choices(core: Core) -> list[ToolChoice] | None:
        """The running tool servers and their tools (None when the tools are not started)."""
        service = core.tools
        if service is None:
            return None
        choices = []
        for server in service.servers():
            tools = service.tools(server.name, include_disabled=True)
            note = server.status if server.enabled else "switched off"
            choices.append(
                ToolChoice(server.name, tuple((t.name, t.description) for t in tools), note)
            )
        return choices

    async def _save(self, dialog: AgentDialog, profile: AgentProfile) -> None:
        agents = await self._agents()
        try:
            saved = await agents.save_agent(profile)
        except KeikoError as exc:
            dialog.show_error(exc)  # an AgentProfileError's field is focused
            return
        dialog.accept()
        await self.list_agents(select=saved.name)

    async def _duplicate(self, name: str) -> None:
        agents = await self._agents()
        copy = await agents.duplicate_agent(name)
        await self.list_agents(select=copy.name)
        self.panel.show_note(f"Made “{one_line(copy.name, 64)}”.")

    async def _delete(self, name: str) -> None:
        agents = await self._agents()
        await agents.delete_agent(name)
        await self.list_agents()

    async def _import(self, path: str, replace: bool) -> None:
        agents = await self._agents()
        text = await asyncio.to_thread(read_agents_file, path)
        profiles = import_json(text)  # AgentProfileError naming the field
        existing = {p.name.casefold() for p in await agents.list_agents()}
        clashes = [p.name for p in profiles if p.name.casefold() in existing]
        if clashes and not replace:
            self.panel.ask_replace(path, clashes)
            return
        saved = await agents.import_agents(text, replace=replace)
        await self.list_agents(select=saved[0].name if saved else None)
        self.panel.show_note(f"Imported {_count(len(saved))}.")

    async def _export(self, path: str, names: Sequence[str]) -> None:
        agents = await self._agents()
        text = await agents.export_agents(list(names) or None)
        await asyncio.to_thread(write_agents_file, path, text)
        count = len(names) if names else len(self._list.names())
        self.panel.show_note(f"Exported {_count(count)} to {one_line(path, 200)}.")

    # ------------------------------------------------------------------ internals
    async def _agents(self) -> AgentService:
        core = await self._core.get()
        if core.agents is None:
            raise AgentsUnavailableError(
                "Agents are not available in this window.", "Start Keiko again to use them."
            )
        return core.agents

    def _show_selected(self) -> None:
        profile = self._list.selected_profile
        if profile is None:
            self._page.set_agent(None)
            return
        status, detail = self._list.model.status_of(profile.name)
        self._page.set_agent(profile, status, detail)

    def _show_error(self, error: KeikoError) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.show_error(error)
        else:
            self.panel.show_error(error.message, error.hint)

    # ------------------------------------------------------------------ slots
    def _on_panel_first_shown(self) -> None:
        self.tasks.spawn(self.load(), "list the agents")

    def _on_list_agent_selected(self, _name: str) -> None:
        self._show_selected()

    def _on_list_new_requested(self) -> None:
        self.open_editor(None)

    def _on_list_edit_requested(self, name: str) -> None:
        self.open_editor(name)

    def _on_list_duplicate_requested(self, name: str) -> None:
        self.tasks.spawn(self._duplicate(name), "duplicate an agent")

    def _on_panel_delete_confirmed(self, name: str) -> None:
        self.tasks.spawn(self._delete(name), "delete an agent")

    def _on_panel_import_chosen(self, path: str, replace: bool) -> None:
        self.tasks.spawn(self._import(path, replace), "import agents")

    def _on_panel_export_chosen(self, path: str, names: Sequence[str]) -> None:
        self.tasks.spawn(self._export(path, names), "export agents")

    def _on_dialog_save_requested(self, profile: AgentProfile) -> None:
        if self.dialog is not None:
            self.tasks.spawn(self._save(self.dialog, profile), "save an agent")

    def _on_bridge_agents_changed(self, _event: AgentsChanged) -> None:
        if self._list.names() or self.panel.isVisible():
            self.tasks.spawn(self.list_agents(), "list the agents")

    def _on_bridge_model_state_changed(self, event: ModelStateChanged) -> None:
        if event.state in ("ready", "unloaded", "error") and self._list.names():
            self.tasks.spawn(self.list_agents(), "list the agents")  # ready / inactive

    def _on_bridge_agent_status_changed(self, event: AgentStatusChanged) -> None:
        self._list.set_status(event.agent, event.status, event.detail)
        if self._list.selected_name == event.agent:
            self._page.set_status(event.status, event.detail)
