"""MessageWidget: one message, its status, its numbers and its actions.

A ``tool`` message (one tool call the model made, stored as JSON by the ChatService) is shown as
a collapsed ``ToolCard`` instead of text. A user message shows the files sent with it as chips
(``set_attachments``); a reply written from files lists its sources and, once complete, links
its citations of them (``set_sources``; ``source_clicked`` asks for a passage).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QEnterEvent, QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.files.types import AttachmentInfo, Passage
from keiko_desktop.core.ports import StoredMessage
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.markdown import MarkdownRenderer, stable_prefix_length
from keiko_desktop.ui.theme import Theme
from keiko_desktop.ui.widgets.attachment_chips import AttachmentChips
from keiko_desktop.ui.widgets.message_body import MessageBody
from keiko_desktop.ui.widgets.message_parts import error_text, meta_text, show_tool_call
from keiko_desktop.ui.widgets.message_sources import SourcesBar, render_citing, source_id
from keiko_desktop.ui.widgets.tool_card import ToolCard

MERGE_MAX_CHARS = 6000


@dataclass(frozen=True)
class RenderContext:
    """What every message needs to draw itself in the current theme."""

    theme: Theme
    renderer: MarkdownRenderer
    css: str


class MessageWidget(QFrame):
    """One message in the chat view.

    Signals:
        edit_requested(int): edit this (user) message and send it again.
        regenerate_requested(int): write this (assistant) reply again; also Retry.
        delete_requested(int): delete this message.
        copied(int): the message text was copied.
        source_clicked(int): the user opened a source of this reply (a chunk id).
    """

    edit_requested = Signal(int)
    regenerate_requested = Signal(int)
    delete_requested = Signal(int)
    copied = Signal(int)
    source_clicked = Signal(int)

    def __init__(self, message: StoredMessage, ctx: RenderContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Message")
        self._message = message
        self._ctx = ctx
        self._is_last = False
        self._hovered = False
        self._pending_text = "Thinking…"
        self._rendered: str | None = None
        self._segments: list[MessageBody] = []  # finished blocks of a streaming reply
        self._stable_len = 0
        self._tail_empty = False
        self._passages: tuple[Passage, ...] = ()
        self.attachments: AttachmentChips | None = None
        self.attachment_note = QLabel(self)
        self.attachment_note.setObjectName("MessageMeta")
        self.attachment_note.setTextFormat(Qt.TextFormat.PlainText)
        self.attachment_note.hide()
        self.sources_bar = SourcesBar(self)
        self.sources_bar.source_clicked.connect(self.source_clicked)
        is_user = message.role == "user"
        self.tool_card: ToolCard | None = ToolCard(self) if message.role == "tool" else None

        self.body = MessageBody(self, fit_width=is_user)
        self.body.anchorClicked.connect(self._on_body_anchor_clicked)
        self.pending_label = QLabel(self)
        self.pending_label.setObjectName("MessageMeta")
        self.error_box = QFrame(self)
        self.error_box.setObjectName("ErrorBox")
        self.error_label = QLabel(self.error_box)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        err_layout = QHBoxLayout(self.error_box)
        err_layout.setContentsMargins(12, 8, 8, 8)
        err_layout.addWidget(self.error_label, 1)

        self.status_badge = QLabel(self)
        self.status_badge.setObjectName("StatusBadge")
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setObjectName("RetryButton")
        self.retry_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.retry_button.clicked.connect(self._on_retry_button_clicked)
        self.meta_label = QLabel(self)
        self.meta_label.setObjectName("MessageMeta")
        self.note_label = QLabel(self)  # which fallback model answered, and why
        self.note_label.setObjectName("MessageMeta")
        self.note_label.setWordWrap(True)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setAccessibleName("Note on this reply")
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label.setVisible(False)

        self.action_bar = QWidget(self)
        actions_layout = QHBoxLayout(self.action_bar)
        actions_layout.setContentsMargins(0, 0, 0, 0)
        actions_layout.setSpacing(2)
        self.copy_button = self._action("copy", "Copy message", self._on_copy_button_clicked)
        self.edit_button = self._action("edit", "Edit and resend", self._on_edit_button_clicked)
        self.regenerate_button = self._action(
            "regenerate", "Regenerate reply", self._on_regenerate_button_clicked
        )
        self.delete_button = self._action(
            "delete", "Delete message", self._on_delete_button_clicked
        )
        for button in (self.copy_button, self.edit_button, self.regenerate_button):
            actions_layout.addWidget(button)
        actions_layout.addWidget(self.delete_button)
        policy = self.action_bar.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.action_bar.setSizePolicy(policy)
        self.edit_button.setVisible(is_user)
        self.regenerate_button.setVisible(False)

        footer = QHBoxLayout()
        footer.setContentsMargins(0, 0, 0, 0)
        footer.setSpacing(8)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 4, 0, 4)
        outer.setSpacing(2)
        if is_user:
            self.bubble = QFrame(self)
            self.bubble.setObjectName("UserBubble")
            bubble_layout = QVBoxLayout(self.bubble)
            bubble_layout.setContentsMargins(14, 9, 14, 9)
            bubble_layout.addWidget(self.body)
            self.bubble.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            row = QHBoxLayout()
            row.setSpacing(6)
            row.addStretch(1)
            row.addWidget(self.action_bar, 0, Qt.AlignmentFlag.AlignBottom)
            row.addWidget(self.bubble)
            outer.addLayout(row)
            outer.addWidget(self.attachment_note, 0, Qt.AlignmentFlag.AlignRight)
        else:
            if self.tool_card is not None:
                outer.addWidget(self.tool_card)
            outer.addWidget(self.body)
            outer.addWidget(self.pending_label)
            outer.addWidget(self.error_box)
            outer.addWidget(self.sources_bar)
            outer.addWidget(self.note_label)
            footer.addWidget(self.action_bar)
            footer.addWidget(self.status_badge)
            footer.addWidget(self.retry_button)
            footer.addStretch(1)
            footer.addWidget(self.meta_label)
        if not is_user:
            outer.addLayout(footer)
        self._apply_icons()
        self.update_message(message)
        self._update_actions_visibility()

    def _action(self, name: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton(self.action_bar)
        button.setObjectName("MessageAction")
        button.setProperty("icon_name", name)
        button.setToolTip(tip)
        button.setIconSize(QSize(14, 14))
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------------ state
    @property
    def message(self) -> StoredMessage:
        return self._message

    @property
    def message_id(self) -> int:
        return self._message.id

    @property
    def text(self) -> str:
        return self._message.content

    def shown_text(self) -> str:
        """The plain text on screen (all bodies of a streaming reply, in order)."""
        bodies = [*self._segments, self.body]
        return "\n".join(b.toPlainText() for b in bodies if b.isVisibleTo(self))

    def update_message(self, message: StoredMessage) -> None:
        """Show a new version of this message (text, status, numbers)."""
        self._message = message
        # A finished reply becomes one body again, so it selects as one text; a very long one
        # keeps its blocks (one render of it all would freeze the window for a moment).
        merge = (
            bool(self._segments)
            and message.status != "streaming"
            and len(message.content) <= MERGE_MAX_CHARS
        )
        if merge:
            self._render_text()
        elif message.content != self._rendered:
            if self._segments:  # the last pieces of a long reply: render only the new tail
                self._render_streaming(message.content)
            else:
                self._render_text()
        self._update_status()

    def set_text(self, text: str) -> None:
        """Replace the text while the reply streams (the status stays as it is)."""
        if text != self._message.content:
            self._message = replace(self._message, content=text)
            if self._message.role == "assistant" and self._message.status == "streaming":
                self._render_streaming(text)
            else:
                self._render_text()
            self._update_status()

    def set_pending_text(self, text: str) -> None:
        """What a reply with no text yet says, e.g. that the model is still loading."""
        self._pending_text = text
        self._update_status()

    def set_is_last(self, is_last: bool) -> None:
        """The last message keeps its actions visible and offers Regenerate/Retry."""
        if is_last != self._is_last:
            self._is_last = is_last
            self._update_status()
            self._update_actions_visibility()

    def set_context(self, ctx: RenderContext) -> None:
        self._ctx = ctx
        self._apply_icons()
        self._render_text()

    def set_attachments(self, infos: Sequence[AttachmentInfo], note: str = "") -> None:
        """The files sent with this (user) message, as chips above it; ``note`` under them
        (e.g. that the model cannot see images)."""
        if self.attachments is None:
            self.attachments = AttachmentChips(self, read_only=True, theme=self._ctx.theme)
            layout = self.layout()
            assert isinstance(layout, QVBoxLayout)
            layout.insertWidget(0, self.attachments, 0, Qt.AlignmentFlag.AlignRight)
        self.attachments.show_attachments(list(infos))
        self.attachment_note.setText(note)
        self.attachment_note.setVisible(bool(note))

    def set_sources(self, passages: Sequence[Passage]) -> None:
        """The passages this reply was written from: listed under it, cited ones linked."""
        self._passages = tuple(passages)
        self.sources_bar.set_theme(self._ctx.theme)
        self.sources_bar.set_passages(self._passages)
        if self._message.status != "streaming" and not self._segments:
            self._render_text()

    @property
    def sources(self) -> tuple[Passage, ...]:
        return self._passages

    def _render_streaming(self, text: str) -> None:
        """Render finished blocks once, into their own body, and re-render only the tail."""
        split = stable_prefix_length(text)
        if split > self._stable_len:
            segment = MessageBody(self)
            segment.document().setDefaultStyleSheet(self._ctx.css)
            rendered = self._ctx.renderer.render(text[self._stable_len : split])
            segment.set_content(rendered.html, rendered.code_blocks)
            layout = self.layout()
            assert isinstance(layout, QVBoxLayout)
            layout.insertWidget(layout.indexOf(self.body), segment)
            self._segments.append(segment)
            self._stable_len = split
        tail = text[self._stable_len :]
        self._tail_empty = not tail.strip()
        self.body.document().setDefaultStyleSheet(self._ctx.css)
        rendered = self._ctx.renderer.render(tail)
        self.body.set_content(rendered.html, rendered.code_blocks)
        self._rendered = text

    def _clear_segments(self) -> None:
        for segment in self._segments:
            segment.hide()
            segment.deleteLater()
        self._segments.clear()
        self._stable_len = 0
        self._tail_empty = False

    def _render_text(self) -> None:
        message = self._message
        self._clear_segments()
        self._rendered = message.content
        if self.tool_card is not None:
            show_tool_call(self.tool_card, message.content)
            return
        self.body.document().setDefaultStyleSheet(self._ctx.css)
        if message.role == "user":
            self.body.set_plain(message.content)
        elif self._passages and message.status != "streaming":
            rendered = render_citing(self._ctx.theme, message.content, self._passages)
            self.body.set_content(rendered.html, rendered.code_blocks)
        else:
            rendered = self._ctx.renderer.render(message.content)
            self.body.set_content(rendered.html, rendered.code_blocks)

    def _update_status(self) -> None:
        m = self._message
        assistant = m.role == "assistant"
        streaming = m.status == "streaming"
        self.body.setVisible(
            self.tool_card is None and ((bool(m.content) and not self._tail_empty) or not assistant)
        )
        self.pending_label.setVisible(assistant and streaming and not m.content)
        self.pending_label.setText(self._pending_text)
        is_error = m.status == "error"
        self.error_box.setVisible(assistant and is_error)
        if is_error:
            self.error_label.setText(error_text(m.error))
        interrupted = m.status == "interrupted"
        self.status_badge.setVisible(assistant and interrupted)
        cut = (m.error or "").split("\n", 1)[0] if interrupted else ""
        self.status_badge.setText(cut or ("Stopped before the end" if interrupted else ""))
        self.status_badge.setToolTip((m.error or "") if interrupted else "")
        self.note_label.setVisible(assistant and bool(m.note) and not streaming)
        self.note_label.setText(m.note or "")
        self.retry_button.setVisible(assistant and (interrupted or is_error) and self._is_last)
        self.regenerate_button.setVisible(assistant and self._is_last and not streaming)
        self.copy_button.setEnabled(bool(m.content))
        self.edit_button.setEnabled(not streaming)
        self.delete_button.setVisible(not streaming)
        self.meta_label.setText("" if streaming or m.role == "user" else meta_text(m))

    def _apply_icons(self) -> None:
        color = self._ctx.theme.muted
        for button in (self.copy_button, self.edit_button, self.regenerate_button):
            button.setIcon(icon(str(button.property("icon_name")), color))
        self.delete_button.setIcon(icon("delete", color))

    def _update_actions_visibility(self) -> None:
        self.action_bar.setVisible(self._is_last or self._hovered)

    # ------------------------------------------------------------------ events
    def enterEvent(self, event: QEnterEvent) -> None:  # noqa: N802
        self._hovered = True
        self._update_actions_visibility()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._hovered = False
        self._update_actions_visibility()
        super().leaveEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._message.role == "user":
            self.body.set_max_width(max(120, int(self.width() * 0.78) - 28))

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self._message.content)
        self.copied.emit(self._message.id)

    def _on_edit_button_clicked(self) -> None:
        self.edit_requested.emit(self._message.id)

    def _on_regenerate_button_clicked(self) -> None:
        self.regenerate_requested.emit(self._message.id)

    def _on_retry_button_clicked(self) -> None:
        self.regenerate_requested.emit(self._message.id)

    def _on_delete_button_clicked(self) -> None:
        self.delete_requested.emit(self._message.id)

    def _on_body_anchor_clicked(self, url: QUrl) -> None:
        chunk_id = source_id(url, self._passages)
        if chunk_id is not None:
            self.source_clicked.emit(chunk_id)


def render_context(theme: Theme) -> RenderContext:
    """A RenderContext for ``theme`` (a markdown renderer and the document style sheet)."""
    from PySide6.QtGui import QFontDatabase

    from keiko_desktop.ui.markdown import document_css

    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    return RenderContext(theme, MarkdownRenderer(theme), document_css(theme, mono))
