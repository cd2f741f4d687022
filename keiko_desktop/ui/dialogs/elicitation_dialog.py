"""ElicitationDialog: a server asks the user for input in the middle of a tool call.

Passive: it shows one ``ElicitationRequest``: which server asks (in the title, so the user
knows who wants the data), its message, and either the form built from the requested schema
(``elicitation_fields``), a link to open in the browser (URL mode: the host on its own line,
the whole link read-only), or why Keiko cannot show what was asked (then only Decline and
Cancel). Accept checks the form first and shows each problem under its field, without
closing. All server text is plain text, escaped by the core. Keys: Alt+A (or Enter) accepts
a form, Alt+B opens a link (Enter never does), Alt+D declines, Esc or Alt+C cancels; closing
it is a cancel. ``dismiss()`` closes
it unanswered (the question timed out, or the call was stopped).
``presenters.elicitation_presenter.ElicitationPresenter`` opens one per question.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.elicitation import ElicitAnswer, ElicitationRequest
from keiko_desktop.ui.dialogs.answer_dialog import AnswerDialog
from keiko_desktop.ui.dialogs.elicitation_fields import FieldEditor, build_editor
from keiko_desktop.ui.widgets.heading import heading_label
from keiko_desktop.ui.widgets.mnemonics import with_mnemonic

ERROR_STYLE = "color: palette(highlight); font-weight: 600;"


class ElicitationDialog(AnswerDialog):
    """Asks the user what ``request`` wants.

    Signals:
        answered(object): the user's ``ElicitAnswer`` (once); not emitted when dismissed.
    """

    answered = Signal(object)

    def __init__(self, request: ElicitationRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        server = one_line(request.server, 100)
        self.setWindowTitle(f"Keiko — {server} asks for input")
        self.setMinimumWidth(520)
        self.title = heading_label(self, 1.1)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setText(f"The MCP server “{server}” asks:")
        self.message = _plain_label(self, request.message)
        self.message.setAccessibleName("What the server asks")
        self.editors: list[FieldEditor] = []
        self.errors: dict[str, QLabel] = {}
        self.problem = _plain_label(self, request.problem)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setVisible(bool(request.problem))
        self.link: QLineEdit | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(self.problem)
        if not request.problem and request.mode == "url":
            layout.addWidget(self._link_rows())
        elif not request.problem and request.form is not None:
            layout.addWidget(self._form_rows(), 1)
        layout.addWidget(self.countdown)
        layout.addWidget(self._buttons())
        self._start_countdown(request.remaining, "cancelled")
        if self.editors:
            self.editors[0].widget.setFocus()

    # ------------------------------------------------------------------ building
    def _link_rows(self) -> QWidget:
        box = QWidget(self)
        rows = QVBoxLayout(box)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addWidget(_plain_label(box, f"It wants you to open a page on {self.request.host}:"))
        self.link = QLineEdit(self.request.shown_url, box)
        self.link.setReadOnly(True)
        self.link.setAccessibleName("The link it wants you to open")
        rows.addWidget(self.link)
        rows.addWidget(_plain_label(box, "It opens in your browser. Keiko never opens it unasked."))
        return box

    def _form_rows(self) -> QWidget:
        assert self.request.form is not None
        inner = QWidget(self)
        rows = QFormLayout(inner)
        taken = {"a", "b", "c", "d"}  # the buttons' letters
        for field in self.request.form.fields:
            editor = build_editor(field, inner)
            self.editors.append(editor)
            error = _plain_label(inner, "")
            error.setStyleSheet(ERROR_STYLE)
            error.setVisible(False)
            error.setAccessibleName(f"Problem with {field.label}")
            self.errors[field.name] = error
            cell = QWidget(inner)
            column = QVBoxLayout(cell)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(editor.widget)
            if field.description:
                hint = _plain_label(cell, field.description)
                hint.setEnabled(False)  # drawn dimmer: the server's help text
                column.addWidget(hint)
            column.addWidget(error)
            text = with_mnemonic(field.label.replace("&", "&&"), taken)  # Alt+letter, if free
            if isinstance(editor.widget, QCheckBox):
                editor.widget.setText(text)
                rows.addRow(QLabel(inner), cell)
                continue
            label = _plain_label(inner, text + (" *" if field.required else ""))
            label.setWordWrap(False)
            label.setBuddy(editor.widget)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            rows.addRow(label, cell)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setAccessibleName("The form")
        scroll.setMinimumHeight(min(420, inner.sizeHint().height() + 8))
        return scroll

    def _buttons(self) -> QDialogButtonBox:
        url = self.request.mode == "url"
        self.accept_button = QPushButton("Open in &browser" if url else "&Accept", self)
        self.accept_button.setAccessibleName("Open the link" if url else "Accept and send")
        self.decline_button = QPushButton("&Decline", self)
        self.decline_button.setAccessibleName("Decline")
        self.cancel_button = QPushButton("&Cancel", self)
        self.cancel_button.setAccessibleName("Cancel")
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.accept_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.decline_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        for button in (self.accept_button, self.decline_button, self.cancel_button):
            button.setAutoDefault(False)
        self.accept_button.setVisible(not self.request.problem)
        # Enter accepts a form; it never opens a link, nor accepts what cannot be shown.
        form = not self.request.problem and not url
        (self.accept_button if form else self.decline_button).setDefault(True)
        self.accept_button.clicked.connect(self._on_accept_button_clicked)
        self.decline_button.clicked.connect(self._on_decline_button_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        return buttons

    # ------------------------------------------------------------------ answering
    def values(self) -> dict[str, Any]:
        """What the form holds now (unanswered fields left out)."""
        found = {e.field.name: e.value() for e in self.editors}
        return {name: value for name, value in found.items() if value is not None}

    def show_problems(self) -> bool:
        """Show each field's problem under it; True when there is none."""
        form = self.request.form
        if form is None:
            return True
        problems = form.problems(form.complete(self.values()))
        for name, label in self.errors.items():
            label.setText(problems.get(name, ""))
            label.setVisible(name in problems)
        first = next((e for e in self.editors if e.field.name in problems), None)
        if first is not None:
            first.widget.setFocus()
        return not problems

    def answer(self, answer: ElicitAnswer) -> None:
        """Emit ``answer`` (if nothing was answered yet) and close."""
        self._settle(answer, answer.action == "accept")

    def _closed_answer(self) -> object:
        return ElicitAnswer.cancel()

    def _on_accept_button_clicked(self) -> None:
        if self.request.problem:
            return
        if self.request.mode == "url":
            self.answer(ElicitAnswer.accept())
        elif self.show_problems():
            assert self.request.form is not None
            self.answer(ElicitAnswer.accept(self.request.form.complete(self.values())))

    def _on_decline_button_clicked(self) -> None:
        self.answer(ElicitAnswer.decline())

    def _on_cancel_button_clicked(self) -> None:
        self.answer(ElicitAnswer.cancel())

    def accept(self) -> None:  # Enter on the default button goes through its click
        self._on_accept_button_clicked()

    def reject(self) -> None:  # Esc
        self.answer(ElicitAnswer.cancel())


def _plain_label(parent: QWidget, text: str) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setText(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
