"""LiveToolCard: a tool call while it runs, with its server's progress and log lines.

The card is a ``ToolCard`` (``▸ server.tool · running…``, the arguments when expanded) with,
below it, a progress bar (a percentage when the server gives a total, busy otherwise), the
server's latest progress message and its last ``LOG_LINES`` log lines with their level. The
text is the server's, already escaped onto one line and bounded by the core
(``core/tools/live_calls``); the labels are plain text. ``LiveCallsStrip`` holds the cards of
the calls running in the open chat, above the message box.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QProgressBar, QVBoxLayout, QWidget

from keiko_desktop.ui.widgets.tool_card import ToolCard

LOG_LINES = 4
_STEPS = 1000


def _plain_label(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class LiveToolCard(QFrame):
    """One running call: ``set_progress``, ``add_log`` and ``set_ended`` as its server reports."""

    def __init__(
        self, call_id: int, name: str, arguments: dict[str, Any], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LiveToolCard")
        self.call_id = call_id
        self.name = name
        self.card = ToolCard(self)
        self.card.set_call(name, arguments)
        self.card.header.setAccessibleName(f"Tool call {name}, running")
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName(f"Progress of {name}")
        self.progress.setRange(0, 0)  # busy until the server says how far it is
        self.progress.setTextVisible(True)
        self.progress.setMaximumHeight(14)
        self.message = _plain_label(self, f"Latest message from {name}")
        self.log = _plain_label(self, f"Log lines from {name}")
        self.log.setObjectName("MessageMeta")
        self._log_lines: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.card)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.log)

    def set_progress(self, progress: float, total: float | None, message: str) -> None:
        if total is not None and total > 0:
            fraction = max(0.0, min(1.0, progress / total))
            self.progress.setRange(0, _STEPS)
            self.progress.setValue(round(fraction * _STEPS))
            self.progress.setFormat(f"{_number(progress)} of {_number(total)} (%p%)")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(_number(progress))
        if message:
            self.message.setText(message)
            self.message.show()

    def add_log(self, level: str, text: str) -> None:
        self._log_lines = [*self._log_lines, f"[{level}] {text}"][-LOG_LINES:]
        self.log.setText("\n".join(self._log_lines))
        self.log.show()

    def set_ended(self, outcome: str) -> None:
        self.card.set_result("", is_error=outcome != "ok", duration=None, decision="")
        if outcome == "cancelled":
            self.card.header.setText(f"▸ {self.name} · cancelled")
        if self.progress.maximum() == 0:  # a busy bar would go on moving
            self.progress.setRange(0, 1)
            self.progress.setValue(1 if outcome == "ok" else 0)
        self.progress.setFormat(outcome)

    @property
    def log_text(self) -> str:
        return self.log.text()

    @property
    def message_text(self) -> str:
        return self.message.text()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


class LiveCallsStrip(QWidget):
    """The running calls' cards, newest last; hidden while there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LiveToolCalls")
        self.setAccessibleName("Running tool calls")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.cards: dict[int, LiveToolCard] = {}
        self.hide()

    def add_card(self, call_id: int, name: str, arguments: dict[str, Any]) -> LiveToolCard:
        card = self.cards.get(call_id)
        if card is None:
            card = LiveToolCard(call_id, name, arguments, self)
            self.cards[call_id] = card
            self._layout.addWidget(card)
        self.show()
        return card

    def remove_card(self, call_id: int) -> None:
        card = self.cards.pop(call_id, None)
        if card is not None:
            self._layout.removeWidget(card)
            card.deleteLater()
        self.setVisible(bool(self.cards))

    def clear(self) -> None:
        for call_id in list(self.cards):
            self.remove_card(call_id)
