"""AppController: wires the window to a Core — the bridge, the presenters, start and shutdown.

The window exists (and is on screen) before the Core: ``start()`` builds the Core after the first
paint, so the user never waits on the database or the model to see the window.

Voice: the recorder (the microphone, ``voice_input_device``), the speaker, the push-to-talk key
in the window and, where the system allows it and ``voice_global_hotkey`` is on, on the whole
desktop (``GlobalHotkey``); QtMultimedia and the speech engines load on first use, after the
first paint. Tests inject their own recorder, output and device checks.

Desktop: the tray icon (``TrayIcon``, where the desktop has a tray; its badge follows replies
and the recorder), ``AppLifetime`` (the one place that decides quitting: closing the window
hides it into the tray when there is one and ``close_to_tray`` is on, else quits; Quit and
Ctrl+Q always quit), the Quick ask popup (``QuickAskPresenter``) and requests from a second
launch (``InstanceServer.request_received`` → ``handle_request``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import SettingsChanged
from keiko_desktop.core.instance_protocol import InstanceRequest
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.events import ToolPolicyReset
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.lifetime import AppLifetime
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.presenters.agents_presenter import AgentsPresenter
from keiko_desktop.ui.presenters.approval_presenter import ApprovalPresenter
from keiko_desktop.ui.presenters.chat_presenter import ChatPresenter
from keiko_desktop.ui.presenters.conversations_presenter import ConversationsPresenter
from keiko_desktop.ui.presenters.elicitation_presenter import ElicitationPresenter
from keiko_desktop.ui.presenters.model_presenter import ModelPresenter
from keiko_desktop.ui.presenters.quick_ask_presenter import QuickAskPresenter
from keiko_desktop.ui.presenters.sampling_presenter import SamplingPresenter
from keiko_desktop.ui.presenters.search_presenter import SearchPresenter
from keiko_desktop.ui.presenters.settings_presenter import SettingsPresenter
from keiko_desktop.ui.presenters.tasks_presenter import TasksPresenter, finished_text
from keiko_desktop.ui.presenters.voice_presenter import VoicePresenter
from keiko_desktop.ui.theme import ThemeManager
from keiko_desktop.ui.tray import TrayActivity, TrayIcon
from keiko_desktop.ui.voice.capture import MicSource, Recorder
from keiko_desktop.ui.voice.playback import SpeakerOutput
from keiko_desktop.ui.voice.ptt_keys import PushToTalkKeys
from keiko_desktop.ui.window_state import WindowState

if TYPE_CHECKING:
    from keiko_desktop.app import Core
    from keiko_desktop.core.tasks.events import TaskFinished, TaskOwnerChanged
    from keiko_desktop.core.voice.ports import AudioOutput
    from keiko_desktop.ui.single_instance import InstanceServer
    from keiko_desktop.ui.voice.devices import DeviceStatus
    from keiko_desktop.ui.voice.global_hotkey import GlobalHotkey

log = logging.getLogger(__name__)

EXPOSE_TIMEOUT = 2.0
POLICY_NOTE_MS = 12_000
PAUSED_TEXT = (
    "Tasks are paused until you resume them (Pause tasks in the tray menu) or Keiko restarts. "
    "Running tasks go on."
)


class AppController(QObject):
    """Owns the presenters of one window and the Core they share."""

    def __init__(
        self,
        window: MainWindow,
        themes: ThemeManager,
        state: WindowState | None = None,
        parent: QObject | None = None,
        *,
        recorder: Recorder | None = None,
        output: AudioOutput | None = None,
        input_status: Callable[[str], DeviceStatus] | None = None,
        output_status: Callable[[], DeviceStatus] | None = None,
        instance: InstanceServer | None = None,
        tray_available: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.themes = themes
        self.state = state
        self.handle = CoreHandle()
        self.bridge = EventBridge(self)
        self.chat = ChatPresenter(window.chat_panel, self.handle, self.bridge, self)
        self.conversations = ConversationsPresenter(
            window.sidebar, self.chat, self.handle, self.bridge, state, self
        )
        self.search = SearchPresenter(window, self.chat, self.handle, self)
        self.settings = SettingsPresenter(window, self.handle, themes, self, bridge=self.bridge)
        self.approvals = ApprovalPresenter(window)  # the Core's approver once attached
        self.elicitations = ElicitationPresenter(window)  # answers the servers' questions
        self.sampling = SamplingPresenter(window)  # servers' requests for the model
        self.model = ModelPresenter(window, self.handle, self.bridge, self)
        self.agents = AgentsPresenter(window.agents_panel, self.handle, self.bridge, self)
        self.tasks = TasksPresenter(
            window.tasks_panel,
            window.toasts,
            self.handle,
            self.bridge,
            lambda: window.show_page("tasks"),
            self,
        )
        self.recorder = recorder or Recorder(self._microphone, parent=self)
        self.speaker = output if output is not None else SpeakerOutput(self)
        self.ptt_keys = PushToTalkKeys(parent=self)  # its key: the settings', once known
        self.hotkey: GlobalHotkey | None = None
        self.voice = VoicePresenter(
            window.chat_panel,
            self.chat,
            self.handle,
            self.bridge,
            self.recorder,
            self.speaker,
            self.ptt_keys,
            self,
            toasts=window.toasts,
            input_status=input_status,
            output_status=output_status,
        )
        self.quick = QuickAskPresenter(
            self.handle,
            self.bridge,
            recorder=self.recorder,
            ptt_keys=self.ptt_keys,
            parent=self,
            themes=themes,
            mic_reason=lambda: self.voice.devices.mic_reason,
        )
        self.voice.keys_wanted = lambda: not self.quick.active  # the popup's keys while active
        self.tray = TrayIcon(self, available=tray_available)
        self.tray_activity = TrayActivity(self.tray, self)
        self.tray_activity.follow(self.bridge, self.recorder)
        self.lifetime = AppLifetime(
            window, self.tray, self._close_to_tray, state, window.toasts, self
        )
        self.tray.show()  # only where the desktop has a tray
        self.instance = instance
        self._pending: list[InstanceRequest] = []
        self._closed = asyncio.Event()
        self._shutdown_done = False
        self.voice.talk_started.connect(self._on_voice_talk_started)
        self.bridge.settings_changed.connect(self._on_bridge_settings_changed)
        self.bridge.tool_policy_reset.connect(self._on_bridge_tool_policy_reset)
        window.new_chat_requested.connect(self._on_window_new_chat_requested)
        window.escape_pressed.connect(self._on_window_escape_pressed)
        window.close_requested.connect(self.lifetime.window_closing)
        window.quit_requested.connect(self.lifetime.quit)
        self.lifetime.quit_requested.connect(self._on_lifetime_quit_requested)
        self.quick.continue_requested.connect(self._on_quick_continue_requested)
        self.quick.hotkey_failed.connect(self._on_quick_hotkey_failed)
        self.tray.quick_ask_requested.connect(self._on_tray_quick_ask_requested)
        self.tray.new_chat_requested.connect(self._on_tray_new_chat_requested)
        self.tray.toggle_window_requested.connect(self.lifetime.toggle_window)
        self.tray.push_to_talk_requested.connect(self._on_tray_push_to_talk_requested)
        self.tray.pause_toggled.connect(self._on_tray_pause_toggled)
        self.tray.quit_requested.connect(self.lifetime.quit)
        self.tray.message_clicked.connect(self.lifetime.show_window)
        # After the Tasks page's own slot (connected when it was built): the banner says paused.
        self.bridge.task_owner_changed.connect(self._on_bridge_task_owner_changed)
        self.bridge.task_finished.connect(self._on_bridge_task_finished)
        if instance is not None:
            instance.request_received.connect(self.handle_request)

    @property
    def core(self) -> Core | None:
        return self.handle.current

    async def start(
        self,
        core: Core | None = None,
        *,
        paths: Paths | None = None,
        settings: Settings | None = None,
        start_model: bool = True,
        start_tools: bool = True,
    ) -> Core:
        """Attach ``core``, or build one (after the window is painted) and attach it.

        A built core starts its tool servers in the background when tool use in chat is on
        (otherwise Settings > Tools starts them); the bridge is attached first so no server
        status or approval request is missed.
        """
        if core is None:
            await self._wait_exposed()
            from keiko_desktop.app import build_core  # sqlalchemy, llama_cpp: after first paint

            try:
                core = await build_core(
                    paths, settings, start_model=start_model, with_endpoints=True
                )
            except KeikoError as exc:
                self.handle.fail(exc)
                self.window.chat_panel.show_error(exc.message, exc.hint)
                self.window.model_status.set_state("unloaded", "")
                raise
            self.bridge.attach(core.bus)
            if start_tools and core.settings.tools_in_chat:
                core.start_tools()  # else on first use: Settings > Tools, or tools turned on
        self.bridge.attach(core.bus)
        core.set_approver(self.approvals)  # Ask tools ask here, in a dialog
        core.set_elicitor(self.elicitations)  # and servers ask for input here, in a form
        core.set_sampling_approver(self.sampling)
        self.handle.set(core)
        self.voice.start()  # the devices: QtMultimedia loads now, after the first paint
        self._follow_global_hotkey(core.settings)
        if core.tasks is not None:
            core.tasks.start("window")  # runs tasks here, or follows the process that does
            self.tray.set_paused(core.tasks.paused)
        self.quick.start()
        core.start_remote()  # endpoints checked, paused downloads resumed, in the background
        self.model.sync()
        await self.conversations.reload()
        last = self.state.last_conversation if self.state is not None else None
        if last is not None and last in self.window.sidebar.conversation_ids():
            self.chat.open_conversation(last)
        else:
            self.chat.new_chat()
        if core.recovered:
            log.info("%d replies were interrupted by the last exit", core.recovered)
        pending, self._pending = self._pending, []
        for request in pending:
            self.handle_request(request)
        return core

    # ------------------------------------------------------------------ desktop
    def handle_request(self, request: InstanceRequest) -> None:
        """What a second launch (or the command line) asks: ``show`` the window, open
        ``quick`` ask (asking ``text`` if any), or ``ask`` in a new chat in the window with
        files attached. Asked before the Core is attached, it waits for it (``show`` acts at
        once)."""
        if self._shutdown_done or self.lifetime.quitting:
            return
        log.info("asked to %s", request.action)
        if request.action == "show":
            self.lifetime.show_window()
            return
        if request.action not in ("quick", "ask"):
            log.warning("unknown request %r ignored", request.action)
            return
        if self.handle.current is None:
            if request.action == "ask":
                self.lifetime.show_window()
            self._pending.append(request)
            return
        if request.action == "quick":
            self.quick.open(request.text)
            return
        self.lifetime.show_window()
        self.window.show_page("chat")
        self.chat.ask_new(request.text, [Path(p) for p in request.attachments])

    def _close_to_tray(self) -> bool:
        core = self.handle.current
        return core.settings.close_to_tray if core is not None else Settings().close_to_tray

    def _on_lifetime_quit_requested(self) -> None:
        self._closed.set()

    def _on_quick_continue_requested(self, conversation_id: int) -> None:
        self.quick.hide(give_focus_back=False)
        self.lifetime.show_window()
        self.window.show_page("chat")
        self.chat.open_conversation(conversation_id)

    def _on_tray_quick_ask_requested(self) -> None:
        self.quick.toggle()

    def _on_tray_new_chat_requested(self) -> None:
        self.lifetime.show_window()
        self._on_window_new_chat_requested()

    def _on_tray_push_to_talk_requested(self) -> None:
        self.quick.toggle_talk()

    def _on_tray_pause_toggled(self, paused: bool) -> None:
        core = self.handle.current
        if core is None or core.tasks is None:
            self.tray.set_paused(False)
            return
        if paused:
            core.tasks.pause()
        else:
            core.tasks.resume()

    def _on_bridge_task_owner_changed(self, _event: TaskOwnerChanged) -> None:
        core = self.handle.current
        if core is None or core.tasks is None:
            return
        paused = core.tasks.paused
        self.tray.set_paused(paused)
        if paused:
            self.window.tasks_panel.set_owner_text(PAUSED_TEXT)
        elif core.tasks.is_owner:
            self.window.tasks_panel.set_owner_text("")

    def _on_bridge_task_finished(self, event: TaskFinished) -> None:
        core, task = self.handle.current, event.task
        if core is None or not core.settings.task_notify or task.parent_id is not None:
            return
        said = finished_text(task)  # the window's toast says it too, for when it is back
        if said is not None:
            self.lifetime.notify("Keiko", said[0])

    async def run_until_closed(
        self,
        paths: Paths | None = None,
        settings: Settings | None = None,
        *,
        core: Core | None = None,
    ) -> int:
        """Build the core (or attach ``core``), serve until Keiko quits (``AppLifetime``: the
        window closed without a tray, Quit, Ctrl+Q), then shut down cleanly."""
        try:
            await self.start(core, paths=paths, settings=settings)
        except KeikoError as exc:
            log.error("could not start: %s", exc)
        await self._closed.wait()
        await self.shutdown()
        return 0

    async def shutdown(self) -> None:
        """Stop replies, wait for them to be stored, and close the core."""
        if self._shutdown_done:
            return
        self._shutdown_done = True
        core = self.handle.current
        self.lifetime.stop()  # from now on closing the window quits, never hides
        self.tray.close()
        if self.instance is not None:
            self.instance.request_received.disconnect(self.handle_request)
        self.conversations.close()
        self.voice.close()
        self.ptt_keys.remove()
        if self.hotkey is not None:
            self.hotkey.stop()
        self.agents.close()  # the core cancels its runs (stored as cancelled) when it closes
        self.tasks.close()  # the core stops its engine (running tasks go back to pending)
        for runner in (self.search.tasks, self.settings.tasks):
            runner.close()
        if core is not None:
            await core.chat.stop_all()
        try:
            async with asyncio.timeout(10):
                await self.chat.tasks.wait_idle()
                await self.quick.tasks.wait_idle()  # its answer, stopped above, is stored
        except TimeoutError:
            log.warning("replies did not end in time; cancelling them")
        self.chat.close()
        self.quick.close()
        self.bridge.detach()
        if core is not None:
            core.set_approver(None)
            core.set_elicitor(None)
            core.set_sampling_approver(None)
            await core.aclose()

    async def _wait_exposed(self) -> None:
        if self.window.isVisible():
            exposed = asyncio.Event()
            self.window.first_exposed.connect(exposed.set)
            handle = self.window.windowHandle()
            if handle is None or not handle.isExposed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(exposed.wait(), EXPOSE_TIMEOUT)
        await asyncio.sleep(0.01)  # let the first frame reach the screen

    def _microphone(self) -> MicSource:
        core = self.handle.current
        return MicSource(core.settings.voice_input_device if core is not None else "")

    def _follow_global_hotkey(self, settings: Settings) -> None:
        """Grab the push-to-talk key on the whole desktop when asked and possible."""
        from keiko_desktop.ui.voice.global_hotkey import GlobalHotkey

        core = self.handle.current
        wanted = settings.voice_global_hotkey and core is not None and core.voice is not None
        if not wanted or not GlobalHotkey.support()[0]:
            if self.hotkey is not None:
                self.hotkey.stop()
            return
        if self.hotkey is None:
            self.hotkey = GlobalHotkey(parent=self)
            self.hotkey.failed.connect(self._on_hotkey_failed)
            self.voice.follow_keys(self.hotkey)
            self.quick.follow_keys(self.hotkey)  # the same key talks in Quick ask while it is up
        self.hotkey.start(settings.voice_push_to_talk_key)

    def _on_hotkey_failed(self, reason: str) -> None:
        log.info("no push-to-talk outside the window: %s", reason)
        self.window.statusBar().showMessage(
            one_line(f"Push-to-talk works only in Keiko's window: {reason}", 300), POLICY_NOTE_MS
        )

    def _on_quick_hotkey_failed(self, reason: str) -> None:
        log.info("no Quick ask key: %s", reason)
        self.window.statusBar().showMessage(
            one_line(f"The Quick ask key does not work: {reason}", 300), POLICY_NOTE_MS
        )

    def _on_bridge_settings_changed(self, event: SettingsChanged) -> None:
        if event.changed & {"voice_global_hotkey", "voice_push_to_talk_key"}:
            self._follow_global_hotkey(event.new)

    def _on_voice_talk_started(self) -> None:
        if self.window.page != "chat":
            self.window.show_page("chat")

    def _on_bridge_tool_policy_reset(self, event: ToolPolicyReset) -> None:
        self.window.statusBar().showMessage(one_line(event.text, 300), POLICY_NOTE_MS)

    def _on_window_new_chat_requested(self) -> None:
        self.window.show_page("chat")
        self.chat.new_chat()

    def _on_window_escape_pressed(self) -> None:
        if self.voice.escape():  # recording, transcribing or in a voice conversation
            return
        if self.window.page == "agents":
            self.agents.escape()
        elif self.window.page == "tasks":
            self.tasks.escape()
        else:
            self.chat.escape()
