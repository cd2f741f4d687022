"""SamplingDialog: may this MCP server have Keiko's model write? Allow once, always, or deny.

Passive: it shows one ``SamplingRequest`` (the server, its system prompt, read-only, every
message in an editable plain-text box, the token limit in a spin box, the model the server
would prefer, for information: Keiko's own model answers), all as plain text with control
characters escaped, counts down to the automatic deny and emits the person's review: the
answer and the request as they edited it. Closing it, Esc or Enter outside a text box is a deny
(Deny is the default button, so Enter never allows by accident); Tab leaves a text box rather
than typing a tab. Alt+O allows once, Alt+A always, Alt+D denies, Alt+T goes to the token
limit and Alt+1…9 to a message. ``dismiss()`` closes it unanswered (timed out, abandoned).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.core.tools.sampling import (
    MAX_SAMPLING_TOKENS,
    SamplingAnswer,
    SamplingInvalidError,
    SamplingRequest,
    SamplingReview,
)
from keiko_desktop.ui.dialogs.answer_dialog import AnswerDialog, allow_deny_buttons
from keiko_desktop.ui.widgets.heading import heading_label

TITLE = "Keiko — let a server use the model?"


def _label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setText(text)
    return label


class SamplingDialog(AnswerDialog):
    """Asks whether ``request`` may run, and lets the person edit it first.

    Signals:
        answered(object): the ``SamplingReview`` (once); not emitted when dismissed.
    """

    answered = Signal(object)

    def __init__(self, request: SamplingRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setWindowTitle(TITLE)
        self.setMinimumWidth(520)
        server = one_line(request.server, 64)
        self.title = heading_label(self, 1.1)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setText(f"Let {server} use Keiko's model?")
        prefers = (
            f" It would prefer {', '.join(request.model_hints)}; Keiko's own model answers."
            if request.model_hints
            else " Keiko's own model answers."
        )
        self.subtitle = _label(
            f"The MCP server {server} asks Keiko's model to write the next message of the "
            f"conversation below. You can change the messages and the token limit first.{prefers}",
            self,
        )
        body = QWidget(self)
        form = QFormLayout(body)
        self.system_prompt: QPlainTextEdit | None = None
        if request.system_prompt:
            self.system_prompt = QPlainTextEdit(body)
            self.system_prompt.setReadOnly(True)
            self.system_prompt.setTabChangesFocus(True)
            self.system_prompt.setPlainText(printable(request.system_prompt))
            self.system_prompt.setAccessibleName("The server's system prompt")
            self.system_prompt.setMaximumHeight(90)
            form.addRow(_label("Server's instructions:", body), self.system_prompt)
        self.message_edits: list[QPlainTextEdit] = []
        for number, message in enumerate(request.messages, 1):
            edit = QPlainTextEdit(body)
            edit.setTabChangesFocus(True)  # Tab moves on; the text never gets a tab by accident
            edit.setPlainText(printable(message.text))
            edit.setAccessibleName(f"Message {number}, {message.role}")
            edit.setMinimumHeight(60)
            mnemonic = "&" if number <= 9 else ""
            label = QLabel(f"{mnemonic}{number}. {message.role}:", body)
            label.setBuddy(edit)
            form.addRow(label, edit)
            self.message_edits.append(edit)
        self.max_tokens = QSpinBox(body)
        self.max_tokens.setRange(1, MAX_SAMPLING_TOKENS)
        self.max_tokens.setValue(request.max_tokens)
        self.max_tokens.setAccessibleName("Most tokens to write")
        tokens_label = QLabel("Most &tokens:", body)
        tokens_label.setBuddy(self.max_tokens)
        form.addRow(tokens_label, self.max_tokens)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.problem = _label("", self)
        self.problem.setObjectName("errorLabel")
        self.problem.hide()
        buttons = allow_deny_buttons(self, "&Always for this server")
        self.allow_once_button = buttons.allow_once
        self.allow_once_button.setAccessibleName("Allow this request once")
        self.always_button = buttons.always
        self.always_button.setAccessibleName(f"Always allow {server} to use the model")
        self.deny_button = buttons.deny
        self.deny_button.setAccessibleName("Deny this request")
        for button in (self.allow_once_button, self.always_button):
            button.setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.countdown)
        layout.addWidget(buttons.box)
        self.allow_once_button.clicked.connect(self._on_allow_once_button_clicked)
        self.always_button.clicked.connect(self._on_always_button_clicked)
        self.deny_button.clicked.connect(self._on_deny_button_clicked)
        self._start_countdown(request.remaining, "denied")
        if self.message_edits:
            self.message_edits[-1].setFocus()

    def edited_request(self) -> SamplingRequest:
        """The request with the person's texts and token limit (``SamplingInvalidError`` when
        over the bounds). A text the person did not touch keeps the server's exact text, not
        its escaped display."""
        texts = []
        for message, edit in zip(self.request.messages, self.message_edits, strict=True):
            shown = edit.toPlainText()
            texts.append(message.text if shown == printable(message.text) else shown)
        return self.request.edited(texts, self.max_tokens.value())

    # ------------------------------------------------------------------ answering
    def answer(self, answer: SamplingAnswer) -> None:
        """Emit the review with ``answer`` (if nothing was answered yet) and close; an edit
        over the bounds is shown and nothing is answered."""
        request = self.request
        if answer is not SamplingAnswer.DENY:
            try:
                request = self.edited_request()
            except SamplingInvalidError as exc:
                self.problem.setText(f"Not allowed as it is: {exc.message}.")
                self.problem.show()
                return
        self._settle(SamplingReview(answer, request), answer is not SamplingAnswer.DENY)

    def _closed_answer(self) -> object:
        return SamplingReview(SamplingAnswer.DENY, self.request)

    def _on_allow_once_button_clicked(self) -> None:
        self.answer(SamplingAnswer.ALLOW_ONCE)

    def _on_always_button_clicked(self) -> None:
        self.answer(SamplingAnswer.ALWAYS_ALLOW)

    def _on_deny_button_clicked(self) -> None:
        self.answer(SamplingAnswer.DENY)

    def reject(self) -> None:  # Esc
        self.answer(SamplingAnswer.DENY)
