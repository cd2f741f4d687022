"""The editors of an elicitation form, one per ``FormField`` kind, each with ``value()``.

Text is a line edit (its length capped, a placeholder saying the format), integers and
numbers are spin boxes over the field's range, booleans check boxes, a choice a combo box of
the titles (the value sent is the ``const``), a multiple choice a list of check boxes. Each
starts at the server's default. A field that is optional and has no default can stay
unanswered: a spin box then starts at a blank "not set" step below its range, a combo box
with its placeholder. Every editor has the field's label as its accessible name and its
description as accessible description and tooltip; all text is the server's and is shown
plain (the labels are plain-text ``QLabel``s; the titles were escaped by the core).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QWidget,
)

from keiko_desktop.core.tools.elicitation_form import MAX_STRING, FormField

INT_MIN, INT_MAX = -(2**31) + 1, 2**31 - 1
FLOAT_LIMIT = 1e12
PLACEHOLDERS = {
    "email": "name@example.com",
    "uri": "https://…",
    "date": "YYYY-MM-DD",
    "date-time": "YYYY-MM-DDTHH:MM:SS",
}
UNSET = "(not set)"


class FieldEditor:
    """One field's editor widget and how to read it (None: left unanswered)."""

    def __init__(self, field: FormField, widget: QWidget) -> None:
        self.field = field
        self.widget = widget
        widget.setAccessibleName(field.label)
        if field.description:
            widget.setAccessibleDescription(field.description)
            widget.setToolTip(field.description)

    def value(self) -> Any:
        w = self.widget
        kind = self.field.kind
        if isinstance(w, QLineEdit):
            return w.text()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QSpinBox | QDoubleSpinBox):
            if w.specialValueText() and w.value() == w.minimum():
                return None
            return int(w.value()) if kind == "integer" else float(w.value())
        if isinstance(w, QComboBox):
            return w.currentData() if w.currentIndex() >= 0 else None
        if isinstance(w, QListWidget):
            return [
                w.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(w.count())
                if w.item(i).checkState() == Qt.CheckState.Checked
            ]
        raise TypeError(type(w))


def build_editor(field: FormField, parent: QWidget) -> FieldEditor:
    """The editor for ``field``, set to its default."""
    kind = field.kind
    widget: QWidget
    if kind == "boolean":
        box = QCheckBox(field.label.replace("&", "&&"), parent)  # no stray mnemonic
        box.setChecked(field.default is True)
        widget = box
    elif kind == "integer":
        widget = _int_box(field, parent)
    elif kind == "number":
        widget = _float_box(field, parent)
    elif kind == "choice":
        combo = QComboBox(parent)
        for choice in field.choices:
            combo.addItem(choice.title, choice.value)
        combo.setPlaceholderText("Choose…")
        combo.setCurrentIndex(combo.findData(field.default) if field.default is not None else -1)
        widget = combo
    elif kind == "multi":
        widget = _checklist(field, parent)
    else:
        edit = QLineEdit(parent)
        limit = field.max_length if field.max_length is not None else MAX_STRING
        edit.setMaxLength(min(limit, MAX_STRING))
        edit.setPlaceholderText(PLACEHOLDERS.get(field.format or "", ""))
        edit.setText(field.default if isinstance(field.default, str) else "")
        widget = edit
    return FieldEditor(field, widget)


def _int_box(field: FormField, parent: QWidget) -> QSpinBox:
    box = QSpinBox(parent)
    low = int(field.minimum) if field.minimum is not None else INT_MIN
    high = int(field.maximum) if field.maximum is not None else INT_MAX
    box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.UpDownArrows)
    unset = field.default is None and not field.required
    box.setRange(max(INT_MIN - 1, low - 1) if unset else low, high)
    if unset:
        box.setSpecialValueText(UNSET)
    if isinstance(field.default, int | float):
        box.setValue(int(field.default))
    else:  # blank when it may stay unset, else the value nearest 0
        box.setValue(box.minimum() if unset else min(max(0, low), high))
    return box


def _float_box(field: FormField, parent: QWidget) -> QDoubleSpinBox:
    box = QDoubleSpinBox(parent)
    box.setDecimals(4)
    low = float(field.minimum) if field.minimum is not None else -FLOAT_LIMIT
    high = float(field.maximum) if field.maximum is not None else FLOAT_LIMIT
    unset = field.default is None and not field.required
    box.setRange(low - 1 if unset else low, high)
    if unset:
        box.setSpecialValueText(UNSET)
    if isinstance(field.default, int | float):
        box.setValue(float(field.default))
    else:
        box.setValue(box.minimum() if unset else min(max(0.0, low), high))
    return box


def _checklist(field: FormField, parent: QWidget) -> QListWidget:
    chosen = set(field.default) if isinstance(field.default, list) else set()
    widget = QListWidget(parent)
    for choice in field.choices:
        item = QListWidgetItem(choice.title, widget)
        item.setData(Qt.ItemDataRole.UserRole, choice.value)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        checked = choice.value in chosen
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
    widget.setCurrentRow(0)
    rows = min(len(field.choices), 5)
    widget.setFixedHeight(widget.sizeHintForRow(0) * rows + 2 * widget.frameWidth() + 4)
    return widget
