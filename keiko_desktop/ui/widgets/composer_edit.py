"""ComposerEdit: the composer's text box (Enter sends, Shift+Enter a new line, Up in an empty
box edits the last message). It grows with its text up to ``MAX_LINES``. Pasted files and
images are not text: they are handed on (``files_pasted``, ``image_pasted``) to be attached.
The window's own keys are never kept: their ``ShortcutOverride`` is refused.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QSizePolicy, QWidget

from keiko_desktop.ui import file_drops
from keiko_desktop.ui.shortcuts import window_shortcut_for

MAX_LINES = 10


class ComposerEdit(QPlainTextEdit):
    """The text box. Grows with its text up to ``MAX_LINES``.

    Signals:
        submitted(): Enter was pressed (without Shift).
        up_pressed_when_empty(): Up was pressed in an empty box.
        escape_pressed(): Esc was pressed.
        files_pasted(list): files or folders (Paths) were pasted (Ctrl+V of copied files).
        image_pasted(bytes): an image was pasted (PNG bytes).
        attach_pressed(): Ctrl+Shift+A: attach files.
    """

    submitted = Signal()
    up_pressed_when_empty = Signal()
    escape_pressed = Signal()
    files_pasted = Signal(list)
    image_pasted = Signal(bytes)
    attach_pressed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().setDocumentMargin(2)
        self.document().contentsChanged.connect(self._on_document_contents_changed)
        self._on_document_contents_changed()

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and window_shortcut_for(event) is not None
        ):
            event.ignore()  # not ours: the window's shortcut takes it
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        mods = event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            mods & Qt.KeyboardModifier.ShiftModifier
        ):
            event.accept()
            self.submitted.emit()
            return
        if key == Qt.Key.Key_Up and not self.toPlainText():
            event.accept()
            self.up_pressed_when_empty.emit()
            return
        if key == Qt.Key.Key_A and mods == (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        ):
            event.accept()
            self.attach_pressed.emit()
            return
        if key == Qt.Key.Key_Escape:
            event.accept()
            self.escape_pressed.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        return file_drops.has_files(source) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        """Pasted files and images become attachments; text is pasted as plain text."""
        paths = file_drops.paths_from_mime(source)
        if paths:
            self.files_pasted.emit(paths)
            return
        if not source.hasText() and source.hasImage():
            image = file_drops.image_from_mime(source)
            if image:
                self.image_pasted.emit(image)
            return
        super().insertFromMimeData(source)

    def _on_document_contents_changed(self) -> None:
        line = self.fontMetrics().lineSpacing()
        lines = max(1, min(MAX_LINES, self._visual_lines()))
        margins = self.contentsMargins()
        doc_margin = int(self.document().documentMargin() * 2)
        self.setFixedHeight(lines * line + doc_margin + margins.top() + margins.bottom() + 4)

    def _visual_lines(self) -> int:
        layout = self.document().documentLayout()
        return max(1, int(layout.documentSize().height()))
