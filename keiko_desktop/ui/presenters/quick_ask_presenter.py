"""QuickAskPresenter: the Quick ask popup's work — asking, streaming, voice, files, the key.

- **Opening**: ``open()`` (the tray, ``keiko quick``, the ``quick_ask_hotkey`` grabbed on the
  whole X11 desktop by a ``GlobalHotkey`` of its own) shows the popup; ``toggle()`` shows or
  hides it. The popup is built once, right after ``start()`` (the window is painted by then),
  so the key shows a ready window.
- **Asking**: Enter sends the question with ``core.chat.send`` (attachments: the ready chips).
  Each opening is a fresh conversation (bound to the chosen agent straight after its first
  message, before the reply reads the binding); asking again while it stays open continues
  it. Opened again after an answer, it is fresh (the last exchange is in the sidebar, stored
  like any chat); opened while an answer is still being written, it shows that answer. The
  answer streams in as Markdown, drawn at most every ``FRAME_MS``. Esc hides the popup (the
  answer keeps being written and stored; Stop stops it) and gives the focus back.
  "Continue in Keiko" (or Ctrl+Enter) emits ``continue_requested(conversation_id)``. An error
  (no model, a refused question) is said in the popup's status line.
- **Voice** (``quick_ask_voice.py``): the mic button or the push-to-talk keys (while the popup
  is active; the chat's VoicePresenter leaves them alone then: the controller sets its
  ``keys_wanted``) record with the shared recorder; ``toggle_talk()`` records until called
  again. The words are put in the question box and asked.
- **Files**: dropped or pasted files become chips through ``AttachmentIntake``; short audio
  files are transcribed into the question box; folders, models and MCP configs are offered
  in the main window only (a note says so).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from keiko_desktop.core.agents.events import AgentsChanged
from keiko_desktop.core.chat.service import Reply
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import ModelStateChanged, SettingsChanged
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.presenters.quick_ask_voice import QuickAskVoice
from keiko_desktop.ui.task_runner import TaskRunner

if TYPE_CHECKING:
    from keiko_desktop.ui.presenters.attachments_presenter import AttachmentIntake
    from keiko_desktop.ui.quick_ask import QuickAskPopup
    from keiko_desktop.ui.theme import Theme, ThemeManager
    from keiko_desktop.ui.voice.capture import Recorder
    from keiko_desktop.ui.voice.global_hotkey import GlobalHotkey
    from keiko_desktop.ui.voice.ptt_keys import PushToTalkKeys
    from keiko_desktop.ui.x11_focus import X11Focus

log = logging.getLogger(__name__)

FRAME_MS = 33
MAX_FRAME_MS = 250
BENCH_ENV = "KEIKO_BENCH_QUICK_ASK"
"""Set: print ``{"quick_…_at": time.time()}`` lines (key grabbed, key pressed, popup exposed)."""
OFFERS_NOTE = "Drop folders, models and MCP configs on Keiko's window to add them."


class QuickAskPresenter(QObject):
    """Owns the Quick ask popup and its async work (see the module docs).

    Signals:
        continue_requested(int): open this conversation in the main window.
        hotkey_failed(str): the Quick ask key cannot be heard outside Keiko (why).
    """

    continue_requested = Signal(int)
    hotkey_failed = Signal(str)

    def __init__(
        self,
        core: CoreHandle,
        bridge: EventBridge,
        *,
        recorder: Recorder,
        ptt_keys: PushToTalkKeys | None = None,
        parent: QObject | None = None,
        themes: ThemeManager | None = None,
        mic_reason: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._themes = themes
        self._popup: QuickAskPopup | None = None
        self._intake: AttachmentIntake | None = None
        self._focus: X11Focus | None = None
        self.hotkey: GlobalHotkey | None = None
        self._conversation_id: int | None = None
        self._reply: Reply | None = None
        self._pieces: list[str] = []
        self._shown = 0
        self._model_ready = False
        self._bench = bool(os.environ.get(BENCH_ENV))
        self.tasks = TaskRunner(self._show_error)
        self.voice = QuickAskVoice(
            core,
            recorder,
            self.tasks,
            popup=lambda: self.popup,
            active=lambda: self.active,
            heard=self._heard,
            mic_reason=mic_reason or (lambda: ""),
            parent=self,
        )
        self._frame = QTimer(self)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._on_frame_timeout)

        bridge.settings_changed.connect(self._on_bridge_settings_changed)
        bridge.agents_changed.connect(self._on_bridge_agents_changed)
        bridge.model_state_changed.connect(self._on_bridge_model_state_changed)
        if ptt_keys is not None:
            self.follow_keys(ptt_keys)
        if themes is not None:
            themes.theme_changed.connect(self._on_themes_theme_changed)

    # ------------------------------------------------------------------ public
    @property
    def popup(self) -> QuickAskPopup:
        """The popup (built on first use)."""
        if self._popup is None:
            self._popup = self._build_popup()
        return self._popup

    @property
    def active(self) -> bool:
        """The popup is on screen and has the keyboard (push-to-talk keys are its then)."""
        popup = self._popup
        if popup is None or not popup.isVisible():
            return False
        focus = popup.focusWidget()
        return popup.isActiveWindow() or (focus is not None and focus.hasFocus())

    @property
    def conversation_id(self) -> int | None:
        return self._conversation_id

    def start(self) -> None:
        """The Core is attached: list the agents, grab the key, build the popup (after the
        first paint, so the key shows a ready window)."""
        core = self._core.current
        if core is not None:
            self._model_ready = core.models.state == "ready"
            self._follow_hotkey(core.settings.quick_ask_hotkey)
        self.tasks.spawn(self._list_agents(), "list agents")
        QTimer.singleShot(0, self._prepare)

    def follow_keys(self, keys: QObject) -> None:
        """Push-to-talk on ``keys``' ``pressed``/``released``/``cancelled`` while the popup is
        active (the window's keys, and the global push-to-talk hotkey)."""
        self.voice.follow_keys(keys)

    def open(self, text: str = "") -> None:
        """Show the popup with the question box focused; with ``text``, ask it at once."""
        popup = self.popup
        if not popup.isVisible():
            if self._reply is None and self._conversation_id is not None:
                self._fresh()
            if self._focus is not None:
                self._focus.remember()
        popup.present()
        if text.strip():
            popup.set_question(text.strip())
            self.ask(text.strip())

    def toggle(self) -> None:
        """Show the popup, or hide it when it shows."""
        if self._popup is not None and self._popup.isVisible():
            self.hide()
        else:
            self.open()

    def hide(self, *, give_focus_back: bool = True) -> None:
        """Hide the popup (an answer being written goes on and is stored)."""
        popup = self._popup
        if popup is None or not popup.isVisible():
            return
        self.voice.cancel()
        popup.hide()
        if self._focus is not None and give_focus_back:
            self._focus.restore(int(popup.winId()))

    def toggle_talk(self) -> None:
        """Push-to-talk as a toggle (the tray): open and listen; again to stop and ask."""
        if self.voice.talking is None:
            self.open()
        self.voice.toggle()

    def ask(self, text: str) -> None:
        """Ask ``text`` in the popup's conversation (a new one for a fresh popup)."""
        popup = self.popup
        if self._reply is not None:
            popup.set_status("Wait for the answer, or stop it, before asking again.")
            return
        if popup.chips.busy():
            popup.set_status("Files are still being read; ask when their chips are ready.")
            return
        popup.show_asked(text)
        popup.set_answer("")
        popup.set_status("Thinking…" if self._model_ready else "Loading the model…", "busy")
        self.tasks.spawn(self._send(text, popup.chips.ready_ids()), "quick ask")

    def stop(self) -> None:
        if self._reply is not None:
            self._reply.cancel()

    def close(self) -> None:
        """Shutdown: let the key go, drop a recording, stop the work, destroy the popup."""
        if self.hotkey is not None:
            self.hotkey.stop()
        self.voice.cancel()
        self._frame.stop()
        self.tasks.close()
        if self._intake is not None:
            self._intake.tasks.close()
        if self._focus is not None:
            self._focus.close()
        if self._popup is not None:
            self._popup.hide()
            self._popup.deleteLater()
            self._popup = None

    # ------------------------------------------------------------------ building
    def _prepare(self) -> None:
        popup = self.popup
        popup.winId()  # the native window now, not when the key is pressed
        popup.ensurePolished()
        popup.adjustSize()
        self._bench_print("quick_ready_at")

    def _theme(self) -> Theme:
        from keiko_desktop.ui.theme import resolve

        if self._themes is not None:
            return self._themes.theme
        core = self._core.current
        return resolve(core.settings.theme if core is not None else "system")

    def _build_popup(self) -> QuickAskPopup:
        from keiko_desktop.ui.presenters.attachments_presenter import AttachmentIntake
        from keiko_desktop.ui.quick_ask import QuickAskPopup
        from keiko_desktop.ui.widgets.message_widget import render_context
        from keiko_desktop.ui.x11_focus import X11Focus

        popup = QuickAskPopup(render_context(self._theme()))
        self._focus = X11Focus()
        self._intake = AttachmentIntake(self._core, popup.chips, parent=self)
        self._intake.audio_dropped.connect(self._on_intake_audio_dropped)
        for offered in ("folder_offered", "model_offered", "mcp_config_offered"):
            getattr(self._intake, offered).connect(self._on_intake_offered)
        popup.ask_requested.connect(self.ask)
        popup.stop_requested.connect(self.stop)
        popup.continue_requested.connect(self._on_popup_continue_requested)
        popup.hide_requested.connect(self._on_popup_hide_requested)
        popup.agent_chosen.connect(self._on_popup_agent_chosen)
        popup.files_dropped.connect(self._intake.take)
        popup.image_dropped.connect(self._intake.take_image)
        popup.exposed.connect(self._on_popup_exposed)
        self.voice.attach(popup)
        return popup

    # ------------------------------------------------------------------ slots
    def _on_popup_continue_requested(self) -> None:
        if self._conversation_id is not None:
            self.hide(give_focus_back=False)
            self.continue_requested.emit(self._conversation_id)

    def _on_popup_hide_requested(self) -> None:
        if self.voice.talking is not None:
            self.voice.cancel()  # Esc while listening: the recording goes, the popup stays
        else:
            self.hide()

    def _on_popup_agent_chosen(self, name: str | None) -> None:
        if self._conversation_id is not None:  # a fresh popup binds with its first question
            self.tasks.spawn(self._bind(self._conversation_id, name), "choose agent")

    def _on_popup_exposed(self) -> None:
        self._bench_print("quick_exposed_at")

    def _on_hotkey_pressed(self) -> None:
        self._bench_print("quick_pressed_at")
        self.toggle()

    def _on_hotkey_started(self) -> None:
        self._bench_print("quick_hotkey_at")

    def _on_hotkey_failed(self, reason: str) -> None:
        log.info("no Quick ask key outside Keiko: %s", reason)
        self.hotkey_failed.emit(reason)

    def _on_intake_audio_dropped(self, paths: list[Any]) -> None:
        self.voice.transcribe_files([Path(p) for p in paths])

    def _on_intake_offered(self, _path: object) -> None:
        self.popup.set_status(OFFERS_NOTE)

    def _on_bridge_settings_changed(self, event: SettingsChanged) -> None:
        if "quick_ask_hotkey" in event.changed:
            self._follow_hotkey(event.new.quick_ask_hotkey)
        if "theme" in event.changed and self._themes is None and self._popup is not None:
            self._on_themes_theme_changed(self._theme())

    def _on_bridge_agents_changed(self, _event: AgentsChanged) -> None:
        self.tasks.spawn(self._list_agents(), "list agents")

    def _on_bridge_model_state_changed(self, event: ModelStateChanged) -> None:
        self._model_ready = event.state == "ready"

    def _on_themes_theme_changed(self, theme: Theme) -> None:
        if self._popup is not None:
            from keiko_desktop.ui.widgets.message_widget import render_context

            self._popup.set_context(render_context(theme))

    def _on_frame_timeout(self) -> None:
        if self._popup is None or len(self._pieces) == self._shown:
            self._frame.stop()
            self._frame.setInterval(FRAME_MS)
            return
        started = time.perf_counter()
        self._shown = len(self._pieces)
        self._popup.set_answer("".join(self._pieces))
        # A long answer costs more to draw: draw it less often, so typing stays smooth.
        cost_ms = (time.perf_counter() - started) * 1000
        self._frame.setInterval(int(min(MAX_FRAME_MS, max(FRAME_MS, cost_ms * 4))))

    # ------------------------------------------------------------------ work
    async def _send(self, text: str, attachments: list[int]) -> None:
        core = await self._core.get()
        popup = self.popup
        conversation_id = self._conversation_id
        agent = popup.agent if conversation_id is None else None
        try:
            reply = await core.chat.send(conversation_id, text, attachments)
        except KeikoError:
            if not popup.text.strip():
                popup.set_question(text)
            raise
        if agent is not None and core.agents is not None:
            # Straight after send: the reply reads the binding on the store's thread after this.
            await core.agents.set_conversation_agent(reply.conversation_id, agent)
        self._conversation_id = reply.conversation_id
        popup.set_can_continue(True)
        if popup.text.strip() == text.strip():
            popup.question.clear()
        popup.chips.clear()  # sent with the question
        await self._stream(reply)

    async def _stream(self, reply: Reply) -> None:
        popup = self.popup
        self._reply, self._pieces, self._shown = reply, [], 0
        popup.set_streaming(True)
        try:
            async for piece in reply:
                if not self._pieces:
                    popup.set_status("")
                self._pieces.append(piece)
                if not self._frame.isActive():
                    self._frame.start()
            result = await reply.result()
        finally:
            self._reply = None
            self._frame.stop()
            popup.set_streaming(False)
        self._shown = len(self._pieces)
        popup.set_answer(result.text)
        if result.status == "error":
            message, _, hint = (result.error or "The answer failed.").partition("\n")
            popup.set_status(f"{message} {hint.strip().lstrip('→').strip()}".strip(), "error")
        elif result.status == "interrupted":
            popup.set_status("Stopped before the end.")
        else:
            popup.set_status("")

    async def _bind(self, conversation_id: int, name: str | None) -> None:
        core = await self._core.get()
        if core.agents is None:
            return
        try:
            await core.agents.set_conversation_agent(conversation_id, name)
        finally:
            profile = await core.agents.conversation_agent(conversation_id)
            if conversation_id == self._conversation_id and self._popup is not None:
                self._popup.set_agent(profile.name if profile is not None else None)

    async def _list_agents(self) -> None:
        core = await self._core.get()
        popup = self.popup
        if core.agents is None:
            popup.set_agents_available(False)
            return
        profiles = await core.agents.list_agents()
        popup.set_agents([p.name for p in profiles])
        popup.set_agents_available(True)

    # ------------------------------------------------------------------ internals
    def _heard(self, words: str, ask: bool) -> None:
        popup = self.popup
        if not words:
            popup.set_status("Didn’t catch that.")
            return
        text = f"{popup.text.rstrip()} {words}".strip()
        popup.set_question(text)
        popup.set_status("")
        if ask:
            self.ask(text)

    def _fresh(self) -> None:
        self._conversation_id = None
        self._pieces, self._shown = [], 0
        self.popup.reset()

    def _follow_hotkey(self, key: str) -> None:
        """Grab ``key`` on the whole desktop (X11); an empty key: none."""
        from keiko_desktop.ui.voice.global_hotkey import GlobalHotkey

        if not key.strip():
            if self.hotkey is not None:
                self.hotkey.stop()
            return
        if self.hotkey is None:
            self.hotkey = GlobalHotkey(parent=self, setting="Quick ask key in Settings › Desktop")
            self.hotkey.pressed.connect(self._on_hotkey_pressed)
            self.hotkey.failed.connect(self._on_hotkey_failed)
            self.hotkey.started.connect(self._on_hotkey_started)
        self.hotkey.start(key)

    def _bench_print(self, what: str) -> None:
        if self._bench:
            print(json.dumps({what: time.time()}), flush=True)  # noqa: T201 - the benchmark reads it

    def _show_error(self, error: KeikoError) -> None:
        text = f"{error.message} {error.hint}".strip() if error.hint else error.message
        self.popup.set_status(text, "error")
