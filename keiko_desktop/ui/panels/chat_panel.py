"""ChatPanel: the centre of the window — a title (and the agent the chat is bound to), the
messages (or a welcome), and the composer. Files dropped anywhere on it (the message box too)
are handed on: audio files to be transcribed (``audio_files_dropped``), every other file or
folder to be attached or offered (``files_dropped``), an image's data to be attached
(``image_pasted``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.voice.types import AUDIO_SUFFIXES
from keiko_desktop.ui import file_drops
from keiko_desktop.ui.icons import app_icon, icon
from keiko_desktop.ui.theme import Theme
from keiko_desktop.ui.widgets.composer import Composer
from keiko_desktop.ui.widgets.live_tool_card import LiveCallsStrip
from keiko_desktop.ui.widgets.message_view import COLUMN_MAX_WIDTH, MessageView
from keiko_desktop.ui.widgets.message_widget import RenderContext
from keiko_desktop.ui.widgets.welcome_card import WelcomeCard


class InlineNotice(QFrame):
    """A dismissable line of trouble in plain words, with what to do about it."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("InlineNotice")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("IconButton")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setIconSize(QSize(14, 14))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 6, 8)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.close_button.clicked.connect(self.hide)
        self.set_theme(theme)
        self.hide()

    def set_theme(self, theme: Theme) -> None:
        self.close_button.setIcon(icon("close", theme.error_text))

    def show_message(self, message: str, hint: str = "") -> None:
        self.label.setText(f"{message}\n{hint}" if hint else message)
        self.show()


LOCAL_SUBTITLE = "Keiko runs entirely on this computer. Nothing you type leaves it."


