"""AttachmentChips: a row of chips, one per file attached to the next message (or to a sent one).

A chip is pending (being read, with its progress), ready (name, size, pages; an image shows a
thumbnail), or failed (the reason, in the error colour). Each chip takes keyboard focus (Tab),
names itself for a screen reader ("report.pdf, ready, 120 KB, 3 pages"), and × or Delete asks
for its removal (``remove_requested``); the presenter decides (cancel the reading, discard the
copy) and then calls ``remove``. Names are not Keiko's: shown escaped, as plain text.

A read-only row (``read_only=True``) shows the attachments of a sent message: no ×, no removal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QProgressBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.files.types import AttachmentInfo, human_size
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import Theme

NAME_CHARS = 28
THUMB = 28
MUTED = "#6b6b76"
ERROR = "#a61b1b"


def describe(info: AttachmentInfo) -> str:
    """What a ready chip says under the name: size, pages, and the extractor's note."""
    parts = [human_size(info.size)]
    if info.kind == "image":
        parts.append("image")
    elif info.pages > 1:
        parts.append(f"{info.pages} pages")
    if info.note:
        parts.append(one_line(info.note, 60))
    return " · ".join(parts)


@dataclass
class _State:
    name: str
    status: str = "pending"  # pending | ready | failed
    info: AttachmentInfo | None = None
    message: str = ""
    hint: str = ""
    fraction: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)


