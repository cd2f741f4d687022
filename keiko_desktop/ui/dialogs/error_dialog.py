"""ErrorDialog: an unexpected error in plain words, its details one click from the clipboard."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.ui.widgets.heading import heading_label


class ErrorDialog(QDialog):
    """Says that something failed, that Keiko kept running, and where the log is.

    Signals:
        (QDialog's own.)
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keiko — something went wrong")
        self.setMinimumWidth(520)
        self.title = heading_label(self, 1.15)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumHeight(160)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("Copy details", self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)

    def set_error(self, title: str, text: str, details: str) -> None:
        self.title.setText(title)
        self.text.setText(text)
        self.details.setPlainText(details)

    def append_details(self, details: str) -> None:
        self.details.appendPlainText("\n" + details)

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())
        self.copy_button.setText("Copied")
