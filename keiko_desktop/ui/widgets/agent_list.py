"""AgentList: the agents (by name) with their icon and status, and the buttons that act on them.

Each row shows the agent's icon, its name and, under it, a coloured status dot, the status word
(inactive, ready, busy, error) and the description. Names and descriptions may come from an
imported file: plain text, escaped. The buttons (New, Edit, Duplicate, Delete, Import, Export)
act on the selected agent; Enter or a double click edits it, Delete asks to delete it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.agents.profiles import ICONS, AgentProfile, AgentStatus
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.agent_row import (
    NAME_ROLE,
    PROFILE_ROLE,
    STATUS_ROLE,
    AgentDelegate,
    AnyIndex,
    status_text,
)


class AgentListModel(QAbstractListModel):
    """The profiles in the order given, each with its (status, detail)."""

    def __init__(self, theme: Theme = LIGHT, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._profiles: list[AgentProfile] = []
        self._status: dict[str, tuple[AgentStatus, str]] = {}
        self.theme = theme

    def set_profiles(
        self,
        profiles: Sequence[AgentProfile],
        statuses: Mapping[str, tuple[AgentStatus, str]] | None = None,
    ) -> None:
        self.beginResetModel()
        self._profiles = list(profiles)
        if statuses is not None:
            self._status = dict(statuses)
        self.endResetModel()

    def set_status(self, name: str, status: AgentStatus, detail: str = "") -> None:
        self._status[name] = (status, detail)
        row = self.row_of(name)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def status_of(self, name: str) -> tuple[AgentStatus, str]:
        return self._status.get(name, ("inactive", ""))

    def profile_at(self, row: int) -> AgentProfile:
        return self._profiles[row]

    def profiles(self) -> list[AgentProfile]:
        return list(self._profiles)

    def row_of(self, name: str) -> int | None:
        for row, profile in enumerate(self._profiles):
            if profile.name == name:
                return row
        return None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._profiles)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._profiles):
            return None
        profile = self._profiles[index.row()]
        status, detail = self.status_of(profile.name)
        if role == Qt.ItemDataRole.DisplayRole:
            return one_line(profile.name, 64)
        if role == Qt.ItemDataRole.DecorationRole:
            name = profile.icon if profile.icon in ICONS else "sparkles"
            return icon(name, self.theme.accent)
        if role in (Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            parts = [one_line(profile.name, 64), status_text(status, detail)]
            if profile.description:
                parts.append(one_line(profile.description, 300))
            return " — ".join(parts)
        if role == NAME_ROLE:
            return profile.name
        if role == PROFILE_ROLE:
            return profile
        if role == STATUS_ROLE:
            return status
        return None


def _button(text: str, tip: str, parent: QWidget) -> QPushButton:
    button = QPushButton(text, parent)
    button.setToolTip(tip)
    button.setAccessibleName(text.replace("&", "").rstrip("…"))
    return button


class AgentList(QWidget):
    """The agents and their buttons. Passive: ``set_profiles`` shows what the presenter found.

    Signals:
        agent_selected(str): the user selected this agent (click or keys).
        new_requested(): New.
        edit_requested(str): Edit…, Enter or a double click on an agent.
        duplicate_requested(str): Duplicate.
        delete_requested(str): Delete (the panel confirms first).
        import_requested(): Import… (the panel asks for the file).
        export_requested(object): Export…: the names to export (an empty tuple: every agent).
    """

    agent_selected = Signal(str)
    new_requested = Signal()
    edit_requested = Signal(str)
    duplicate_requested = Signal(str)
    delete_requested = Signal(str)
    import_requested = Signal()
    export_requested = Signal(object)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AgentList")
        self._restoring = False
        self.title = QLabel("Agents", self)
        self.title.setObjectName("AgentListTitle")
        font = QFont(self.title.font())
        font.setWeight(QFont.Weight.DemiBold)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.model = AgentListModel(theme, self)
        self.delegate = AgentDelegate(theme, self)
        self.view = QListView(self)
        self.view.setObjectName("AgentListView")
        self.view.setAccessibleName("Agents")
        self.view.setToolTip("Your agents; Enter edits the selected one")
        self.view.setModel(self.model)
        self.view.setItemDelegate(self.delegate)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setUniformItemSizes(True)
        self.view.setMouseTracking(True)
        self.view.setFrameShape(QListView.Shape.NoFrame)
        self.view.setStyleSheet(
            "QListView#AgentListView { background: transparent; border: none; }"
        )
        self.empty_label = QLabel("No agents yet.\nPress New to make one.", self)
        self.empty_label.setObjectName("PlaceholderText")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)

        self.new_button = _button("&New", "Make a new agent", self)
        self.edit_button = _button("&Edit…", "Edit the selected agent (Enter)", self)
        self.duplicate_button = _button("Dupli&cate", "Make a copy of the selected agent", self)
        self.delete_button = _button("De&lete", "Delete the selected agent (Delete)", self)
        self.import_button = _button("&Import…", "Add agents from a JSON file", self)
        self.export_button = _button("E&xport…", "Save agents to a JSON file", self)
        self.export_menu = QMenu(self.export_button)
        self.export_selected_action = QAction("Export the selected agent…", self.export_menu)
        self.export_all_action = QAction("Export every agent…", self.export_menu)
        self.export_menu.addAction(self.export_selected_action)
        self.export_menu.addAction(self.export_all_action)
        self.export_button.setMenu(self.export_menu)
        self.edit_action = QAction("Edit", self.view)
        self.edit_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)]
        )
        self.edit_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_action = QAction("Delete", self.view)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.view.addAction(self.edit_action)
        self.view.addAction(self.delete_action)

        buttons = QGridLayout()
        buttons.setHorizontalSpacing(6)
        buttons.setVerticalSpacing(6)
        for i, button in enumerate(
            (
                self.new_button,
                self.edit_button,
                self.duplicate_button,
                self.delete_button,
                self.import_button,
                self.export_button,
            )
        ):
            buttons.addWidget(button, i // 2, i % 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 12, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addLayout(buttons)

        self.view.selectionModel().currentChanged.connect(self._on_selection_current_changed)
        self.view.doubleClicked.connect(self._on_view_double_clicked)
        self.new_button.clicked.connect(self.new_requested)
        self.edit_button.clicked.connect(self._on_edit_button_clicked)
        self.edit_action.triggered.connect(self._on_edit_button_clicked)
        self.duplicate_button.clicked.connect(self._on_duplicate_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.delete_action.triggered.connect(self._on_delete_button_clicked)
        self.import_button.clicked.connect(self.import_requested)
        self.export_selected_action.triggered.connect(self._on_export_selected_action_triggered)
        self.export_all_action.triggered.connect(self._on_export_all_action_triggered)
        self._update()

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.model.theme = theme
        self.delegate.theme = theme
        self.view.viewport().update()

    def set_profiles(
        self,
        profiles: Sequence[AgentProfile],
        statuses: Mapping[str, tuple[AgentStatus, str]] | None = None,
    ) -> None:
        """Show ``profiles``; the selected agent stays selected if it is still there (no
        signal), else the first one is selected (with ``agent_selected``)."""
        keep = self.selected_name
        self._restoring = True
        try:
            self.model.set_profiles(profiles, statuses)
            kept = keep is not None and self._select(keep)
        finally:
            self._restoring = False
        if not kept and self.model.rowCount():
            self._select(self.model.profile_at(0).name)
            self.agent_selected.emit(self.model.profile_at(0).name)
        self._update()

    def set_status(self, name: str, status: AgentStatus, detail: str = "") -> None:
        self.model.set_status(name, status, detail)

    def select_agent(self, name: str) -> bool:
        """Select ``name`` (with ``agent_selected``); False when it is not listed."""
        if not self._select(name):
            return False
        self.agent_selected.emit(name)
        return True

    # ------------------------------------------------------------------ queries
    @property
    def selected_name(self) -> str | None:
        index = self.view.currentIndex()
        if not index.isValid() or not self.view.selectionModel().isSelected(index):
            return None
        return str(index.data(NAME_ROLE))

    @property
    def selected_profile(self) -> AgentProfile | None:
        name = self.selected_name
        row = self.model.row_of(name) if name is not None else None
        return None if row is None else self.model.profile_at(row)

    def names(self) -> list[str]:
        return [p.name for p in self.model.profiles()]

    # ------------------------------------------------------------------ slots
    def _on_selection_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update()
        if self._restoring or not current.isValid():
            return
        self.agent_selected.emit(str(current.data(NAME_ROLE)))

    def _on_view_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.edit_requested.emit(str(index.data(NAME_ROLE)))

    def _on_edit_button_clicked(self) -> None:
        if self.selected_name is not None:
            self.edit_requested.emit(self.selected_name)

    def _on_duplicate_button_clicked(self) -> None:
        if self.selected_name is not None:
            self.duplicate_requested.emit(self.selected_name)

    def _on_delete_button_clicked(self) -> None:
        if self.selected_name is not None:
            self.delete_requested.emit(self.selected_name)

    def _on_export_selected_action_triggered(self) -> None:
        if self.selected_name is not None:
            self.export_requested.emit((self.selected_name,))

    def _on_export_all_action_triggered(self) -> None:
        self.export_requested.emit(())

    # ------------------------------------------------------------------ internals
    def _select(self, name: str) -> bool:
        row = self.model.row_of(name)
        if row is None:
            return False
        index = self.model.index(row)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.view.scrollTo(index)
        return True

    def _update(self) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setVisible(empty)
        self.view.setVisible(not empty)
        selected = self.selected_name is not None
        for widget in (self.edit_button, self.duplicate_button, self.delete_button):
            widget.setEnabled(selected)
        self.export_selected_action.setEnabled(selected)
        self.export_button.setEnabled(not empty)
        shown = one_line(self.selected_name or "", 40)
        self.export_selected_action.setText(
            f"Export “{shown}”…" if selected else "Export the selected agent…"
        )
