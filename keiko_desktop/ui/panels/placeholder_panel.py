"""ComingSoonPanel: a tidy placeholder for pages that are not built yet (Agents, Tasks)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import Theme


class ComingSoonPanel(QWidget):
    """An icon, a title and a sentence about what the page will do."""

    def __init__(
        self, icon_name: str, title: str, text: str, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._icon_name = icon_name
        self.icon_label = QLabel(self)
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label = QLabel(title, self)
        self.title_label.setObjectName("EmptyTitle")
        font = QFont(self.title_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setWeight(QFont.Weight.DemiBold)
        self.title_label.setFont(font)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_label = QLabel(text, self)
        self.text_label.setObjectName("PlaceholderText")
        self.text_label.setWordWrap(True)
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_label.setFixedWidth(440)
        self.text_label.setMinimumHeight(self.text_label.heightForWidth(440))
        self.badge = QLabel("Coming soon", self)
        self.badge.setObjectName("ComingSoonBadge")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.icon_label)
        layout.addSpacing(8)
        layout.addWidget(self.title_label)
        layout.addWidget(self.text_label, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(6)
        layout.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        self.icon_label.setPixmap(
            icon(self._icon_name, theme.faint).pixmap(QSize(40, 40), self.devicePixelRatioF())
        )
