"""ChatAgents: the agent a chat is bound to, kept in view for the ChatPresenter.

The composer's chooser lists the agents ("No agent" first) and shows the open conversation's
agent; the header names it ("Agent: NAME"); choosing another binds the conversation
(``core.agents.set_conversation_agent``). Without ``core.agents`` the chooser is hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from keiko_desktop.core.agents.events import AgentsChanged
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.panels.chat_panel import ChatPanel
from keiko_desktop.ui.task_runner import TaskRunner

if TYPE_CHECKING:
    from keiko_desktop.app import Core


class ChatAgents:
    """The chat panel's agent chooser and header, and the binding in the store."""

    def __init__(
        self,
        panel: ChatPanel,
        core: CoreHandle,
        tasks: TaskRunner,
        current: Callable[[], int | None],
    ) -> None:
        self._panel = panel
        self._composer = panel.composer
        self._core = core
        self._tasks = tasks
        self._current = current
        self._listed = False
        self._on_agents_changed: Callable[[AgentsChanged], None] | None = None

    def follow_bus(self, on_agents_changed: Callable[[AgentsChanged], None]) -> None:
        """Hear ``AgentsChanged`` from the Core's bus (once it is there), for a bridge without
        an ``agents_changed`` signal. The bus holds the handler weakly: keep its owner alive."""
        self._on_agents_changed = on_agents_changed

    def list_once(self) -> None:
        """List the agents the first time a chat is shown (the Core is there by then)."""
        if not self._listed:
            self._listed = True
            self._tasks.spawn(self.list(), "list agents")

    async def list(self) -> None:
        """Fill the chooser (hidden without agents) and show the open chat's binding again
        (its agent may have been renamed or deleted)."""
        core = await self._core.get()
        if core.agents is None:
            self._composer.set_agents_available(False)
            return
        if self._on_agents_changed is not None:
            core.bus.subscribe(AgentsChanged, self._on_agents_changed)  # once per bus
            self._on_agents_changed = None
        profiles = await core.agents.list_agents()
        self._composer.set_agents([p.name for p in profiles])
        self._composer.set_agents_available(True)
        current = self._current()
        if current is not None:
            await self.show_binding(current)

    async def show_binding(self, conversation_id: int) -> None:
        """Show the agent ``conversation_id`` is bound to, if it is still the open chat."""
        core = await self._core.get()
        if core.agents is None:
            return
        profile = await core.agents.conversation_agent(conversation_id)
        if conversation_id == self._current():
            name = profile.name if profile is not None else None
            self._composer.set_agent(name)
            self._panel.set_agent(name)

    async def bind(self, conversation_id: int, name: str | None) -> None:
        """Bind the conversation to ``name`` (None: no agent); the view shows what is stored,
        also when that failed."""
        core = await self._core.get()
        if core.agents is None:
            return
        try:
            await core.agents.set_conversation_agent(conversation_id, name)
        finally:
            await self.show_binding(conversation_id)

    async def bind_new(self, core: Core, conversation_id: int, name: str) -> None:
        """Bind a chat its first message just created (the caller shows it). Await it straight
        after ``send``, before anything else: the reply reads the binding on the same store
        thread, after this write."""
        if core.agents is not None:
            await core.agents.set_conversation_agent(conversation_id, name)
