"""QuickAskPopup: ask Keiko from anywhere — a small frameless window on top of everything.

It opens near the top of the screen under the pointer: one question box (Enter asks,
Shift+Enter starts a new line, up to four lines tall), the agent chooser, the mic button (hold
to talk), the attachment chips, the answer below as Markdown, and Stop and "Continue in Keiko".
Esc hides it (an answer being written keeps being written, and is stored). Files dropped or
pasted on it become attachments. Passive like every widget: ``QuickAskPresenter`` decides.

On X11 the window that had the keyboard focus before the popup opened gets it back when the
popup hides (``ui/x11_focus.py``), if the focus is still the popup's then; elsewhere the window
manager decides. ``exposed`` and ``exposed_at`` tell when the popup is on screen (benchmarks).
"""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QCursor,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QHideEvent,
    QKeyEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.ui import file_drops
from keiko_desktop.ui.theme import Theme
from keiko_desktop.ui.widgets.attachment_chips import AttachmentChips
from keiko_desktop.ui.widgets.message_body import MessageBody
from keiko_desktop.ui.widgets.message_widget import RenderContext
from keiko_desktop.ui.widgets.mic_button import MicButton

WIDTH = 640
MAX_LINES = 4
MAX_ANSWER_HEIGHT = 380
TOP_SHARE = 0.18
"""The popup's top edge: this share of the screen's height below its top."""
NO_AGENT = "No agent"
HINT = "Enter asks · Ctrl+Enter continues in Keiko · Esc hides"


class QuestionEdit(QPlainTextEdit):
    """The question box: one to ``MAX_LINES`` lines tall, growing with its text.

    Signals:
        submitted(): Enter without Shift or Ctrl.
        continue_pressed(): Ctrl+Enter.
        escape_pressed(): Esc.
        mime_pasted(object): files or an image were pasted (the QMimeData); text pastes as text.
    """

    submitted = Signal()
    continue_pressed = Signal()
    escape_pressed = Signal()
    mime_pasted = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("QuickAskQuestion")
        self.setAccessibleName("Question")
        self.setPlaceholderText("Ask Keiko…")
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().contentsChanged.connect(self._on_document_contents_changed)
        self._on_document_contents_changed()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key, modifiers = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if modifiers & Qt.KeyboardModifier.ControlModifier:
                event.accept()
                self.continue_pressed.emit()
                return
            if not modifiers & Qt.KeyboardModifier.ShiftModifier:
                event.accept()
                self.submitted.emit()
                return
        if key == Qt.Key.Key_Escape:
            event.accept()
            self.escape_pressed.emit()
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._on_document_contents_changed()  # the style sheet's font and padding: refit
        return handled

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        return file_drops.has_files(source) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        if file_drops.has_files(source) or (not source.hasText() and source.hasImage()):
            self.mime_pasted.emit(source)
            return
        self.insertPlainText(source.text())  # plain text only: never markup

    def _on_document_contents_changed(self) -> None:
        height = self.document().documentLayout().documentSize().height()
        lines = max(1, min(MAX_LINES, int(height)))
        margins = self.contentsMargins()
        extra = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom() + 4
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + extra)


