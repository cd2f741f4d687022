"""The Sampling column of Settings > Tools > Servers: each server's sampling policy as a combo
(Ask / Always / Never), with an accessible name, changed by keyboard or mouse.

Kept out of ``tools_dialog.py`` so the Tools page only places the column; what a change does
(``SamplingService.set_policy``) is the presenter's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QTableWidget

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.sampling import SamplingPolicy

SAMPLING_COLUMN = 6
SAMPLING_LABELS = {
    SamplingPolicy.ASK: "Ask",
    SamplingPolicy.ALWAYS: "Always",
    SamplingPolicy.NEVER: "Never",
}


def set_sampling_combos(
    servers: QTableWidget,
    policies: Mapping[str, SamplingPolicy],
    changed: Callable[[str, str], object],
) -> None:
    """Put a combo in each server row whose name (column 0's data) has a policy in
    ``policies``; ``changed(server, policy value)`` when the person picks another."""
    for row in range(servers.rowCount()):
        item = servers.item(row, 0)
        name = str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""
        policy = policies.get(name)
        if policy is None:
            servers.removeCellWidget(row, SAMPLING_COLUMN)
            continue
        combo = QComboBox(servers)
        for value, label in SAMPLING_LABELS.items():
            combo.addItem(label, value.value)
        combo.setCurrentIndex(combo.findData(policy.value))
        combo.setAccessibleName(f"Sampling policy of {one_line(name, 64)}")
        combo.setToolTip("May this server have Keiko's model write for it?")
        combo.currentIndexChanged.connect(
            lambda _i, c=combo, n=name: changed(n, str(c.currentData()))
        )
        servers.setCellWidget(row, SAMPLING_COLUMN, combo)


def sampling_combo(servers: QTableWidget, server: str) -> QComboBox | None:
    """The combo of ``server``'s row, or None."""
    for row in range(servers.rowCount()):
        item = servers.item(row, 0)
        if item is not None and item.data(Qt.ItemDataRole.UserRole) == server:
            widget = servers.cellWidget(row, SAMPLING_COLUMN)
            return widget if isinstance(widget, QComboBox) else None
    return None