class EmptyState(QWidget):
    """What a new chat shows before the first message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.logo = QLabel(self)
        self.logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.logo.setPixmap(app_icon().pixmap(QSize(56, 56), self.devicePixelRatioF()))
        self.title = QLabel("How can I help you today?", self)
        self.title.setObjectName("EmptyTitle")
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.7)
        font.setWeight(QFont.Weight.DemiBold)
        self.title.setFont(font)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle = QLabel(LOCAL_SUBTITLE, self)
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle.setObjectName("EmptySubtitle")
        self.subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addStretch(3)
        layout.addWidget(self.logo)
        layout.addSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        self.welcome_slot = QVBoxLayout()
        self.welcome_slot.setContentsMargins(0, 18, 0, 0)
        layout.addLayout(self.welcome_slot)
        layout.addStretch(4)
        self.welcome: WelcomeCard | None = None

    def set_model_location(self, server: str | None) -> None:
        """Say where replies come from: this computer (``None``), or the server a remote
        model runs on, which is sent what the user types."""
        self.subtitle.setText(
            LOCAL_SUBTITLE
            if server is None
            else f"Replies come from {one_line(server, 80)}: what you type is sent to that server."
        )

    def show_welcome(self, data_dir: Path, config_dir: Path) -> WelcomeCard:
        """Add the first-run welcome under the title (once); it hides itself on Got it."""
        if self.welcome is None:
            self.welcome = WelcomeCard(data_dir, config_dir, self)
            self.welcome.setMaximumWidth(640)
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(self.welcome, 12)  # as wide as it may be: its lines wrap
            row.addStretch(1)
            self.welcome_slot.addLayout(row)
        return self.welcome


def audio_paths(mime: QMimeData) -> list[str]:
    """The local audio files (by suffix, ``AUDIO_SUFFIXES``) among dragged URLs."""
    if not mime.hasUrls():
        return []
    paths = []
    for url in mime.urls():
        if url.isLocalFile():
            path = url.toLocalFile()
            if Path(path).suffix.lower() in AUDIO_SUFFIXES:
                paths.append(path)
    return paths


class ChatPanel(QWidget):
    """The chat page. Passive: the ChatPresenter drives it through its children and setters.

    Signals:
        audio_files_dropped(list): audio files (paths) were dropped on the chat.
        files_dropped(list): other files or folders (Paths) were dropped on the chat.
        image_pasted(bytes): an image (PNG bytes, no file) was dropped on the chat.
        (The rest are its children's: ``view`` (MessageView) and ``composer`` (Composer).)
    """

    audio_files_dropped = Signal(list)
    files_dropped = Signal(list)
    image_pasted = Signal(bytes)

    def __init__(self, ctx: RenderContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        header = QFrame(self)
        header.setObjectName("ChatHeader")
        header.setFixedHeight(48)
        self.title_label = QLabel("New chat", header)
        self.title_label.setObjectName("ChatTitle")
        self.agent_label = QLabel(header)
        self.agent_label.setObjectName("ChatAgent")
        self.agent_label.setTextFormat(Qt.TextFormat.PlainText)
        self.agent_label.setToolTip("The agent that answers in this chat (change it below)")
        self.agent_label.hide()
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(20, 0, 20, 0)
        header_layout.setSpacing(10)
        header_layout.addWidget(self.title_label, 1)
        header_layout.addWidget(self.agent_label, 0, Qt.AlignmentFlag.AlignVCenter)

        self.view = MessageView(ctx, self)
        self.empty_state = EmptyState(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(self.view)
        self.notice = InlineNotice(ctx.theme, self)
        self.composer = Composer(ctx.theme, self)

        bottom = QWidget(self)
        bottom_row = QHBoxLayout(bottom)
        bottom_row.setContentsMargins(24, 0, 24, 16)
        bottom_col = QVBoxLayout()
        bottom_col.setSpacing(8)
        self.live_calls = LiveCallsStrip(self)  # the running tool calls' cards
        bottom_col.addWidget(self.live_calls)
        bottom_col.addWidget(self.notice)
        bottom_col.addWidget(self.composer)
        column = QWidget(bottom)
        column.setLayout(bottom_col)
        bottom_col.setContentsMargins(0, 0, 0, 0)
        column.setMaximumWidth(COLUMN_MAX_WIDTH)
        bottom_row.addStretch(1)
        bottom_row.addWidget(column, 100)
        bottom_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.stack, 1)
        layout.addWidget(bottom)
        self._style_agent_label(ctx.theme)
        self.show_empty(True)
        # The message box takes drops itself (as text): files are this panel's.
        self.composer.editor.viewport().installEventFilter(self)

    def set_title(self, title: str) -> None:
        self.title_label.setText(title or "New chat")

    def set_agent(self, name: str | None) -> None:
        """Show the agent the chat is bound to ("Agent: NAME"), or nothing (None)."""
        if name is None:
            self.agent_label.clear()
            self.agent_label.setAccessibleName("")
            self.agent_label.hide()
            return
        shown = one_line(name, 64)
        self.agent_label.setText(f"Agent: {shown}")
        self.agent_label.setAccessibleName(f"Agent: {shown}")
        self.agent_label.show()

    @property
    def agent_text(self) -> str:
        """The header's agent line ("" when the chat is not bound)."""
        return self.agent_label.text() if not self.agent_label.isHidden() else ""

    def show_welcome(self, data_dir: Path, config_dir: Path) -> WelcomeCard:
        """The first-run welcome on the empty chat; Got it gives the message box the keys."""
        card = self.empty_state.show_welcome(data_dir, config_dir)
        card.dismissed.connect(self._on_welcome_dismissed)
        return card

    def _on_welcome_dismissed(self) -> None:
        self.composer.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_empty(self, empty: bool) -> None:
        self.stack.setCurrentWidget(self.empty_state if empty else self.view)

    @property
    def showing_empty(self) -> bool:
        return self.stack.currentWidget() is self.empty_state

    def show_error(self, message: str, hint: str = "") -> None:
        self.notice.show_message(message, hint)

    def clear_error(self) -> None:
        self.notice.hide()

    def set_render_context(self, ctx: RenderContext) -> None:
        self.view.set_render_context(ctx)
        self.composer.set_theme(ctx.theme)
        self.notice.set_theme(ctx.theme)
        self._style_agent_label(ctx.theme)

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if not self._take_drag(event):
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if not self._take_drag(event):
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if not self._take_drop(event):
            super().dropEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event,
            QDragMoveEvent,  # QDragEnterEvent is one
        ):
            return self._take_drag(event)
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            return self._take_drop(event)
        return super().eventFilter(watched, event)

    def _take_drag(self, event: QDragMoveEvent) -> bool:
        mime = event.mimeData()
        if not (file_drops.has_files(mime) or (mime.hasImage() and not mime.hasText())):
            return False
        event.acceptProposedAction()
        return True

    def _take_drop(self, event: QDropEvent) -> bool:
        mime = event.mimeData()
        paths = file_drops.paths_from_mime(mime)
        image = None if paths or mime.hasText() else file_drops.image_from_mime(mime)
        if not paths and not image:
            return False
        event.acceptProposedAction()
        audio = [str(p) for p in paths if p.suffix.lower() in AUDIO_SUFFIXES]
        others = [p for p in paths if p.suffix.lower() not in AUDIO_SUFFIXES]
        if audio:
            self.audio_files_dropped.emit(audio)
        if others:
            self.files_dropped.emit(others)
        if image:
            self.image_pasted.emit(image)
        return True

    def _style_agent_label(self, theme: Theme) -> None:
        self.agent_label.setStyleSheet(
            f"QLabel#ChatAgent {{ color: {theme.accent}; background: transparent;"
            f" border: 1px solid {theme.accent}; border-radius: 10px; padding: 2px 10px; }}"
        )
