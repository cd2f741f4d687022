"""A yes-or-cancel question in a window-modal box (Cancel is the default: Enter never says yes
by accident), opened at once; ``done`` gets the button's value."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget


def question_box(
    parent: QWidget, title: str, text: str, yes: str, done: Callable[[int], None]
) -> QMessageBox:
    box = QMessageBox(
        QMessageBox.Icon.Question,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Yes).setText(yes)
    box.finished.connect(done)
    box.open()
    return box
