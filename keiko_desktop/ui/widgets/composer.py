"""Composer: the message box under the chat, with Send / Stop, a length hint and voice.

Enter sends, Shift+Enter starts a new line, Up in an empty box asks to edit the last message.
The agent chooser (shown when the Core has agents) says which agent answers in this chat.
Voice: the mic button (hold to talk), "Read replies aloud" and "Voice conversation" toggles, and
the ``VoiceBar`` above the text box while voice is in use; the voice presenter drives them.
Files: the Attach button (Ctrl+Shift+A) asks for files (``attach_requested``); pasted files
and images are handed on (``files_pasted``, ``image_pasted``); their chips (``chips``) sit above
the text box, and Send waits while a chip is still being read. The text box is ``ComposerEdit``.
"""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import Theme
from keiko_desktop.ui.widgets.attachment_chips import AttachmentChips
from keiko_desktop.ui.widgets.composer_edit import ComposerEdit
from keiko_desktop.ui.widgets.mic_button import MicButton, VoiceToggle
from keiko_desktop.ui.widgets.voice_bar import ElidingLabel, VoiceBar

CHARS_PER_TOKEN = 4
NO_AGENT = "No agent"
READ_ALOUD_TIP = "Read replies aloud, sentence by sentence while they are written"
CONVERSATION_TIP = (
    "Voice conversation: speak, Keiko answers aloud and listens again (a pause ends your turn)"
)
AGENT_TIP = (
    "Which agent answers in this chat: its instructions, model and tools. "
    "“No agent” is a plain chat with the current model."
)


