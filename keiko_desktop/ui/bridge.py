"""EventBridge: the core's EventBus re-emitted as Qt signals, on the GUI thread.

This is the one place where core events cross into Qt (design §1, §4). Widgets never subscribe
to the bus; presenters connect to these signals.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, SignalInstance

from keiko_desktop.core.agents.events import AgentsChanged, AgentStatusChanged, RunChanged
from keiko_desktop.core.downloads import ModelDownloadChanged
from keiko_desktop.core.endpoints import EndpointStatusChanged
from keiko_desktop.core.events import (
    ConversationChanged,
    Event,
    EventBus,
    MessageCompleted,
    MessageCreated,
    ModelStateChanged,
    SettingsChanged,
)
from keiko_desktop.core.tasks.events import (
    SchedulesChanged,
    TaskFinished,
    TaskOwnerChanged,
    TaskProgressed,
    TasksReloaded,
    TasksRemoved,
    TaskUpdated,
)
from keiko_desktop.core.tools.call_events import ToolCallActivity
from keiko_desktop.core.tools.events import (
    McpServerStatusChanged,
    ToolExecuted,
    ToolPolicyReset,
)
from keiko_desktop.core.voice.events import SpeechStarted, SpeechStopped, TranscriptionFinished


class EventBridge(QObject):
    """Subscribes to the bus (weakly: keep the bridge alive) and re-emits each event.

    Signals:
        model_state_changed(ModelStateChanged): the model started loading, is ready, or failed.
        message_created(MessageCreated): a message was stored.
        message_completed(MessageCompleted): a reply ended (complete, interrupted or error).
        conversation_changed(ConversationChanged): a chat was created, renamed, pinned, deleted
            or restored.
        tool_policy_reset(ToolPolicyReset): a tool set to Always asks again (its server or
            the tool changed).
        tool_executed(ToolExecuted): a tool call finished (or was refused).
        tool_call_activity(ToolCallActivity): a running tool call started, progressed,
            logged a line or ended.
        mcp_server_status_changed(McpServerStatusChanged): a tool server started, failed or
            stopped.
        agent_status_changed(AgentStatusChanged): an agent became ready, busy, or failed.
        agents_changed(AgentsChanged): an agent was created, edited, deleted or imported.
        run_changed(RunChanged): an agent run started, checkpointed a step, or ended.
        task_updated(TaskUpdated): a task was stored changed (added, started, retried,
            finished: a ``TaskFinished`` is emitted here first, then on ``task_finished``).
        task_finished(TaskFinished): a task completed, failed or was cancelled.
        task_progressed(TaskProgressed): a running task's live progress.
        tasks_removed(TasksRemoved): tasks were deleted.
        tasks_reloaded(TasksReloaded): many tasks changed at once: read them again.
        schedules_changed(SchedulesChanged): a schedule was added, deleted, switched or fired.
        task_owner_changed(TaskOwnerChanged): whether this process runs the tasks changed.
        settings_changed(SettingsChanged): new settings were saved (``changed``: which keys).
        transcription_finished(TranscriptionFinished): speech (the microphone, a file) became
            text.
        speech_started(SpeechStarted): Keiko started saying a sentence.
        speech_stopped(SpeechStopped): Keiko stopped speaking (finished, stopped or an error).
        model_download_changed(ModelDownloadChanged): a model download moved on or changed
            status.
        endpoint_status_changed(EndpointStatusChanged): an endpoint was checked, added or
            removed.

    An event is emitted on the signal of its own type and of each mapped base class, most
    general first; the bus is subscribed once per event family (it delivers subclasses too).
    """

    model_state_changed = Signal(object)
    message_created = Signal(object)
    message_completed = Signal(object)
    conversation_changed = Signal(object)
    tool_policy_reset = Signal(object)
    tool_executed = Signal(object)
    tool_call_activity = Signal(object)
    mcp_server_status_changed = Signal(object)
    agent_status_changed = Signal(object)
    agents_changed = Signal(object)
    run_changed = Signal(object)
    task_updated = Signal(object)
    task_finished = Signal(object)
    task_progressed = Signal(object)
    tasks_removed = Signal(object)
    tasks_reloaded = Signal(object)
    schedules_changed = Signal(object)
    task_owner_changed = Signal(object)
    settings_changed = Signal(object)
    transcription_finished = Signal(object)
    speech_started = Signal(object)
    speech_stopped = Signal(object)
    model_download_changed = Signal(object)
    endpoint_status_changed = Signal(object)
    _relayed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus: EventBus | None = None
        self._signals: dict[type[Event], SignalInstance] = {
            ModelStateChanged: self.model_state_changed,
            MessageCreated: self.message_created,
            MessageCompleted: self.message_completed,
            ConversationChanged: self.conversation_changed,
            ToolPolicyReset: self.tool_policy_reset,
            ToolExecuted: self.tool_executed,
            ToolCallActivity: self.tool_call_activity,
            McpServerStatusChanged: self.mcp_server_status_changed,
            AgentStatusChanged: self.agent_status_changed,
            AgentsChanged: self.agents_changed,
            RunChanged: self.run_changed,
            TaskUpdated: self.task_updated,
            TaskFinished: self.task_finished,
            TaskProgressed: self.task_progressed,
            TasksRemoved: self.tasks_removed,
            TasksReloaded: self.tasks_reloaded,
            SchedulesChanged: self.schedules_changed,
            TaskOwnerChanged: self.task_owner_changed,
            SettingsChanged: self.settings_changed,
            TranscriptionFinished: self.transcription_finished,
            SpeechStarted: self.speech_started,
            SpeechStopped: self.speech_stopped,
            ModelDownloadChanged: self.model_download_changed,
            EndpointStatusChanged: self.endpoint_status_changed,
        }
        self._relayed.connect(self._on_self_relayed)

    def attach(self, bus: EventBus) -> None:
        """Start re-emitting ``bus``'s events. Attaching again to the same bus does nothing."""
        if bus is self._bus:
            return
        self.detach()
        self._bus = bus
        for event_type in self._roots():
            bus.subscribe(event_type, self._on_bus_event)

    def detach(self) -> None:
        if self._bus is not None:
            for event_type in self._roots():
                self._bus.unsubscribe(event_type, self._on_bus_event)
            self._bus = None

    def _roots(self) -> list[type[Event]]:
        """The mapped types with no mapped base (the bus delivers their subclasses too, so a
        ``TaskFinished`` arrives once, not once per mapped class it is)."""
        mapped = self._signals
        return [t for t in mapped if not any(b in mapped for b in t.__mro__[1:])]

    def _on_bus_event(self, event: Event) -> None:
        if QThread.currentThread() is self.thread():
            self._emit(event)
        else:
            self._relayed.emit(event)  # queued to the bridge's (GUI) thread

    def _on_self_relayed(self, event: Event) -> None:
        self._emit(event)

    def _emit(self, event: Event) -> None:
        for event_type in reversed(type(event).__mro__):
            signal = self._signals.get(event_type)
            if signal is not None:
                signal.emit(event)
