"""ToolTree: an agent's allowed tools as a checkable tree of tool servers and their tools.

A checked server is the entry ``server``: each of its tools, also ones it adds later (its
tools show checked and greyed, since they are implied); otherwise each checked tool is
``server.tool``. Entries the running servers do not offer (a server that is off, a tool it
dropped) are kept, shown as not offered now, so opening and saving an agent never loses them.
Names and descriptions come from tool servers: plain text, escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from keiko_desktop.core.safe_text import one_line

ENTRY_ROLE = Qt.ItemDataRole.UserRole
CHOSEN_ROLE = Qt.ItemDataRole.UserRole + 1
"""A tool's own check, kept while its whole server is checked (and restored after)."""
NOT_OFFERED = "not offered now"


@dataclass(frozen=True)
class ToolChoice:
    """A tool server and its tools as (name, description); ``note`` says how it is (ready,
    failed, off)."""

    server: str
    tools: tuple[tuple[str, str], ...] = ()
    note: str = ""


class ToolTree(QTreeWidget):
    """Servers and their tools with check boxes (see the module docs).

    Signals:
        (QTreeWidget's own.)
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ToolTree")
        self.setColumnCount(2)
        self.setHeaderLabels(["Server or tool", "What it does"])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(True)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(False)
        self._choices: list[ToolChoice] = []
        self._updating = False
        self.itemChanged.connect(self._on_self_item_changed)

    def set_choices(self, choices: Sequence[ToolChoice]) -> None:
        """Offer these servers and tools; what was checked stays checked."""
        keep = self.entries()
        self._choices = list(choices)
        self._rebuild()
        self.set_entries(keep)

    def set_entries(self, entries: Sequence[str]) -> None:
        """Check exactly ``entries`` (servers or ``server.tool``), adding the unknown ones."""
        self._rebuild()
        for entry in entries:
            server, _, tool = entry.partition(".")
            server_item = self._server_item(server) or self._add_server(server, NOT_OFFERED)
            if tool and self._tool_item(server_item, entry) is None:
                self._add_tool(server_item, tool, NOT_OFFERED)
        wanted = set(entries)
        for server_item in self.servers():
            for child in _children(server_item):
                if child.data(0, ENTRY_ROLE) in wanted:
                    child.setCheckState(0, Qt.CheckState.Checked)
            if server_item.data(0, ENTRY_ROLE) in wanted:
                server_item.setCheckState(0, Qt.CheckState.Checked)  # greys its tools
        self.expandAll()

    def entries(self) -> list[str]:
        """The allowlist as checked."""
        out: list[str] = []
        for server in self.servers():
            if server.checkState(0) == Qt.CheckState.Checked:
                out.append(str(server.data(0, ENTRY_ROLE)))
            else:
                for tool in _children(server):
                    if tool.checkState(0) == Qt.CheckState.Checked:
                        out.append(str(tool.data(0, ENTRY_ROLE)))
        return out

    def servers(self) -> list[QTreeWidgetItem]:
        """The server lines, in order."""
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item for item in items if item is not None]

    def select_entry(self, entry: str) -> None:
        """Make the line of ``entry`` current (an error names it)."""
        server, _, tool = entry.partition(".")
        item = self._server_item(server)
        if item is not None and tool:
            item = self._tool_item(item, entry) or item
        if item is not None:
            self.setCurrentItem(item)
            self.scrollToItem(item)

    # ------------------------------------------------------------------ internals
    def _on_self_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != 0 or item.parent() is not None:
            return
        whole = item.checkState(0) == Qt.CheckState.Checked
        self._updating = True
        try:
            for child in _children(item):
                if whole:
                    child.setData(0, CHOSEN_ROLE, child.checkState(0) == Qt.CheckState.Checked)
                    child.setCheckState(0, Qt.CheckState.Checked)
                    child.setFlags(child.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                else:
                    chosen = bool(child.data(0, CHOSEN_ROLE))
                    child.setCheckState(
                        0, Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked
                    )
                    child.setFlags(child.flags() | Qt.ItemFlag.ItemIsEnabled)
        finally:
            self._updating = False

    def _rebuild(self) -> None:
        self.clear()
        for choice in self._choices:
            item = self._add_server(choice.server, choice.note)
            for name, description in choice.tools:
                self._add_tool(item, name, description)

    def _add_server(self, server: str, note: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self)
        item.setText(0, one_line(server, 80))
        item.setText(1, one_line(note, 200))
        item.setData(0, ENTRY_ROLE, server)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        shown = one_line(server, 80)
        item.setData(0, Qt.ItemDataRole.AccessibleTextRole, f"Server {shown}, all of its tools")
        item.setToolTip(0, f"Allow every tool of {shown}, also ones it adds later")
        return item

    def _add_tool(self, server: QTreeWidgetItem, name: str, description: str) -> QTreeWidgetItem:
        entry = f"{server.data(0, ENTRY_ROLE)}.{name}"
        item = QTreeWidgetItem(server)
        item.setText(0, one_line(name, 80))
        item.setText(1, one_line(description, 200))
        item.setData(0, ENTRY_ROLE, entry)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        item.setToolTip(0, one_line(entry, 200))
        item.setToolTip(1, one_line(description, 500))
        return item

    def _server_item(self, server: str) -> QTreeWidgetItem | None:
        return next((i for i in self.servers() if i.data(0, ENTRY_ROLE) == server), None)

    @staticmethod
    def _tool_item(server: QTreeWidgetItem, entry: str) -> QTreeWidgetItem | None:
        return next((i for i in _children(server) if i.data(0, ENTRY_ROLE) == entry), None)


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    children = (item.child(j) for j in range(item.childCount()))
    return [child for child in children if child is not None]
