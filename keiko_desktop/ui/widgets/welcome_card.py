"""WelcomeCard: what a person sees on the first start, on the empty chat, until "Got it".

It says what runs on this computer and where their data lives, and offers to open that
folder. Nothing in it is a model's or a server's text: the paths are the app's own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


def welcome_lines(data_dir: Path, config_dir: Path) -> list[str]:
    """The card's points, in plain text (shown as such)."""
    return [
        "Everything runs on this computer: the language model, speech recognition and the "
        "spoken replies. No network is needed.",
        "Nothing leaves it unless you add a server yourself (Settings › Endpoints, or a "
        "remote MCP tool).",
        f"Your chats, agents and tasks: {data_dir}. Your settings: {config_dir}. "
        "API keys: the system keychain, never a file.",
    ]


class WelcomeCard(QFrame):
    """The first-run welcome. Signals: ``dismissed()`` when the person pressed Got it."""

    dismissed = Signal()

    def __init__(self, data_dir: Path, config_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WelcomeCard")
        self.setAccessibleName("Welcome to Keiko")
        self.data_dir = data_dir
        heading = QLabel("Welcome to Keiko", self)
        heading.setObjectName("WelcomeHeading")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(8)
        layout.addWidget(heading)
        self.points: list[QLabel] = []
        for line in welcome_lines(data_dir, config_dir):
            point = QLabel(f"•  {line}", self)
            point.setTextFormat(Qt.TextFormat.PlainText)
            point.setWordWrap(True)
            point.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.points.append(point)
            layout.addWidget(point)
        self.open_button = QPushButton("&Open data folder", self)
        self.open_button.setAccessibleName("Open data folder")
        self.open_button.setToolTip(str(data_dir))
        self.got_it_button = QPushButton("&Got it", self)
        self.got_it_button.setAccessibleName("Got it: hide this welcome")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.got_it_button)
        layout.addLayout(buttons)
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.got_it_button.clicked.connect(self._on_got_it_button_clicked)

    def _on_open_button_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.data_dir)))

    def _on_got_it_button_clicked(self) -> None:
        self.hide()
        self.dismissed.emit()
