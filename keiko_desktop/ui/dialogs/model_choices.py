"""The Settings "Model" chooser's items: local models first, then one group per endpoint.

Each endpoint's group is headed by a disabled, unselectable item naming it and its state
("ollama — offline"), so an endpoint that is down still shows (with no models under it). A
local item's data is what ``Settings.model`` keeps for it ("" for the bundled model, else the
file's path); a remote item's is its registry name, ``endpoint/model``. Text that came from a
server (model ids, the endpoint's detail) is escaped with ``core.safe_text``.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox

from keiko_desktop.core.downloads import CatalogModel
from keiko_desktop.core.endpoints import EndpointStatus
from keiko_desktop.core.ports import DEFAULT_BACKEND, ModelInfo
from keiko_desktop.core.safe_text import one_line

HEADER_ROLE = Qt.ItemDataRole.UserRole + 1
"""Set (to the endpoint's name) on a group's header item."""
STATE_LABELS = {
    "unknown": "not checked yet",
    "checking": "checking…",
    "online": "online",
    "offline": "offline",
    "unauthorized": "key refused",
    "error": "error",
}


def model_label(info: ModelInfo) -> str:
    if info.backend != DEFAULT_BACKEND:
        return one_line(info.name, 120)
    size = f" · {info.size_bytes / 1e6:,.0f} MB" if info.size_bytes else ""
    return f"{info.name}{' (bundled)' if info.bundled else ''}{size}"


def model_value(info: ModelInfo) -> str:
    """What ``Settings.model`` keeps for ``info``."""
    if info.backend != DEFAULT_BACKEND:
        return info.name
    return "" if info.bundled else info.path


def state_text(status: EndpointStatus) -> str:
    return STATE_LABELS.get(status.state, status.state)


def fill_model_combo(
    combo: QComboBox, models: Sequence[ModelInfo], endpoints: Sequence[EndpointStatus] = ()
) -> None:
    """Replace ``combo``'s items: local models, then each endpoint's header and models (the
    endpoints in ``endpoints``' order, then any other backend the models name)."""
    combo.clear()
    local = [m for m in models if m.backend == DEFAULT_BACKEND]
    for info in local:
        _add(combo, model_label(info), model_value(info), info.description)
    statuses = {s.name: s for s in endpoints}
    groups = list(statuses) + [
        m.backend for m in models if m.backend != DEFAULT_BACKEND and m.backend not in statuses
    ]
    for backend in dict.fromkeys(groups):
        status = statuses.get(backend, EndpointStatus(backend))
        _add_header(combo, status)
        for info in models:
            if info.backend == backend:
                _add(combo, f"  {model_label(info)}", model_value(info), info.description)


def select_model(combo: QComboBox, wanted: str) -> None:
    """Select the item for ``wanted`` (a value, or a local model's name); one it does not
    list is added at the end, selected, so a saved choice is never silently changed."""
    if not wanted:
        first = next((i for i in range(combo.count()) if not is_header(combo, i)), 0)
        combo.setCurrentIndex(first)
        return
    for i in range(combo.count()):
        if is_header(combo, i):
            continue
        data = str(combo.itemData(i) or "")
        if data == wanted or combo.itemText(i).strip().split(" ")[0] == wanted.lower():
            combo.setCurrentIndex(i)
            return
    _add(combo, one_line(wanted, 200), wanted, "Not listed now (its endpoint may be down).")
    combo.setCurrentIndex(combo.count() - 1)


def use_catalog_model(combo: QComboBox, model: CatalogModel) -> None:
    """Select an installed catalog model: the bundled one, the registry's entry for its name
    or file, or (not listed yet) a new item for its file."""
    if model.bundled:
        select_model(combo, "")
        return
    for i in range(combo.count()):
        if is_header(combo, i):
            continue
        data = str(combo.itemData(i) or "")
        if (model.installed_path and data == model.installed_path) or combo.itemText(
            i
        ).strip().split(" ")[0] == model.name:
            combo.setCurrentIndex(i)
            return
    value = model.installed_path or model.name
    _add(combo, one_line(model.title, 120), value, one_line(model.description, 300))
    combo.setCurrentIndex(combo.count() - 1)


def current_value(combo: QComboBox) -> str:
    return str(combo.currentData() or "")


def is_header(combo: QComboBox, index: int) -> bool:
    return combo.itemData(index, HEADER_ROLE) is not None


def _add(combo: QComboBox, text: str, value: str, tip: str) -> None:
    combo.addItem(text, value)
    if tip:
        combo.setItemData(combo.count() - 1, one_line(tip, 300), Qt.ItemDataRole.ToolTipRole)


def _add_header(combo: QComboBox, status: EndpointStatus) -> None:
    name = one_line(status.name, 40)
    combo.addItem(f"{name} — {state_text(status)}")
    index = combo.count() - 1
    combo.setItemData(index, status.name, HEADER_ROLE)
    detail = one_line(status.detail, 300) or f"Models of the endpoint {name}"
    combo.setItemData(index, detail, Qt.ItemDataRole.ToolTipRole)
    items = combo.model()
    if isinstance(items, QStandardItemModel):
        item = items.item(index)
        if item is not None:
            off = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
            item.setFlags(item.flags() & ~off)
            font = item.font()
            font.setBold(True)
            item.setFont(font)
