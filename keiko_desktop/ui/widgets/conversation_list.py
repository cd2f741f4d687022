"""ConversationList: the sidebar of chats — pinned first, then newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.ports import Conversation
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import Theme
from keiko_desktop.ui.widgets.undo_bar import UndoBar

ID_ROLE = Qt.ItemDataRole.UserRole
PINNED_ROLE = Qt.ItemDataRole.UserRole + 1
UNTITLED = "New chat"


def ordered(conversations: Sequence[Conversation]) -> list[Conversation]:
    """Pinned first; within each group, the most recently updated first."""
    return sorted(conversations, key=lambda c: (not c.pinned, -c.updated_at.timestamp(), -c.id))


def group_label(conversation: Conversation, today: date | None = None) -> str:
    """The sidebar section a conversation belongs to."""
    if conversation.pinned:
        return "Pinned"
    today = today or date.today()
    updated = conversation.updated_at
    if updated.tzinfo is not None:
        updated = updated.astimezone()
    age = (today - updated.date()).days
    if age <= 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    if age < 7:
        return "Previous 7 days"
    if age < 30:
        return "Previous 30 days"
    return "Older"


class ConversationList(QFrame):
    """The sidebar.

    Signals:
        conversation_selected(int): the user opened a conversation.
        new_requested(): the user wants a new chat.
        search_requested(): the user wants to search every chat.
        rename_requested(int, str): the user renamed a conversation.
        delete_requested(int): the user deleted a conversation.
        pin_requested(int, bool): the user pinned (True) or unpinned a conversation.
        undo_requested(object): the user pressed Undo on the undo bar (its token).
    """

    conversation_selected = Signal(int)
    new_requested = Signal()
    search_requested = Signal()
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)
    pin_requested = Signal(int, bool)
    undo_requested = Signal(object)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self._theme = theme
        self._updating = False
        self._current: int | None = None

        self.new_button = QPushButton("New chat", self)
        self.new_button.setObjectName("SidebarButton")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.search_button = QPushButton("Search chats", self)
        self.search_button.setObjectName("SidebarButton")
        self.search_button.setToolTip("Search every chat (Ctrl+K)")
        for button in (self.new_button, self.search_button):
            button.setIconSize(QSize(16, 16))
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.list = QListWidget(self)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setIconSize(QSize(13, 13))
        self.list.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        self.empty_label = QLabel("No chats yet.\nStart one on the right.", self)
        self.empty_label.setObjectName("PlaceholderText")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.undo_bar = UndoBar(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 10, 8, 8)
        layout.setSpacing(2)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search_button)
        layout.addSpacing(8)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.undo_bar)

        delete_action = QAction("Delete", self.list)
        delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete_action.triggered.connect(self._on_delete_action_triggered)
        self.list.addAction(delete_action)

        self.new_button.clicked.connect(self.new_requested)
        self.search_button.clicked.connect(self.search_requested)
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        self.list.itemChanged.connect(self._on_list_item_changed)
        self.list.customContextMenuRequested.connect(self._on_list_custom_context_menu_requested)
        self.undo_bar.undo_requested.connect(self.undo_requested)
        self.set_theme(theme)
        self.set_conversations([])

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.new_button.setIcon(icon("new-chat", theme.text))
        self.search_button.setIcon(icon("search", theme.text))

    def set_conversations(self, conversations: Sequence[Conversation]) -> None:
        """Show ``conversations`` in the given order, keeping the selection.

        The rows are rewritten in place, and the list only grows or shrinks at its end: a
        reload (one per reply, one per title) neither deletes nor makes every item again.
        Rebuilding the whole list on every reload crashed PySide6 6.11 once in a while
        while a worker thread was handing a result to the loop (a SIGSEGV inside
        ``QListWidget.clear``, seen in the e2e tests).
        """
        today = date.today()
        rows: list[tuple[str, int | None, bool]] = []
        section = ""
        for c in conversations:
            label = group_label(c, today)
            if label != section:
                section = label
                rows.append((label, None, False))
            rows.append((c.title or UNTITLED, c.id, c.pinned))
        self._updating = True
        try:
            while self.list.count() > len(rows):
                self.list.takeItem(self.list.count() - 1)
            while self.list.count() < len(rows):
                self.list.addItem("")  # made by Qt: a plain C++ item the list owns
            for row, (text, conversation_id, pinned) in enumerate(rows):
                self._show_row(self.list.item(row), text, conversation_id, pinned)
            self._select_current()
        finally:
            self._updating = False
        self.list.setVisible(bool(conversations))
        self.empty_label.setVisible(not conversations)

    def select(self, conversation_id: int | None) -> None:
        """Highlight a conversation (None: nothing, as for a new chat). Emits nothing."""
        self._current = conversation_id
        self._updating = True
        try:
            self._select_current()
        finally:
            self._updating = False

    def begin_rename(self, conversation_id: int) -> None:
        item = self._item(conversation_id)
        if item is not None:
            self.list.editItem(item)

    def show_undo(self, text: str, token: object) -> None:
        self.undo_bar.show_message(text, token)

    # ------------------------------------------------------------------ queries
    def conversation_ids(self) -> list[int]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return [int(item.data(ID_ROLE)) for item in items if item.data(ID_ROLE) is not None]

    def title_of(self, conversation_id: int) -> str:
        item = self._item(conversation_id)
        return item.text() if item is not None else ""

    # ------------------------------------------------------------------ internals
    def _show_row(
        self, item: QListWidgetItem, text: str, conversation_id: int | None, pinned: bool
    ) -> None:
        """Make ``item`` a conversation's row, or a section header when it has no id."""
        if item.text() != text:
            item.setText(text)
        if item.data(ID_ROLE) != conversation_id:
            item.setData(ID_ROLE, conversation_id)
        if item.data(PINNED_ROLE) != pinned:
            item.setData(PINNED_ROLE, pinned)
        if conversation_id is None:
            flags, font, tip = Qt.ItemFlag.NoItemFlags, self._header_font(), ""
        else:
            flags = (
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsEditable
            )
            font, tip = self.list.font(), text
        if item.flags() != flags:
            item.setFlags(flags)
        if item.font() != font:
            item.setFont(font)
        if item.toolTip() != tip:
            item.setToolTip(tip)

    def _header_font(self) -> QFont:
        font = QFont(self.list.font())
        font.setPointSizeF(font.pointSizeF() * 0.85)
        font.setWeight(QFont.Weight.DemiBold)
        return font

    def _item(self, conversation_id: int) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(ID_ROLE) == conversation_id:
                return item
        return None

    def _select_current(self) -> None:
        item = self._item(self._current) if self._current is not None else None
        if item is None:
            self.list.setCurrentRow(-1)
            self.list.clearSelection()
        else:
            self.list.setCurrentItem(item)

    def _on_list_current_item_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        if self._updating or current is None or current.data(ID_ROLE) is None:
            return
        conversation_id = int(current.data(ID_ROLE))
        if conversation_id != self._current:
            self._current = conversation_id
            self.conversation_selected.emit(conversation_id)

    def _on_list_item_changed(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        title = item.text().strip()
        conversation_id = int(item.data(ID_ROLE))
        if title and title != item.toolTip():
            item.setToolTip(title)
            self.rename_requested.emit(conversation_id, title)

    def _on_delete_action_triggered(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.delete_requested.emit(int(item.data(ID_ROLE)))

    def _on_list_custom_context_menu_requested(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(ID_ROLE) is None:
            return
        conversation_id = int(item.data(ID_ROLE))
        pinned = bool(item.data(PINNED_ROLE))
        menu = QMenu(self)
        menu.addAction(icon("edit", self._theme.muted), "Rename", lambda: self.list.editItem(item))
        menu.addAction(
            icon("pin", self._theme.muted),
            "Unpin" if pinned else "Pin",
            lambda: self.pin_requested.emit(conversation_id, not pinned),
        )
        menu.addSeparator()
        menu.addAction(
            icon("delete", self._theme.muted),
            "Delete",
            lambda: self.delete_requested.emit(conversation_id),
        )
        menu.popup(self.list.viewport().mapToGlobal(pos))
