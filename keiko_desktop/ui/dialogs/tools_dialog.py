"""Settings > Tools: MCP servers and their status, tools with schemas and policies, the audit log.

``ToolsDialog`` is passive: it shows what it is given and emits what the user wants.
``presenters.tools_presenter.ToolsPresenter`` feeds it from a ``ToolService`` and carries its
requests out (enable or disable a server, set a tool's policy, reload the audit log).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.core.tools.models import AuditEntry, Policy, ServerState, ToolSpec
from keiko_desktop.core.tools.sampling import SamplingPolicy
from keiko_desktop.ui.dialogs.sampling_policies import set_sampling_combos
from keiko_desktop.ui.widgets.sign_in_button import SignInButton

POLICY_LABELS = {Policy.ALWAYS: "Always", Policy.ASK: "Ask", Policy.NEVER: "Never"}


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(one_line(text, 500))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def _table(columns: Sequence[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(columns), parent)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    return table


class ToolsDialog(QDialog):
    """The Tools page.

    Signals:
        server_enabled_changed(str, bool): the user switched a server on or off.
        policy_changed(str, str): the user set ``server.tool``'s policy (a ``Policy`` value).
        refresh_requested(): the user asked to reload servers, tools and the audit log.
    """

    server_enabled_changed = Signal(str, bool)
    policy_changed = Signal(str, str)
    refresh_requested = Signal()
    sampling_policy_changed = Signal(str, str)
    """A server's sampling policy (a ``SamplingPolicy`` value), chosen in its row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keiko — Tools")
        self.resize(820, 560)
        self.tabs = QTabWidget(self)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        columns = ["On", "Server", "Kind", "Status", "Tools", "Details", "Sampling"]
        self.servers = _table(columns, self)
        self.servers.itemChanged.connect(self._on_servers_item_changed)
        self.tools = _table(["Tool", "Policy", "Description"], self)
        self.tools.currentCellChanged.connect(self._on_tools_current_cell_changed)
        self.schema = QPlainTextEdit(self)
        self.schema.setReadOnly(True)
        self.schema.setFont(fixed)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tools)
        splitter.addWidget(self.schema)
        self.audit = _table(["When", "Tool", "Decision", "Time", "Result", "Arguments"], self)
        self.tabs.addTab(self.servers, "Servers")
        self.tabs.addTab(splitter, "Tools")
        self.tabs.addTab(self.audit, "Audit log")
        self.hint = QLabel(
            "Built-in read-only tools run without asking; every other tool asks first. "
            "Servers come from mcp.json (import one with `keiko mcp import`).",
            self,
        )
        self.hint.setWordWrap(True)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setObjectName("errorLabel")
        self.error_label.hide()
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.sign_in_button = SignInButton(self)
        self.servers.currentCellChanged.connect(self._on_servers_current_cell_changed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.refresh_button)
        bottom.addWidget(self.sign_in_button)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.error_label)
        layout.addLayout(bottom)
        self._specs: list[ToolSpec] = []
        self._filling = False

    # ------------------------------------------------------------------ setters
    def show_error(self, error: KeikoError) -> None:
        """Say what went wrong (until the next refresh clears it)."""
        self.error_label.setText(f"{error.message} {error.hint}".strip())
        self.error_label.show()

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def set_servers(self, states: Sequence[ServerState]) -> None:
        self._filling = True
        try:
            self.servers.setRowCount(len(states))
            for row, state in enumerate(states):
                check = QTableWidgetItem()
                check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                check.setCheckState(
                    Qt.CheckState.Checked if state.enabled else Qt.CheckState.Unchecked
                )
                check.setData(Qt.ItemDataRole.UserRole, state.name)
                self.servers.setItem(row, 0, check)
                self.servers.setItem(row, 1, _item(state.name))
                self.servers.setItem(row, 2, _item(state.kind))
                self.servers.setItem(row, 3, _item(state.status))
                self.servers.setItem(row, 4, _item(str(state.tool_count)))
                details = "; ".join([state.detail or state.target, *state.notes])
                self.servers.setItem(row, 5, _item(details))
        finally:
            self._filling = False

    def set_sampling(self, policies: Mapping[str, SamplingPolicy]) -> None:
        """Each server's sampling policy, in its row (``dialogs/sampling_policies.py``)."""
        set_sampling_combos(self.servers, policies, self.sampling_policy_changed.emit)

    def set_tools(self, tools: Sequence[tuple[ToolSpec, Policy]]) -> None:
        self._specs = [spec for spec, _ in tools]
        self.tools.setRowCount(len(tools))
        for row, (spec, policy) in enumerate(tools):
            self.tools.setItem(row, 0, _item(spec.qualified_name))
            if spec.usable:
                self.tools.setCellWidget(row, 1, self._policy_combo(spec, policy))
            else:  # nothing to choose: it never runs
                self.tools.removeCellWidget(row, 1)
                self.tools.setItem(row, 1, _item("Unusable"))
            summary = spec.description.strip().splitlines()[0] if spec.description.strip() else ""
            if spec.problem:
                summary = f"Unusable: {spec.problem}"
            self.tools.setItem(row, 2, _item(summary))
        if tools:
            self.tools.setCurrentCell(0, 0)

    def _policy_combo(self, spec: ToolSpec, policy: Policy) -> QComboBox:
        combo = QComboBox(self.tools)
        for value, label in POLICY_LABELS.items():
            combo.addItem(label, value.value)
        combo.setCurrentIndex(combo.findData(policy.value))
        combo.setAccessibleName(f"Policy of {spec.qualified_name}")
        combo.currentIndexChanged.connect(
            lambda _i, c=combo, n=spec.qualified_name: self._on_policy_combo_changed(n, c)
        )
        return combo

    def set_audit(self, entries: Sequence[AuditEntry]) -> None:
        self.audit.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            when = f"{entry.created_at:%Y-%m-%d %H:%M:%S}" if entry.created_at else ""
            took = f"{entry.duration:.2f} s" if entry.duration is not None else "—"
            outcome = "error" if entry.is_error else f"{entry.result_size} chars"
            values = [when, f"{entry.server}.{entry.tool}", entry.decision, took, outcome]
            for column, text in enumerate(values):
                self.audit.setItem(row, column, _item(text))
            self.audit.setItem(row, 5, _item(entry.arguments))

    def policy_combo(self, qualified_name: str) -> QComboBox | None:
        for row, spec in enumerate(self._specs):
            if spec.qualified_name == qualified_name:
                widget = self.tools.cellWidget(row, 1)
                return widget if isinstance(widget, QComboBox) else None
        return None

    # ------------------------------------------------------------------ slots
    def _on_servers_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0:
            return
        name = str(item.data(Qt.ItemDataRole.UserRole))
        self.server_enabled_changed.emit(name, item.checkState() == Qt.CheckState.Checked)

    def _on_servers_current_cell_changed(self, row: int, *_: int) -> None:
        item = self.servers.item(row, 0) if row >= 0 else None
        self.sign_in_button.select(str(item.data(Qt.ItemDataRole.UserRole)) if item else None)

    def _on_policy_combo_changed(self, qualified_name: str, combo: QComboBox) -> None:
        self.policy_changed.emit(qualified_name, str(combo.currentData()))

    def _on_tools_current_cell_changed(self, row: int, *_: int) -> None:
        if 0 <= row < len(self._specs):
            spec = self._specs[row]
            problem = f"Unusable: {spec.problem}\n\n" if spec.problem else ""
            text = f"{problem}{printable(spec.description.strip())}\n\nInput schema:\n"
            self.schema.setPlainText(text + json.dumps(spec.input_schema, indent=2))