def approx_tokens(text: str) -> int:
    """A rough token count (about four characters a token)."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


class Composer(QFrame):
    """Where the user writes. Passive: it emits intent signals and exposes setters.

    Signals:
        send_requested(str): the user sent this (non-empty) text.
        edit_submitted(int, str): the user sent an edited version of message N.
        stop_requested(): the user wants the reply stopped.
        edit_last_requested(): Up in an empty box: edit the last user message.
        edit_cancelled(): the user left edit mode without sending.
        agent_chosen(object): the user chose an agent in the chooser (its name; None: none).
        read_aloud_toggled(bool): the user switched "Read replies aloud" on or off.
        conversation_toggled(bool): the user switched the voice conversation on or off.
        voice_cancel_requested(): the voice bar's cancel button, or Esc while it shows.
        attach_requested(): the Attach button or Ctrl+Shift+A: choose files to attach.
        files_pasted(list): files (Paths) pasted into the text box.
        image_pasted(bytes): an image pasted into the text box (PNG bytes).

    The mic button's own signals (``mic_button.held``, ``let_go``, ``cancelled``) say when the
    user holds it.
    """

    send_requested = Signal(str)
    edit_submitted = Signal(int, str)
    stop_requested = Signal()
    edit_last_requested = Signal()
    edit_cancelled = Signal()
    agent_chosen = Signal(object)
    read_aloud_toggled = Signal(bool)
    conversation_toggled = Signal(bool)
    voice_cancel_requested = Signal()
    attach_requested = Signal()
    files_pasted = Signal(list)
    image_pasted = Signal(bytes)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Composer")
        self._busy = False
        self._context_length = 0
        self._editing: int | None = None

        self.edit_banner = QLabel(self)
        self.edit_banner.setObjectName("EditBanner")
        self.edit_banner.hide()
        self.editor = ComposerEdit(self)
        self.editor.setPlaceholderText("Message Keiko…")
        self.agent_chooser = QComboBox(self)
        self.agent_chooser.setObjectName("AgentChooser")
        self.agent_chooser.setAccessibleName("Agent")
        self.agent_chooser.setAccessibleDescription(AGENT_TIP)
        self.agent_chooser.setToolTip(AGENT_TIP)
        self.agent_chooser.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Sized for a short name, so the window can stay narrow; longer names are elided.
        self.agent_chooser.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.agent_chooser.setMinimumContentsLength(14)
        self.agent_chooser.setMaximumWidth(240)
        self.agent_chooser.setCursor(Qt.CursorShape.PointingHandCursor)
        self.agent_chooser.addItem(NO_AGENT, None)
        self.agent_chooser.hide()  # until the presenter knows the Core has agents
        self.hint = ElidingLabel(self)  # elided, not widening the composer, when narrow
        self.hint.setObjectName("ComposerHint")
        self.hint.setMinimumWidth(120)
        self.send_button = QToolButton(self)
        self.send_button.setObjectName("SendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.stop_button = QToolButton(self)
        self.stop_button.setObjectName("StopButton")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.send_button.setAccessibleName("Send")
        self.stop_button.setAccessibleName("Stop the reply")
        for button in (self.send_button, self.stop_button):
            button.setFixedSize(QSize(32, 32))
            button.setIconSize(QSize(18, 18))
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.stop_button.hide()
        self.chips = AttachmentChips(self, theme=theme)
        self.attach_button = QToolButton(self)
        self.attach_button.setObjectName("IconButton")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.setToolTip("Attach files… (Ctrl+Shift+A)")
        self.attach_button.setFixedSize(QSize(32, 32))
        self.attach_button.setIconSize(QSize(18, 18))
        self.attach_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.resource_button = QToolButton(self)  # presenters/chat_resources.py drives it
        self.resource_button.setObjectName("IconButton")
        self.resource_button.setAccessibleName("Attach from server")
        self.resource_button.setToolTip("Attach from server… (Ctrl+Shift+R)")
        self.resource_button.setFixedSize(QSize(32, 32))
        self.resource_button.setIconSize(QSize(18, 18))
        self.voice_bar = VoiceBar(theme, self)
        self.voice_bar.hide()
        self.mic_button = MicButton(theme, self)
        self.read_aloud_button = VoiceToggle(
            "Read replies aloud", "speaker", READ_ALOUD_TIP, theme, self
        )
        self.conversation_button = VoiceToggle(
            "Voice conversation", "conversation", CONVERSATION_TIP, theme, self
        )

        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(10)
        bottom.addWidget(self.attach_button)
        bottom.addWidget(self.resource_button)
        bottom.addWidget(self.agent_chooser)
        bottom.addWidget(self.hint, 1)
        voice = QHBoxLayout()
        voice.setSpacing(2)
        voice.addWidget(self.read_aloud_button)
        voice.addWidget(self.conversation_button)
        voice.addWidget(self.mic_button)
        bottom.addLayout(voice)
        bottom.addWidget(self.send_button)
        bottom.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(6)
        layout.addWidget(self.edit_banner)
        layout.addWidget(self.voice_bar)
        layout.addWidget(self.chips)
        layout.addWidget(self.editor)
        layout.addLayout(bottom)

        self.editor.submitted.connect(self._on_editor_submitted)
        self.editor.up_pressed_when_empty.connect(self.edit_last_requested)
        self.editor.escape_pressed.connect(self._on_editor_escape_pressed)
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.send_button.clicked.connect(self._on_editor_submitted)
        self.stop_button.clicked.connect(self.stop_requested)
        self.agent_chooser.activated.connect(self._on_agent_chooser_activated)
        self.read_aloud_button.clicked.connect(self.read_aloud_toggled)
        self.conversation_button.clicked.connect(self.conversation_toggled)
        self.voice_bar.cancel_requested.connect(self.voice_cancel_requested)
        self.attach_button.clicked.connect(self.attach_requested)
        self.editor.attach_pressed.connect(self.attach_requested)
        self.editor.files_pasted.connect(self.files_pasted)
        self.editor.image_pasted.connect(self.image_pasted)
        order = (
            self.editor,
            self.agent_chooser,
            self.read_aloud_button,
            self.conversation_button,
            self.mic_button,
            self.send_button,
        )
        QWidget.setTabOrder(self.attach_button, self.editor)  # (Shift+Tab from the box)
        for first, second in pairwise(order):
            QWidget.setTabOrder(first, second)
        self.set_theme(theme)
        self._on_editor_text_changed()

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.send_button.setIcon(icon("send", theme.accent_text, theme.faint))
        self.stop_button.setIcon(icon("stop", theme.window))
        self.voice_bar.set_theme(theme)
        self.chips.set_theme(theme)
        self.attach_button.setIcon(icon("attach", theme.muted))
        self.resource_button.setIcon(icon("file", theme.muted))
        self.mic_button.set_theme(theme)
        self.read_aloud_button.set_theme(theme)
        self.conversation_button.set_theme(theme)
        self._agent_icon = icon("agents", theme.muted)
        for row in range(1, self.agent_chooser.count()):
            self.agent_chooser.setItemIcon(row, self._agent_icon)
        self.agent_chooser.setStyleSheet(
            f"""
QComboBox#AgentChooser {{ background: transparent; color: {theme.muted};
    border: 1px solid {theme.border}; border-radius: 11px; padding: 2px 8px; }}
QComboBox#AgentChooser:hover {{ background: {theme.hover}; color: {theme.text}; }}
QComboBox#AgentChooser:focus {{ border: 1px solid {theme.accent}; color: {theme.text}; }}
QComboBox#AgentChooser QAbstractItemView {{ background: {theme.surface}; color: {theme.text};
    border: 1px solid {theme.border}; selection-background-color: {theme.selected};
    selection-color: {theme.text}; outline: none; }}
