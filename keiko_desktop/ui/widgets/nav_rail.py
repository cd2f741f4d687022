"""NavRail: the narrow switcher on the far left — Chat, Agents, Tasks, and Settings."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QFrame, QToolButton, QVBoxLayout, QWidget

from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import Theme

PAGES = (("chat", "Chat"), ("agents", "Agents"), ("tasks", "Tasks"))


class NavRail(QFrame):
    """Page buttons; exactly one is checked.

    Signals:
        page_selected(str): the user picked a page (``chat``, ``agents`` or ``tasks``).
        settings_requested(): the user pressed the Settings button.
    """

    page_selected = Signal(str)
    settings_requested = Signal()

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NavRail")
        self.setFixedWidth(56)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 10, 8, 10)
        layout.setSpacing(6)
        for page, label in PAGES:
            button = self._button(label)
            button.setCheckable(True)
            button.setProperty("page", page)
            self._group.addButton(button)
            self.buttons[page] = button
            layout.addWidget(button)
        layout.addStretch(1)
        self.settings_button = self._button("Settings (Ctrl+,)")
        layout.addWidget(self.settings_button)
        self.buttons["chat"].setChecked(True)
        self._group.buttonClicked.connect(self._on_group_button_clicked)
        self.settings_button.clicked.connect(self.settings_requested)
        self.set_theme(theme)

    def _button(self, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setFixedSize(QSize(40, 40))
        button.setIconSize(QSize(20, 20))
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        return button

    def set_theme(self, theme: Theme) -> None:
        for page, button in self.buttons.items():
            button.setIcon(icon(page, theme.text))
        self.settings_button.setIcon(icon("settings", theme.text))

    def set_page(self, page: str) -> None:
        """Check the button for ``page`` without emitting ``page_selected``."""
        self.buttons[page].setChecked(True)

    @property
    def page(self) -> str:
        for page, button in self.buttons.items():
            if button.isChecked():
                return page
        return "chat"

    def _on_group_button_clicked(self, button: QToolButton) -> None:
        self.page_selected.emit(str(button.property("page")))
