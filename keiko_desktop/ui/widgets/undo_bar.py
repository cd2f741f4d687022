"""UndoBar: "Chat deleted. Undo" — a short-lived bar that offers to take an action back."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

UNDO_SECONDS = 10


class UndoBar(QFrame):
    """Shows a message with an Undo button for ``UNDO_SECONDS``.

    Signals:
        undo_requested(object): Undo was pressed; carries the token given to ``show_message``.
    """

    undo_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UndoBar")
        self._token: object = None
        self.label = QLabel(self)
        self.undo_button = QPushButton("Undo", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.undo_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.undo_button.clicked.connect(self._on_undo_button_clicked)
        self.hide()

    @property
    def token(self) -> object:
        return self._token

    def show_message(self, text: str, token: object, seconds: float = UNDO_SECONDS) -> None:
        self._token = token
        self.label.setText(text)
        self.show()
        self._timer.start(int(seconds * 1000))

    def dismiss(self) -> None:
        self._timer.stop()
        self._token = None
        self.hide()

    def _on_timer_timeout(self) -> None:
        self.dismiss()

    def _on_undo_button_clicked(self) -> None:
        token = self._token
        self.dismiss()
        if token is not None:
            self.undo_requested.emit(token)