class QuickAskPopup(QFrame):
    """The Quick ask window (see the module docs).

    Signals:
        ask_requested(str): Enter in the question box (the question, stripped, not empty).
        stop_requested(): Stop was clicked.
        continue_requested(): "Continue in Keiko" was clicked, or Ctrl+Enter pressed (only
            while there is a conversation to continue).
        hide_requested(): Esc, or the window manager closed it.
        agent_chosen(object): the user chose an agent (its name; None: "No agent").
        files_dropped(list): local files or folders were dropped or pasted (list of Path).
        image_dropped(bytes): an image was dropped or pasted (PNG bytes).
        exposed(): the popup is on screen (once per showing; ``exposed_at`` says when).
        hidden(): the popup was hidden.
    """

    ask_requested = Signal(str)
    stop_requested = Signal()
    continue_requested = Signal()
    hide_requested = Signal()
    agent_chosen = Signal(object)
    files_dropped = Signal(list)
    image_dropped = Signal(bytes)
    exposed = Signal()
    hidden = Signal()

    def __init__(self, ctx: RenderContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("QuickAsk")
        self.setWindowTitle("Quick ask — Keiko")
        self.setAccessibleName("Quick ask")
        self.setWindowFlags(
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
        )
        self.setAcceptDrops(True)
        self._ctx = ctx
        self._answer = ""
        self._show_seq = 0
        self._exposed_seq = 0
        self.exposed_at = 0.0
        """``time.perf_counter()`` when the popup last came on screen."""

        self.title = QLabel("Quick ask", self)
        self.title.setObjectName("QuickAskTitle")
        self.hint = QLabel(HINT, self)
        self.hint.setObjectName("QuickAskHint")
        self.question = QuestionEdit(self)
        self.agent_chooser = QComboBox(self)
        self.agent_chooser.setObjectName("QuickAskAgent")
        self.agent_chooser.setAccessibleName("Agent")
        self.agent_chooser.view().setAccessibleName("Agents")
        self.agent_chooser.setToolTip("Which agent answers (“No agent”: the current model)")
        self.agent_chooser.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.agent_chooser.setMinimumContentsLength(12)
        self.agent_chooser.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.agent_chooser.addItem(NO_AGENT, None)
        self.agent_chooser.hide()  # until the presenter knows there are agents
        self.mic_button = MicButton(ctx.theme, self)
        self.chips = AttachmentChips(self)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setAccessibleName("Stop the answer")
        self.continue_button = QPushButton("&Continue in Keiko", self)
        self.continue_button.setAccessibleName("Continue in Keiko")
        self.continue_button.setToolTip("Open this conversation in Keiko's window (Ctrl+Enter)")
        self.asked = _plain_label(self, "QuickAskAsked", "Your question")
        self.status = _plain_label(self, "QuickAskStatus", "Status")
        self.body = MessageBody(self)
        self.body.setAccessibleName("Answer")
        self.body.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.answer_area = QScrollArea(self)
        self.answer_area.setObjectName("QuickAskAnswer")
        self.answer_area.setWidgetResizable(True)
        self.answer_area.setFrameShape(QFrame.Shape.NoFrame)
        self.answer_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.answer_area.setWidget(self.body)
        self.answer_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.body.document().documentLayout().documentSizeChanged.connect(self._fit_answer)

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.hint)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.agent_chooser)
        row.addWidget(self.mic_button)
        row.addWidget(self.chips, 100)  # the chips take the room when there are any
        row.addStretch(1)
        row.addWidget(self.stop_button)
        row.addWidget(self.continue_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 12)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.question)
        layout.addLayout(row)
        layout.addWidget(self.asked)
        layout.addWidget(self.answer_area)
        layout.addWidget(self.status)
        for first, second in pairwise(
            (self.question, self.agent_chooser, self.mic_button, self.chips, self.stop_button,
             self.continue_button, self.body)
        ):  # fmt: skip
            QWidget.setTabOrder(first, second)

        self.question.submitted.connect(self._on_question_submitted)
        self.question.continue_pressed.connect(self._on_continue_pressed)
        self.question.escape_pressed.connect(self.hide_requested)
        self.question.mime_pasted.connect(self._take_mime)
        self.stop_button.clicked.connect(self.stop_requested)
        self.continue_button.clicked.connect(self.continue_requested)
        self.agent_chooser.activated.connect(self._on_agent_chooser_activated)
        self.set_context(ctx)
        self.reset()
        self.setFixedWidth(WIDTH)

    # ------------------------------------------------------------------ setters
    def set_context(self, ctx: RenderContext) -> None:
        """The theme and Markdown renderer (the answer is drawn again with them)."""
        self._ctx = ctx
        t = ctx.theme
        self.mic_button.set_theme(t)
        self.chips.set_theme(t)
        self.body.document().setDefaultStyleSheet(ctx.css)
        self.setStyleSheet(_style(t))
        if self._answer:
            self.set_answer(self._answer)

    def reset(self) -> None:
        """A fresh popup: empty question, no answer, no status, nothing to continue."""
        self.question.clear()
        self.chips.clear()
        self.asked.hide()
        self.set_answer("")
        self.set_streaming(False)
        self.set_can_continue(False)
        self.set_status("")

    def set_agents(self, names: list[str]) -> None:
        """The agents offered after "No agent"; the choice stays when it is still there."""
        current = self.agent
        self.agent_chooser.clear()
        self.agent_chooser.addItem(NO_AGENT, None)
        for name in names:
            self.agent_chooser.addItem(one_line(name, 64), name)
        self.set_agent(current if current in names else None)

    def set_agent(self, name: str | None) -> None:
        """Show ``name`` chosen (None: "No agent"), without ``agent_chosen``."""
        row = self.agent_chooser.findData(name) if name is not None else 0
        self.agent_chooser.setCurrentIndex(max(row, 0))

    def set_agents_available(self, available: bool) -> None:
        self.agent_chooser.setVisible(available)

    def set_question(self, text: str) -> None:
        self.question.setPlainText(text)
        self.question.moveCursor(self.question.textCursor().MoveOperation.End)

    def show_asked(self, text: str) -> None:
        """The question being answered, shown above the answer (plain text)."""
        self.asked.setText(printable(text.strip())[:2000])
        self.asked.setVisible(bool(text.strip()))

    def set_answer(self, markdown: str) -> None:
        """Show the answer so far (Markdown; the presenter calls at most ~30 times a second)."""
        self._answer = markdown
        bar = self.answer_area.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        if markdown:
            rendered = self._ctx.renderer.render(markdown)
            self.body.set_content(rendered.html, rendered.code_blocks)
        else:
            self.body.set_plain("")
        self.answer_area.setVisible(bool(markdown))
        self._fit_answer()
        if at_end:
            bar.setValue(bar.maximum())

    def set_streaming(self, streaming: bool) -> None:
        self.stop_button.setVisible(streaming)

    def set_can_continue(self, can: bool) -> None:
        self.continue_button.setEnabled(can)

    def set_status(self, text: str, kind: str = "note") -> None:
        """A line under the answer: a note, ``busy`` (thinking, listening…) or an ``error``."""
        self.status.setText(printable(text)[:600])
        self.status.setProperty("kind", kind)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.status.setVisible(bool(text))
        self._refit()

    @property
    def agent(self) -> str | None:
        data = self.agent_chooser.currentData()
        return data if isinstance(data, str) else None

    @property
    def text(self) -> str:
        return self.question.toPlainText()

    @property
    def answer(self) -> str:
        return self._answer

    # ------------------------------------------------------------------ showing
    def present(self) -> None:
        """Show it near the top of the screen under the pointer, in front, the question focused."""
        screen = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        self.adjustSize()
        if screen is not None:
            area = screen.availableGeometry()
            width = min(WIDTH, area.width() - 32)
            self.setFixedWidth(width)
            self.move(area.left() + (area.width() - width) // 2,
                      area.top() + int(area.height() * TOP_SHARE))  # fmt: skip
        self.show()
        self.raise_()
        self.activateWindow()
        self.question.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self._show_seq += 1
        handle = self.windowHandle()
        if handle is not None:
            handle.installEventFilter(self)
            if handle.isExposed():
                self._on_exposed()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        super().hideEvent(event)
        self.hidden.emit()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        event.ignore()  # the window manager's close is a hide: the presenter does it
        self.hide_requested.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            event.type() == QEvent.Type.Expose
            and watched is self.windowHandle()
            and self.windowHandle().isExposed()
        ):
            self._on_exposed()
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """Keys no child took: Esc hides, Ctrl+Enter continues (focus on a button, the answer)."""
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.hide_requested.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            event.accept()
            self._on_continue_pressed()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        if file_drops.has_files(mime) or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if self._take_mime(event.mimeData()):
            event.acceptProposedAction()

    def _take_mime(self, mime: Any) -> bool:
        paths: list[Path] = file_drops.paths_from_mime(mime)
        if paths:
            self.files_dropped.emit(paths)
            return True
        image = file_drops.image_from_mime(mime)
        if image:
            self.image_dropped.emit(image)
            return True
        return False

    # ------------------------------------------------------------------ internals
    def _on_exposed(self) -> None:
        if self.isVisible() and self._exposed_seq != self._show_seq:  # once per showing
            self._exposed_seq = self._show_seq
            self.exposed_at = time.perf_counter()
            self.exposed.emit()

    def _on_question_submitted(self) -> None:
        text = self.question.toPlainText().strip()
        if text:
            self.ask_requested.emit(text)

    def _on_continue_pressed(self) -> None:
        if self.continue_button.isEnabled():
            self.continue_requested.emit()

    def _on_agent_chooser_activated(self, _row: int) -> None:
        self.agent_chosen.emit(self.agent)

    def _fit_answer(self, *_args: object) -> None:
        if self.answer_area.isVisibleTo(self):
            wanted = self.body.height() + 2
            self.answer_area.setFixedHeight(min(MAX_ANSWER_HEIGHT, max(wanted, 24)))
        self._refit()

    def _refit(self) -> None:
        if self.isVisible():
            self.adjustSize()


def _plain_label(parent: QWidget, name: str, accessible: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setAccessibleName(accessible)
    label.setTextFormat(Qt.TextFormat.PlainText)  # text that is not Keiko's is never markup
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _style(t: Theme) -> str:
    return f"""
QFrame#QuickAsk {{ background: {t.surface}; border: 1px solid {t.accent}; }}
QLabel#QuickAskTitle {{ color: {t.text}; font-weight: 600; }}
QLabel#QuickAskHint, QLabel#QuickAskAsked {{ color: {t.muted}; }}
QLabel#QuickAskStatus {{ color: {t.muted}; }}
QLabel#QuickAskStatus[kind="error"] {{ color: {t.error_text}; }}
QPlainTextEdit#QuickAskQuestion {{ background: {t.window}; color: {t.text};
    border: 1px solid {t.border}; border-radius: 8px; padding: 6px; font-size: 15px; }}
QPlainTextEdit#QuickAskQuestion:focus {{ border: 1px solid {t.accent}; }}
QScrollArea#QuickAskAnswer {{ background: transparent; }}
"""
