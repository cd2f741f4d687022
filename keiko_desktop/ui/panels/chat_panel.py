"""ChatPanel: the centre of the window — a title (and the agent the chat is bound to), the
messages (or a welcome), and the composer."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
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
from keiko_desktop.ui.icons import app_icon, icon
from keiko_desktop.ui.theme import Theme
from keiko_desktop.ui.widgets.composer import Composer
from keiko_desktop.ui.widgets.message_view import COLUMN_MAX_WIDTH, MessageView
from keiko_desktop.ui.widgets.message_widget import RenderContext


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
        self.subtitle = QLabel(
            "Keiko runs entirely on this computer. Nothing you type leaves it.", self
        )
        self.subtitle.setObjectName("EmptySubtitle")
        self.subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addStretch(3)
        layout.addWidget(self.logo)
        layout.addSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addStretch(4)


class ChatPanel(QWidget):
    """The chat page. Passive: the ChatPresenter drives it through its children and setters.

    Signals:
        (none of its own: see ``view`` (MessageView) and ``composer`` (Composer).)
    """

    def __init__(self, ctx: RenderContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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

    def _style_agent_label(self, theme: Theme) -> None:
        self.agent_label.setStyleSheet(
            f"QLabel#ChatAgent {{ color: {theme.accent}; background: transparent;"
            f" border: 1px solid {theme.accent}; border-radius: 10px; padding: 2px 10px; }}"
        )
