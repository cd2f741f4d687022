"""ToolCard: one tool call in a chat, collapsed to a line, expandable to its details.

The header reads ``▸ server.tool · 0.42 s · ok``; expanded, the card shows the arguments, the
result (or the error) and the decision that let it run or stopped it.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFrame, QLabel, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from keiko_desktop.core.safe_text import printable

_RESULT_PREVIEW_CHARS = 20_000


class ToolCard(QFrame):
    """A collapsible card for one tool call.

    Signals:
        toggled(bool): the card was expanded (True) or collapsed (False) by the user.
    """

    toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ToolCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._name = ""
        self._status = "running…"
        self._duration: float | None = None
        self.header = QToolButton(self)
        self.header.setCheckable(True)
        self.header.setAutoRaise(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.body = QWidget(self)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.arguments = QPlainTextEdit(self.body)
        self.arguments.setReadOnly(True)
        self.arguments.setFont(fixed)
        self.arguments.setMaximumHeight(120)
        self.result_label = QLabel("Result", self.body)
        self.result = QPlainTextEdit(self.body)
        self.result.setReadOnly(True)
        self.result.setFont(fixed)
        self.result.setMaximumHeight(220)
        self.decision = QLabel(self.body)
        body_layout = QVBoxLayout(self.body)
        body_layout.setContentsMargins(8, 0, 8, 8)
        body_layout.addWidget(QLabel("Arguments", self.body))
        body_layout.addWidget(self.arguments)
        body_layout.addWidget(self.result_label)
        body_layout.addWidget(self.result)
        body_layout.addWidget(self.decision)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.body.setVisible(False)
        self.header.toggled.connect(self._on_header_toggled)
        self._render_header()

    # ------------------------------------------------------------------ setters
    def set_call(self, name: str, arguments: dict[str, Any]) -> None:
        """The tool (``server.tool``) and its redacted arguments; the result is pending."""
        self._name = name
        self._status = "running…"
        self._duration = None
        self.arguments.setPlainText(json.dumps(arguments, indent=2, ensure_ascii=False) or "{}")
        self.result.setPlainText("")
        self.decision.setText("")
        self._render_header()

    def set_result(
        self,
        text: str,
        *,
        is_error: bool,
        duration: float | None,
        decision: str = "auto",
    ) -> None:
        self._duration = duration
        self._status = "error" if is_error else "ok"
        self.result_label.setText("Error" if is_error else "Result")
        shown = text[:_RESULT_PREVIEW_CHARS]
        if len(text) > _RESULT_PREVIEW_CHARS:
            shown += f"\n[{len(text) - _RESULT_PREVIEW_CHARS} more characters not shown]"
        self.result.setPlainText(printable(shown))
        self.decision.setText(_DECISIONS.get(decision, decision))
        self._render_header()

    def set_expanded(self, expanded: bool) -> None:
        self.header.setChecked(expanded)

    @property
    def expanded(self) -> bool:
        return self.body.isVisibleTo(self)

    @property
    def header_text(self) -> str:
        return self.header.text()

    def _render_header(self) -> None:
        arrow = "▾" if self.header.isChecked() else "▸"
        parts = [f"{arrow} {self._name or 'tool'}"]
        if self._duration is not None:
            parts.append(f"{self._duration:.2f} s")
        parts.append(self._status)
        self.header.setText(" · ".join(parts))

    def _on_header_toggled(self, checked: bool) -> None:
        self.body.setVisible(checked)
        self._render_header()
        self.toggled.emit(checked)


_DECISIONS = {
    "auto": "Ran automatically (policy: Always).",
    "approved": "Ran with your approval.",
    "denied": "Not run: you denied it.",
    "timed_out": "Not run: nobody approved it in time.",
    "blocked": "Not run: its policy is Never.",
    "not_allowed": "Not run: the agent may not use this tool.",
    "cached": "Answered from the same call earlier in this run.",
    "invalid": "Not run: the arguments did not fit the tool.",
    "unusable": "Not run: the tool's input schema is broken.",
    "error": "Not run: the call failed before it could be approved.",
}
