"""Settings > Endpoints: the remote OpenAI-compatible servers, their state, Add/Edit/Remove/Test.

``EndpointsPage`` is passive: ``set_endpoints`` lists them (name, state, model count, URL and
the detail of the last check), ``update_status`` follows ``EndpointStatusChanged``; the buttons
emit what the user wants and ``presenters.endpoints_presenter.EndpointsPresenter`` does it.
Remove asks first. Everything a server said is shown escaped, one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.endpoints import Endpoint, EndpointStatus
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.dialogs.model_choices import state_text
from keiko_desktop.ui.dialogs.question import question_box
from keiko_desktop.ui.widgets.notice import notice_label

COLUMNS = ("Name", "State", "Models", "Base URL", "Details")
NAME, STATE, MODELS, URL, DETAIL = range(len(COLUMNS))


def _item(text: str, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(one_line(text, 300))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tip:
        item.setToolTip(one_line(tip, 600))
    return item


def _button(text: str, tip: str, parent: QWidget) -> QPushButton:
    button = QPushButton(text, parent)
    button.setAutoDefault(False)  # Enter in Settings still means OK
    button.setToolTip(tip)
    button.setStatusTip(tip)
    button.setAccessibleName(text.replace("&", "").rstrip("…") + " endpoint")
    return button


class EndpointsPage(QWidget):
    """The Endpoints tab's list.

    Signals:
        add_requested(): the user wants to add an endpoint.
        edit_requested(str): ... to edit this one.
        remove_requested(str): ... to remove it (confirmed).
        test_requested(str): ... to check it now.
    """

    add_requested = Signal()
    edit_requested = Signal(str)
    remove_requested = Signal(str)
    test_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Endpoints")
        self.confirm: QMessageBox | None = None
        self.endpoints: dict[str, Endpoint] = {}
        self.statuses: dict[str, EndpointStatus] = {}
        self.intro = QLabel(
            "OpenAI-compatible servers (Ollama, vLLM, LM Studio, a llama.cpp server, a hosted "
            "API). Their models appear in the Model list as endpoint/model.",
            self,
        )
        self.intro.setWordWrap(True)
        self.intro.setObjectName("PlaceholderText")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        self.table.setAccessibleName("Endpoints")
        self.table.setToolTip("Double-click an endpoint to edit it")
        self.table.setMinimumHeight(140)
        self.add_button = _button("&Add…", "Add an OpenAI-compatible endpoint", self)
        self.edit_button = _button("&Edit…", "Change the endpoint's URL, key or timeout", self)
        self.remove_button = _button("Re&move", "Forget the selected endpoint and its key", self)
        self.test_button = _button("&Test", "Connect to the endpoint and list its models", self)
        self.status = notice_label(self)
        self.error = notice_label(self, error=True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        self.add_button.clicked.connect(self.add_requested)
        self.edit_button.clicked.connect(self._on_edit_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.test_button.clicked.connect(self._on_test_button_clicked)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(self._on_table_cell_double_clicked)
        self._update_buttons()

    # ------------------------------------------------------------------ setters
    def set_endpoints(
        self, endpoints: Sequence[Endpoint], statuses: Mapping[str, EndpointStatus]
    ) -> None:
        chosen = self.selected()
        self.endpoints = {e.name: e for e in endpoints}
        self.statuses = {e.name: statuses.get(e.name, EndpointStatus(e.name)) for e in endpoints}
        self.table.setRowCount(0)
        for endpoint in endpoints:
            self._add_row(endpoint)
        self._select(chosen)
        self._update_buttons()

    def update_status(self, status: EndpointStatus, removed: bool = False) -> None:
        """Follow one endpoint's news (a row for an unknown one is added by the presenter)."""
        row = self._row_of(status.name)
        if removed:
            self.endpoints.pop(status.name, None)
            self.statuses.pop(status.name, None)
            if row >= 0:
                self.table.removeRow(row)
            self._update_buttons()
            return
        if row < 0 or status.name not in self.endpoints:
            return
        self.statuses[status.name] = status
        self._fill(row, self.endpoints[status.name], status)

    def show_status(self, text: str) -> None:
        self.error.hide()
        self.status.setText(one_line(text, 400))
        self.status.show()

    def show_error(self, error: KeikoError) -> None:
        self.error.setText(one_line(f"{error.message} {error.hint}".strip(), 600))
        self.error.show()

    # ------------------------------------------------------------------ queries
    def selected(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return ""
        item = self.table.item(rows[0].row(), NAME)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""

    # ------------------------------------------------------------------ internals
    def _add_row(self, endpoint: Endpoint) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self._fill(row, endpoint, self.statuses[endpoint.name])

    def _fill(self, row: int, endpoint: Endpoint, status: EndpointStatus) -> None:
        name = _item(endpoint.name, f"Models are {endpoint.name}/model")
        name.setData(Qt.ItemDataRole.UserRole, endpoint.name)
        models = ", ".join(status.models[:20]) + (" …" if len(status.models) > 20 else "")
        count = str(len(status.models)) if status.state == "online" else "–"
        key = " (with an API key)" if endpoint.api_key else ""
        items = {
            NAME: name,
            STATE: _item(state_text(status), status.detail),
            MODELS: _item(count, models),
            URL: _item(endpoint.base_url + key, f"Timeout {endpoint.timeout:g} s"),
            DETAIL: _item(status.detail, status.detail),
        }
        for column, item in items.items():
            self.table.setItem(row, column, item)

    def _row_of(self, name: str) -> int:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, NAME)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == name:
                return row
        return -1

    def _select(self, name: str) -> None:
        row = self._row_of(name) if name else -1
        if row < 0 and self.table.rowCount():
            row = 0
        if row >= 0:
            self.table.selectRow(row)

    def _update_buttons(self) -> None:
        chosen = bool(self.selected())
        for button in (self.edit_button, self.remove_button, self.test_button):
            button.setEnabled(chosen)

    def _on_edit_button_clicked(self) -> None:
        if self.selected():
            self.edit_requested.emit(self.selected())

    def _on_table_cell_double_clicked(self, row: int, _column: int) -> None:
        item = self.table.item(row, NAME)
        if item is not None:
            self.edit_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def _on_test_button_clicked(self) -> None:
        name = self.selected()
        if name:
            self.update_status(EndpointStatus(name, "checking"))
            self.test_requested.emit(name)

    def _on_remove_button_clicked(self) -> None:
        name = self.selected()
        if not name:
            return

        def done(answer: int) -> None:
            self.confirm = None
            if answer == QMessageBox.StandardButton.Yes:
                self.remove_requested.emit(name)

        if self.confirm is not None:
            self.confirm.close()
        self.confirm = question_box(
            self,
            "Remove the endpoint?",
            f"Forget the endpoint {one_line(name, 40)} and its API key? Its models leave the "
            "Model list.",
            "Remove",
            done,
        )
