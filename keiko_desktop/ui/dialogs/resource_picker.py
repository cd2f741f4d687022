"""ResourcePicker: "Attach from server…" — the resources and templates of the ready MCP
servers, one list, filtered as you type; a template's variables get a field each, whose
suggestions come from the server (``completion/complete``, asked ``COMPLETE_DELAY_MS`` after
the last key, through the presenter). Attach (Alt+A, or Enter) asks for the chosen resource
(``attach_requested(server, uri)``); Esc or Cancel closes. Everything a server wrote (names,
titles, descriptions, URIs) is shown as plain text, escaped on one line. Passive: the
presenter (``presenters/chat_resources.py``) loads the lists and attaches.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.resources import (
    ResourceInfo,
    TemplateInfo,
    expand_template,
)
from keiko_desktop.ui.widgets.slash_commands import plain_tip

COMPLETE_DELAY_MS = 250
ITEM_ROLE = Qt.ItemDataRole.UserRole


def item_label(item: ResourceInfo | TemplateInfo) -> str:
    if isinstance(item, TemplateInfo):
        return one_line(f"{item.server}  ·  {item.label}  ·  {item.uri_template}  (template)", 200)
    mime = f"  ({item.mime_type})" if item.mime_type else ""
    return one_line(f"{item.server}  ·  {item.label}  ·  {item.uri}{mime}", 200)


class ResourcePicker(QDialog):
    """The picker (see the module docs).

    Signals:
        attach_requested(str, str): attach the resource ``uri`` of ``server``.
        completion_wanted(object, str, str, dict): values for a template's variable: the
            ``TemplateInfo``, the variable, what is typed, the other values.
    """

    attach_requested = Signal(str, str)
    completion_wanted = Signal(object, str, str, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Attach from server")
        self.setAccessibleName("Attach from server")
        self.resize(620, 440)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter resources…")
        self.filter.setAccessibleName("Filter resources")
        self.filter.setClearButtonEnabled(True)
        filter_label = QLabel("&Filter:", self)
        filter_label.setBuddy(self.filter)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Resources")
        self.list.setAccessibleDescription("Resources and templates of the MCP servers")
        list_label = QLabel("&Resources:", self)
        list_label.setBuddy(self.list)
        self.fields_box = QWidget(self)
        self.fields = QFormLayout(self.fields_box)
        self.fields.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        self.buttons = QDialogButtonBox(self)
        self.attach_button = QPushButton("&Attach", self)
        self.attach_button.setAccessibleName("Attach")
        self.attach_button.setDefault(True)
        self.buttons.addButton(self.attach_button, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        layout = QVBoxLayout(self)
        layout.addWidget(filter_label)
        layout.addWidget(self.filter)
        layout.addWidget(list_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.fields_box)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._inputs: dict[str, QLineEdit] = {}
        self._models: dict[str, QStringListModel] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COMPLETE_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._typing: str | None = None
        self.filter.textChanged.connect(self._on_filter_text_changed)
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        self.list.itemActivated.connect(self._on_list_item_activated)
        self.attach_button.clicked.connect(self._on_attach_button_clicked)
        self.buttons.rejected.connect(self.reject)
        self.setTabOrder(self.filter, self.list)
        self._update_fields()

    # ------------------------------------------------------------------ setters
    def set_items(self, items: Sequence[ResourceInfo | TemplateInfo], note: str = "") -> None:
        """The resources and templates to choose from (``note``: a cut list, a failure)."""
        self.list.clear()
        for entry in items:
            row = QListWidgetItem(item_label(entry))
            row.setData(ITEM_ROLE, entry)
            if entry.description:
                row.setToolTip(plain_tip(entry.description))
            self.list.addItem(row)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.set_status(note or ("" if items else "No server offers resources."))
        self._on_filter_text_changed(self.filter.text())

    def set_status(self, text: str) -> None:
        self.status.setText(one_line(text, 400) if text else "")

    def set_completions(self, template: TemplateInfo, variable: str, values: list[str]) -> None:
        if self.chosen() != template or variable not in self._models:
            return
        self._models[variable].setStringList([one_line(v, 200) for v in values])
        box = self._inputs[variable]
        if box.hasFocus():
            completer = box.completer()
            if completer is not None:
                completer.complete()

    # ------------------------------------------------------------------ queries
    def chosen(self) -> ResourceInfo | TemplateInfo | None:
        item = self.list.currentItem()
        if item is None or item.isHidden():
            return None
        value = item.data(ITEM_ROLE)
        return value if isinstance(value, ResourceInfo | TemplateInfo) else None

    def values(self) -> dict[str, str]:
        return {name: box.text() for name, box in self._inputs.items()}

    def field(self, variable: str) -> QLineEdit | None:
        return self._inputs.get(variable)

    # ------------------------------------------------------------------ fields
    def _update_fields(self) -> None:
        while self.fields.rowCount():
            self.fields.removeRow(0)
        self._inputs.clear()
        self._models.clear()
        chosen = self.chosen()
        if not isinstance(chosen, TemplateInfo):
            self.fields_box.hide()
            return
        for variable in chosen.variables[:10]:
            box = QLineEdit(self.fields_box)
            name = one_line(variable, 40)
            box.setAccessibleName(f"Value of {name}")
            model = QStringListModel(self)
            completer = QCompleter(model, box)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            box.setCompleter(completer)
            box.textEdited.connect(lambda _t, v=variable: self._on_field_edited(v))
            box.returnPressed.connect(self._on_attach_button_clicked)
            self._inputs[variable] = box
            self._models[variable] = model
            label = QLabel(f"{name}:", self.fields_box)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setBuddy(box)
            self.fields.addRow(label, box)
        self.fields_box.show()

    def _on_field_edited(self, variable: str) -> None:
        self._typing = variable
        self._timer.start()

    def _on_timer_timeout(self) -> None:
        chosen = self.chosen()
        variable = self._typing
        if not isinstance(chosen, TemplateInfo) or variable not in self._inputs:
            return
        values = self.values()
        typed = values.pop(variable)
        self.completion_wanted.emit(chosen, variable, typed, values)

    # ------------------------------------------------------------------ slots
    def _on_filter_text_changed(self, text: str) -> None:
        words = text.lower().split()
        first_shown = None
        for row in range(self.list.count()):
            item = self.list.item(row)
            shown = all(w in item.text().lower() for w in words)
            item.setHidden(not shown)
            if shown and first_shown is None:
                first_shown = row
        current = self.list.currentItem()
        if (current is None or current.isHidden()) and first_shown is not None:
            self.list.setCurrentRow(first_shown)

    def _on_list_current_item_changed(self, *_args: object) -> None:
        self._update_fields()

    def _on_list_item_activated(self, _item: QListWidgetItem) -> None:
        chosen = self.chosen()
        if isinstance(chosen, TemplateInfo) and self._inputs:
            next(iter(self._inputs.values())).setFocus()
            return
        self._on_attach_button_clicked()

    def _on_attach_button_clicked(self) -> None:
        chosen = self.chosen()
        if chosen is None:
            self.set_status("Choose a resource first.")
            return
        if isinstance(chosen, ResourceInfo):
            uri = chosen.uri
        else:
            try:
                uri = expand_template(chosen.uri_template, self.values())
            except KeikoError as exc:
                self.set_status(f"{exc.message} {exc.hint}")
                return
        self.attach_requested.emit(chosen.server, uri)
        self.accept()
