"""PassageDialog: a cited passage in its place — the file, the page, and the page's whole text
scrolled to the passage, which is highlighted.

The text is the file's, not Keiko's: shown as plain text, every control or format character
escaped (``core.safe_text.printable``). A page of a plain text file is the whole file (up to 20
million characters), so at most ``WINDOW_CHARS`` either side of the passage are shown, with a
line saying how much was left out. ``excerpt`` does that work; it is pure and slow on big pages,
so the presenter runs it off the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeySequence,
    QShortcut,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line, printable

WINDOW_CHARS = 100_000


@dataclass(frozen=True)
class Excerpt:
    """What the dialog shows: escaped text, and where the passage is in it."""

    text: str
    start: int
    length: int


def find_passage(page_text: str, passage: str, start: int) -> int:
    """Where ``passage`` begins in ``page_text``: at ``start`` when it is there, else where its
    first words are found, else ``start`` bounded to the page."""
    if page_text.startswith(passage, max(0, start)):
        return max(0, start)
    probe = passage.strip()[:200]
    if probe:
        found = page_text.find(probe)
        if found >= 0:
            return found
    return min(max(0, start), len(page_text))


def excerpt(page_text: str, passage: str, start: int, window: int = WINDOW_CHARS) -> Excerpt:
    """The page around the passage, escaped, and the passage's place in what is shown."""
    at = find_passage(page_text, passage, start)
    end = min(len(page_text), at + len(passage))
    lo = max(0, at - window)
    hi = min(len(page_text), end + window)
    before = printable(page_text[lo:at])
    body = printable(page_text[at:end])
    after = printable(page_text[end:hi])
    head = f"[… {lo:,} characters before this not shown]\n" if lo else ""
    tail = (
        f"\n[… {len(page_text) - hi:,} characters after this not shown]"
        if hi < len(page_text)
        else ""
    )
    text = head + before + body + after + tail
    return Excerpt(text, len(head) + len(before), len(body))


def page_title(name: str, page: int | None) -> str:
    shown = one_line(name, 120)
    return f"{shown}, page {page}" if page is not None else shown


class PassageDialog(QDialog):
    """Shows one passage in its page (see the module docs). Passive: ``show_passage``."""

    def __init__(self, parent: QWidget | None = None, highlight: str = "#fde68a") -> None:
        super().__init__(parent)
        self.setObjectName("PassageDialog")
        self.setWindowTitle("Source")
        self.setAccessibleName("Source passage")
        self.resize(720, 560)
        self._highlight = highlight
        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setObjectName("PassageHeading")
        self.heading.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Page text")
        self.text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self, self.reject)
        self._excerpt = Excerpt("", 0, 0)

    def show_passage(self, name: str, page: int | None, shown: Excerpt) -> None:
        """Show ``shown`` (made by ``excerpt``) for the file ``name`` and its ``page``."""
        title = page_title(name, page)
        self.setWindowTitle(f"Source — {title}")
        self.heading.setText(f"From {title}. The cited passage is highlighted.")
        self._excerpt = shown
        self.text.setPlainText(shown.text)
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(min(shown.start, len(shown.text)))
        end = min(shown.start + shown.length, len(shown.text))
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(self._highlight))
        selection.format = fmt  # type: ignore[assignment]
        selection.cursor = cursor  # type: ignore[assignment]
        self.text.setExtraSelections([selection])
        # Show the passage's end, then its start: the whole passage is in view when it fits.
        at_end = QTextCursor(self.text.document())
        at_end.setPosition(end)
        self.text.setTextCursor(at_end)
        self.text.ensureCursorVisible()
        at_start = QTextCursor(self.text.document())
        at_start.setPosition(min(shown.start, len(shown.text)))
        self.text.setTextCursor(at_start)
        self.text.centerCursor()

    @property
    def highlighted(self) -> str:
        """The highlighted text (the passage, escaped)."""
        shown = self._excerpt
        return shown.text[shown.start : shown.start + shown.length]

    def passage_visible(self) -> bool:
        """Whether the start of the passage is within the visible part of the text."""
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(min(self._excerpt.start, len(self._excerpt.text)))
        rect = self.text.cursorRect(cursor)
        return self.text.viewport().rect().intersects(rect)