class AttachmentChip(QFrame):
    """One file. Signals: remove_requested(): × or Delete."""

    remove_requested = Signal()

    def __init__(self, name: str, *, read_only: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AttachmentChip")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.state = _State(name)
        self._read_only = read_only
        self._colors = (MUTED, ERROR, "palette(mid)", "palette(highlight)")
        self.icon_label = QLabel(self)
        self.icon_label.setFixedSize(QSize(THUMB, THUMB))
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name_label = QLabel(one_line(name, NAME_CHARS), self)
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_label = QLabel(self)
        self.detail_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_label.setObjectName("AttachmentChipDetail")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(3)
        self.progress.setAccessibleName(f"Reading {one_line(name, 80)}")
        self.remove_button = QToolButton(self)
        self.remove_button.setObjectName("IconButton")
        self.remove_button.setText("×")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setFixedSize(QSize(20, 20))
        self.remove_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the chip's Delete does it
        self.remove_button.setAccessibleName(f"Remove {one_line(name, 80)}")
        self.remove_button.setToolTip("Remove (Delete)")
        self.remove_button.setVisible(not read_only)
        self.remove_button.clicked.connect(self.remove_requested)
        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.setSpacing(0)
        text.addWidget(self.name_label)
        text.addWidget(self.detail_label)
        text.addWidget(self.progress)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 4, 4)
        layout.setSpacing(6)
        layout.addWidget(self.icon_label)
        layout.addLayout(text)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setToolTip(one_line(name, 200))
        self.refresh()

    def set_colors(self, muted: str, error: str, border: str, focus: str) -> None:
        self._colors = (muted, error, border, focus)
        self.refresh()

    def set_thumbnail(self, image: QImage) -> None:
        if image.isNull():
            return
        pixmap = QPixmap.fromImage(image).scaled(
            QSize(THUMB, THUMB),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.icon_label.setPixmap(pixmap)
        self.state.extra["thumbnail"] = "yes"

    @property
    def has_thumbnail(self) -> bool:
        return "thumbnail" in self.state.extra

    def refresh(self) -> None:
        state = self.state
        muted, error, border, focus = self._colors
        shown = one_line(state.name, 80)
        if state.status == "pending":
            detail = f"reading… {round(state.fraction * 100)} %"
            spoken = f"{shown}, reading, {round(state.fraction * 100)} percent"
        elif state.status == "ready" and state.info is not None:
            detail = describe(state.info)
            spoken = f"{shown}, ready, {detail}"
        else:
            detail = one_line(state.message or "could not be attached", 120)
            spoken = f"{shown}, not attached: {detail}"
        self.detail_label.setText(detail)
        tip = "\n".join(one_line(t, 400) for t in (state.message, state.hint) if t)
        self.detail_label.setToolTip(tip)
        color = error if state.status == "failed" else muted
        self.detail_label.setStyleSheet(f"color: {color}; font-size: 11px;")
        self.progress.setVisible(state.status == "pending")
        self.progress.setValue(round(state.fraction * 100))
        if not self.has_thumbnail:
            kind = state.info.kind if state.info is not None else ""
            tint = error if state.status == "failed" else muted
            glyph = icon("image" if kind == "image" else "file", tint)
            self.icon_label.setPixmap(glyph.pixmap(QSize(18, 18), self.devicePixelRatioF()))
        removal = "" if self._read_only else " Press Delete to remove it."
        self.setAccessibleName(f"Attachment {spoken}")
        hint = f" {one_line(state.hint, 200)}" if state.status == "failed" and state.hint else ""
        self.setAccessibleDescription(f"A file attached to the message.{hint}{removal}")
        self.setStyleSheet(
            f"QFrame#AttachmentChip {{ border: 1px solid {border}; border-radius: 8px; }}"
            f" QFrame#AttachmentChip:focus {{ border: 1px solid {focus}; }}"
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not self._read_only and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            event.accept()
            self.remove_requested.emit()
            return
        super().keyPressEvent(event)


class FlowLayout(QLayout):
    """Lays its widgets out left to right, wrapping to a new line when the row is full."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if x > rect.x() and x + hint.width() > rect.right() + 1:
                x, y, line = rect.x(), y + line + self._spacing, 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y()


class AttachmentChips(QWidget):
    """The chips of one message (see the module docs). Passive: setters and one signal.

    Signals:
        remove_requested(int): the user asked to remove the chip with this token.
    """

    remove_requested = Signal(int)

    def __init__(
        self, parent: QWidget | None = None, *, read_only: bool = False, theme: Theme | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("AttachmentChips")
        self.setAccessibleName("Attachments")
        self._read_only = read_only
        self._chips: dict[int, AttachmentChip] = {}
        self._theme = theme
        self._flow = FlowLayout(self)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.hide()

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        for chip in self._chips.values():
            self._color(chip)

    def add_pending(self, token: int, name: str) -> None:
        """A new chip, reading its file (a token already shown is replaced)."""
        self.remove(token)
        chip = AttachmentChip(name, read_only=self._read_only, parent=self)
        self._color(chip)
        chip.remove_requested.connect(lambda t=token: self.remove_requested.emit(t))
        self._chips[token] = chip
        self._flow.addWidget(chip)
        chip.show()
        self.show()
        self.updateGeometry()

    def set_progress(self, token: int, fraction: float) -> None:
        chip = self._chips.get(token)
        if chip is None or chip.state.status != "pending":
            return
        chip.state.fraction = min(1.0, max(0.0, fraction))
        chip.refresh()

    def set_ready(self, token: int, info: AttachmentInfo) -> None:
        chip = self._chips.get(token)
        if chip is None:
            return
        chip.state.status, chip.state.info, chip.state.message = "ready", info, ""
        chip.refresh()

    def set_thumbnail(self, token: int, image: QImage) -> None:
        """An image's thumbnail (made off the GUI thread as a QImage)."""
        chip = self._chips.get(token)
        if chip is not None:
            chip.set_thumbnail(image)

    def set_failed(self, token: int, message: str, hint: str = "") -> None:
        """The file could not be attached: ``message`` shows on the chip, ``hint`` in its
        tooltip and accessible description."""
        chip = self._chips.get(token)
        if chip is None:
            return
        chip.state.status, chip.state.info = "failed", None
        chip.state.message, chip.state.hint = message, hint
        chip.refresh()

    def remove(self, token: int) -> None:
        chip = self._chips.pop(token, None)
        if chip is None:
            return
        had_focus = chip.hasFocus()
        self._flow.removeWidget(chip)
        chip.hide()
        chip.deleteLater()
        if had_focus and self._chips:
            list(self._chips.values())[-1].setFocus()
        self.setVisible(bool(self._chips))
        self.updateGeometry()

    def clear(self) -> None:
        for token in list(self._chips):
            self.remove(token)

    def show_attachments(self, infos: list[AttachmentInfo]) -> None:
        """Show these (ready) attachments, replacing what was shown (a sent message)."""
        self.clear()
        for token, info in enumerate(infos):
            self.add_pending(token, info.name)
            self.set_ready(token, info)

    # ------------------------------------------------------------------ queries
    def ready_ids(self) -> list[int]:
        """The attachment ids of the ready chips, in the order they were added."""
        return [c.state.info.id for c in self._chips.values() if c.state.info is not None]

    def busy(self) -> bool:
        """Whether a chip is still reading its file."""
        return any(c.state.status == "pending" for c in self._chips.values())

    def tokens(self) -> list[int]:
        return list(self._chips)

    def chip(self, token: int) -> AttachmentChip | None:
        return self._chips.get(token)

    def status(self, token: int) -> str | None:
        """ "pending", "ready" or "failed" (None: no such chip)."""
        chip = self._chips.get(token)
        return chip.state.status if chip is not None else None

    def message(self, token: int) -> str:
        chip = self._chips.get(token)
        return chip.state.message if chip is not None else ""

    def info(self, token: int) -> AttachmentInfo | None:
        chip = self._chips.get(token)
        return chip.state.info if chip is not None else None

    def __len__(self) -> int:
        return len(self._chips)

    def _color(self, chip: AttachmentChip) -> None:
        theme = self._theme
        if theme is not None:
            chip.set_colors(theme.muted, theme.error_text, theme.border, theme.accent)
