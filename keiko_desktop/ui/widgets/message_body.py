"""MessageBody: a read-only text browser as tall as its text, for one message.

It never scrolls itself (the message list does); wheel events go to the parent. ``copy:N``
links copy code block N to the clipboard; other links open in the system browser.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, QSizeF, Qt, QUrl, Signal
from PySide6.QtGui import QCursor, QDesktopServices, QGuiApplication, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QToolTip, QWidget

from keiko_desktop.ui.markdown import COPY_SCHEME


class MessageBody(QTextBrowser):
    """Shows one message's text at its natural height.

    Signals:
        code_copied(int): code block N was copied to the clipboard.
    """

    code_copied = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, fit_width: bool = False) -> None:
        super().__init__(parent)
        self._fit_width = fit_width
        self._max_width = 0
        self._code_blocks: tuple[str, ...] = ()
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setOpenLinks(False)
        self.setUndoRedoEnabled(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self.document().setDocumentMargin(0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(
            self._on_layout_document_size_changed
        )
        self.anchorClicked.connect(self._on_self_anchor_clicked)
        self.setFixedHeight(self._text_height())

    # ------------------------------------------------------------------ setters
    def set_content(self, html: str, code_blocks: tuple[str, ...] = ()) -> None:
        """Replace the text with rendered HTML."""
        self._code_blocks = code_blocks
        self.setHtml(html)
        self._fit()

    def set_plain(self, text: str) -> None:
        self._code_blocks = ()
        self.setPlainText(text)
        self._fit()

    def set_max_width(self, width: int) -> None:
        """For ``fit_width`` bodies: the widest the body may get (it shrinks to short texts)."""
        if width != self._max_width:
            self._max_width = width
            self._fit()

    @property
    def code_blocks(self) -> tuple[str, ...]:
        return self._code_blocks

    # ------------------------------------------------------------------ sizing
    def _text_height(self) -> int:
        return max(1, math.ceil(self.document().size().height()))

    def _fit(self) -> None:
        if self._fit_width and self._max_width > 0:
            doc = self.document()
            doc.setTextWidth(self._max_width)
            width = min(self._max_width, math.ceil(doc.idealWidth()) + 2)
            if width != self.width():
                self.setFixedWidth(width)
            doc.setTextWidth(width)
        height = self._text_height()
        if height != self.height():
            self.setFixedHeight(height)

    def _on_layout_document_size_changed(self, _size: QSizeF) -> None:
        height = self._text_height()
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._on_layout_document_size_changed(QSizeF())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.width(), self._text_height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(40, self._text_height())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        event.ignore()  # the message list scrolls, not the message

    # ------------------------------------------------------------------ links
    def _on_self_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME:
            try:
                index = int(url.path())
                code = self._code_blocks[index]
            except (ValueError, IndexError):
                return
            QGuiApplication.clipboard().setText(code)
            QToolTip.showText(QCursor.pos(), "Copied", self)
            self.code_copied.emit(index)
            return
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