"""
        )

    def set_agents(self, names: list[str]) -> None:
        """The agents the chooser offers (after "No agent"); the choice stays if still there."""
        current = self.agent
        combo = self.agent_chooser
        combo.blockSignals(True)
        try:
            while combo.count() > 1:
                combo.removeItem(1)
            for name in names:
                combo.addItem(self._agent_icon, one_line(name, 64), name)
                combo.setItemData(combo.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
        finally:
            combo.blockSignals(False)
        self.set_agent(current if current in names else None)

    def set_agent(self, name: str | None) -> None:
        """Show ``name`` as chosen (None: "No agent"), without ``agent_chosen``; an agent not
        listed (yet) is added."""
        combo = self.agent_chooser
        row = combo.findData(name) if name is not None else 0
        if row < 0:
            combo.addItem(self._agent_icon, one_line(name or "", 64), name)
            row = combo.count() - 1
        combo.setCurrentIndex(row)

    def set_agents_available(self, available: bool) -> None:
        """Show the chooser (the Core has agents) or hide it."""
        self.agent_chooser.setVisible(available)

    def set_busy(self, busy: bool) -> None:
        """While a reply is being written, Stop replaces Send."""
        self._busy = busy
        self.stop_button.setVisible(busy)
        self.send_button.setVisible(not busy)
        self._on_editor_text_changed()

    def set_context_length(self, tokens: int) -> None:
        self._context_length = tokens
        self._on_editor_text_changed()

    def begin_edit(self, message_id: int, text: str) -> None:
        """Load message ``message_id`` into the box; sending replaces it and what follows."""
        self._editing = message_id
        self.edit_banner.setText("Editing your message — Enter resends it, Esc cancels")
        self.edit_banner.show()
        self.editor.setPlainText(text)
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
        self.editor.setFocus()

    def end_edit(self) -> None:
        if self._editing is not None:
            self._editing = None
            self.edit_banner.hide()
            self.editor.clear()

    def set_text(self, text: str) -> None:
        self.editor.setPlainText(text)

    def append_text(self, text: str) -> None:
        """Add ``text`` after what is in the box (a space between), the cursor at its end."""
        current = self.editor.toPlainText()
        joined = f"{current} {text}" if current and not current[-1].isspace() else current + text
        self.editor.setPlainText(joined)
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)

    def submit(self) -> None:
        """What Enter does: send the text (or the edited message), or say why not."""
        self._on_editor_submitted()

    def show_voice(self, state: str, hint: str | None = None) -> None:
        """Show the voice bar in ``state`` (see ``VoiceBar.set_state``)."""
        self.voice_bar.set_state(state, hint)
        self.voice_bar.show()

    def hide_voice(self) -> None:
        self.voice_bar.hide()
        self.mic_button.set_recording(False)

    def set_read_aloud(self, on: bool) -> None:
        """Show "Read replies aloud" on or off (without ``read_aloud_toggled``)."""
        self.read_aloud_button.set_on(on)

    def set_conversation(self, on: bool) -> None:
        """Show the voice conversation on or off (without ``conversation_toggled``)."""
        self.conversation_button.set_on(on)

    def clear(self) -> None:
        self.editor.clear()

    def focus_editor(self) -> None:
        self.editor.setFocus()

    # ------------------------------------------------------------------ queries
    @property
    def text(self) -> str:
        return self.editor.toPlainText()

    @property
    def editing_message_id(self) -> int | None:
        return self._editing

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def agent(self) -> str | None:
        """The agent chosen (None: "No agent")."""
        data = self.agent_chooser.currentData()
        return data if isinstance(data, str) else None

    def agent_names(self) -> list[str]:
        combo = self.agent_chooser
        return [str(combo.itemData(row)) for row in range(1, combo.count())]

    # ------------------------------------------------------------------ slots
    def _on_editor_submitted(self) -> None:
        text = self.editor.toPlainText()
        if not text.strip():
            self.hint.setText("Type a message first.")
            return
        if self._busy:
            self.hint.setText("A reply is being written — stop it (Esc) or wait.")
            return
        if self.chips.busy():
            self.hint.setText("Files are still being read — send when their chips are ready.")
            return
        if self._editing is not None:
            message_id = self._editing
            self._editing = None
            self.edit_banner.hide()
            self.editor.clear()
            self.edit_submitted.emit(message_id, text)
            return
        self.editor.clear()
        self.send_requested.emit(text)

    def _on_agent_chooser_activated(self, _row: int) -> None:
        self.agent_chosen.emit(self.agent)

    def _on_editor_escape_pressed(self) -> None:
        if self.voice_bar.isVisible():
            self.voice_cancel_requested.emit()
        elif self._busy:
            self.stop_requested.emit()
        elif self._editing is not None:
            self.end_edit()
            self.edit_cancelled.emit()

    def _on_editor_text_changed(self) -> None:
        text = self.editor.toPlainText()
        self.send_button.setEnabled(bool(text.strip()))
        if not text:
            context = f" · context {self._context_length:,} tokens" if self._context_length else ""
            self.hint.setText(f"Enter sends · Shift+Enter for a new line{context}")
            return
        tokens = approx_tokens(text)
        hint = f"{len(text):,} characters · ~{tokens:,} tokens"
        if self._context_length:
            hint += f" of {self._context_length:,}"
            if tokens > self._context_length:
                hint += " — too long, the start will be cut"
        self.hint.setText(hint)
