"""The task dialog's parameter editors, one per ``Param`` of a kind, made from its declaration.

Type -> editor: text (a line, or a box when ``multiline``), int and float (spin boxes within
the declared bounds), bool (a check box), choice (a combo of the allowed values), path and
folder (a line with Browse…), json (a monospaced box), time (HH:MM). Each editor comes with a
label (a free Alt key where one is left), its help as tooltip and accessible description, and
an error line under it that ``show_error`` fills when ``TaskKinds.check`` names the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QTime, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QWidget,
)

from keiko_desktop.core.tasks.kinds import Param

INT_LIMIT = 2**31 - 1
FLOAT_LIMIT = 1e12


def mnemonic(text: str, taken: set[str]) -> str:
    """``text`` with an ``&`` before its first letter not in ``taken`` (which it joins); as
    it is when every letter is taken."""
    for i, char in enumerate(text):
        if char.isalpha() and char.lower() not in taken:
            taken.add(char.lower())
            return f"{text[:i]}&{text[i:]}"
    return text.replace("&", "&&")


class PathField(QWidget):
    """A path line with a Browse… button (the dialog opens the file chooser).

    Signals:
        browse_requested(): Browse… was pressed.
    """

    browse_requested = Signal()

    def __init__(self, folder: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.line = QLineEdit(self)
        self.line.setPlaceholderText("/home/you/Documents" if folder else "/home/you/notes.txt")
        self.browse = QPushButton("Browse…", self)
        self.browse.setToolTip("Choose a folder" if folder else "Choose a file")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.browse)
        self.setFocusProxy(self.line)
        self.browse.clicked.connect(self.browse_requested)


@dataclass
class ParamEditor:
    """One parameter's label, editor, value and error line."""

    param: Param
    label: QLabel
    widget: QWidget
    error: QLabel
    get: Callable[[], Any]
    put: Callable[[Any], None]

    @property
    def focus_target(self) -> QWidget:
        return self.widget.focusProxy() or self.widget


def make_editors(params: Iterable[Param], parent: QWidget, taken: set[str]) -> list[ParamEditor]:
    return [make_editor(p, parent, taken) for p in params]


def make_editor(param: Param, parent: QWidget, taken: set[str]) -> ParamEditor:
    widget, get, put = _editor(param, parent)
    text = param.label + ("" if param.required and param.default is None else " (optional)")
    label = QLabel(mnemonic(text, taken), parent)
    label.setBuddy(widget.focusProxy() or widget)
    for target in {widget, widget.focusProxy() or widget}:
        target.setAccessibleName(param.label)
        if param.help:
            target.setToolTip(param.help)
            target.setAccessibleDescription(param.help)
    if isinstance(widget, PathField):
        widget.browse.setAccessibleName(f"Browse for the {param.label.lower()}")
    error = QLabel(parent)
    error.setObjectName("ErrorText")
    error.setWordWrap(True)
    error.hide()
    if param.default is not None:
        put(param.default)
    return ParamEditor(param, label, widget, error, get, put)


def _editor(
    param: Param, parent: QWidget
) -> tuple[QWidget, Callable[[], Any], Callable[[Any], None]]:
    kind = param.type
    if kind == "int":
        spin = QSpinBox(parent)
        spin.setRange(_bound(param.minimum, -INT_LIMIT), _bound(param.maximum, INT_LIMIT))
        spin.setAccelerated(True)
        spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        return spin, spin.value, lambda v: spin.setValue(int(v))
    if kind == "float":
        box = QDoubleSpinBox(parent)
        box.setDecimals(2)
        low = param.minimum if param.minimum is not None else -FLOAT_LIMIT
        high = param.maximum if param.maximum is not None else FLOAT_LIMIT
        box.setRange(low, high)
        box.setAccelerated(True)
        return box, box.value, lambda v: box.setValue(float(v))
    if kind == "bool":
        check = QCheckBox(parent)
        return check, check.isChecked, lambda v: check.setChecked(bool(v))
    if kind == "choice":
        combo = QComboBox(parent)
        for choice in param.choices:
            combo.addItem(choice, choice)

        def put_choice(value: Any) -> None:
            combo.setCurrentIndex(max(0, combo.findData(value)))

        return combo, lambda: combo.currentData(), put_choice
    if kind in ("path", "folder"):
        field = PathField(kind == "folder", parent)
        field.line.setMaxLength(min(param.max_length, 4096))
        return field, lambda: field.line.text().strip(), lambda v: field.line.setText(str(v))
    if kind == "json":
        box_json = QPlainTextEdit(parent)
        box_json.setTabChangesFocus(True)
        box_json.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        box_json.setPlaceholderText('{"key": "value"}')
        box_json.setFixedHeight(90)

        def put_json(value: Any) -> None:
            box_json.setPlainText(value if isinstance(value, str) else json.dumps(value))

        return box_json, box_json.toPlainText, put_json
    if kind == "time":
        clock = QTimeEdit(parent)
        clock.setDisplayFormat("HH:mm")

        def put_time(value: Any) -> None:
            parsed = QTime.fromString(str(value), "HH:mm")
            if parsed.isValid():
                clock.setTime(parsed)

        return clock, lambda: clock.time().toString("HH:mm"), put_time
    if param.multiline:
        text = QPlainTextEdit(parent)
        text.setTabChangesFocus(True)
        text.setFixedHeight(96)
        return text, text.toPlainText, lambda v: text.setPlainText(str(v))
    line = QLineEdit(parent)
    line.setMaxLength(min(param.max_length, 32767))
    return line, line.text, lambda v: line.setText(str(v))


def _bound(value: float | None, fallback: int) -> int:
    if value is None:
        return fallback
    return int(max(-INT_LIMIT, min(INT_LIMIT, value)))
