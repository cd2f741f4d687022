"""TaskDialog: make a task, or a schedule that makes tasks.

Pick a kind (from the registry, ``TaskKinds``): its description shows and a form is made
from its parameters (``task_fields``). Then a name (optional: the kind's label), a priority,
and when (``task_when.WhenEditor``): now, or on a schedule. Create checks the parameters with
``TaskKinds.check`` and the schedule with ``check_spec``; a mistake shows on the line under
the field it is about (which takes the focus), and the dialog stays open. Passive beyond
that: it emits ``task_requested`` or ``schedule_requested``; the presenter adds it and closes
the dialog, or calls ``show_error`` with what the service said.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, cast

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import printable
from keiko_desktop.core.tasks.errors import ScheduleError, TaskParamError
from keiko_desktop.core.tasks.kinds import TaskKinds
from keiko_desktop.core.tasks.records import MAX_NAME, PRIORITIES, NewSchedule, NewTask, Priority
from keiko_desktop.ui.dialogs.task_fields import ParamEditor, PathField, make_editors
from keiko_desktop.ui.dialogs.task_when import WhenEditor
from keiko_desktop.ui.theme import LIGHT, Theme

FIXED_KEYS = {"k", "n", "p", "w", "c", "s"}
"""Alt keys of the fixed fields (Kind, Name, Priority, When) and Create (Schedule)."""


class TaskDialog(QDialog):
    """Makes one task or schedule (see the module docs).

    Signals:
        task_requested(object): Create with this checked ``NewTask`` (When: now).
        schedule_requested(object): Create with this checked ``NewSchedule``.
    """

    task_requested = Signal(object)
    schedule_requested = Signal(object)

    def __init__(
        self, kinds: TaskKinds, theme: Theme = LIGHT, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New task")
        self.setMinimumSize(QSize(560, 520))
        self.theme = theme
        self._kinds = kinds
        self.editors: dict[str, ParamEditor] = {}
        self._suggestions: dict[str, list[str]] = {}
        self.file_dialog: QFileDialog | None = None

        self.kind = QComboBox(self)
        self.kind_label = QLabel("&Kind", self)
        self.kind_label.setBuddy(self.kind)
        self.kind.setAccessibleName("Kind")
        self.kind.setToolTip("What the task does")
        self.description = QLabel(self)
        self.description.setObjectName("PlaceholderText")
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.kind_error = self._error_label()
        self.name = QLineEdit(self)
        self.name.setMaxLength(MAX_NAME)
        self.name.setAccessibleName("Name")
        self.name.setToolTip("What the task is called in the list (the kind's name if empty)")
        self.name_label = QLabel("&Name", self)
        self.name_label.setBuddy(self.name)
        self.name_error = self._error_label()
        self.priority = QComboBox(self)
        for priority in PRIORITIES:
            self.priority.addItem(priority.capitalize(), priority)
        self.priority.setAccessibleName("Priority")
        self.priority.setToolTip("Higher priorities run first when workers are busy")
        self.priority_label = QLabel("&Priority", self)
        self.priority_label.setBuddy(self.priority)
        self.when = WhenEditor(self)
        self.when_label = QLabel("&When", self)
        self.when_label.setBuddy(self.when.mode)

        self.params_title = QLabel("Parameters", self)
        self.params_title.setObjectName("SectionTitle")
        self.params_scroll = QScrollArea(self)
        self.params_scroll.setWidgetResizable(True)
        self.params_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.params_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.params_page = QWidget(self.params_scroll)
        self.params_scroll.setWidget(self.params_page)

        self.error = self._error_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.create_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("&Create")
        self.create_button.setAccessibleName("Create")
        self.create_button.setToolTip("Add the task (or the schedule): Enter, or Ctrl+Enter")
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("Cancel")
        cancel.setAccessibleName("Cancel")
        cancel.setToolTip("Close without adding anything (Esc)")
        for button in self.buttons.buttons():
            button.setIcon(QIcon())

        top = QFormLayout()
        top.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        top.setVerticalSpacing(6)
        top.addRow(self.kind_label, self.kind)
        top.addRow("", self.description)
        top.addRow("", self.kind_error)
        top.addRow(self.name_label, self.name)
        top.addRow("", self.name_error)
        top.addRow(self.priority_label, self.priority)
        top.addRow(self.when_label, self.when)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.params_title)
        layout.addWidget(self.params_scroll, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        self.kind.currentIndexChanged.connect(self._on_kind_current_index_changed)
        self.when.changed.connect(self._on_when_changed)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.set_kinds(kinds)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """In a text box of several lines Enter starts a new line; Ctrl+Enter creates."""
        if event.type() == QEvent.Type.KeyPress:
            key = cast(QKeyEvent, event)
            control = key.modifiers() & Qt.KeyboardModifier.ControlModifier
            if control and key.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._on_buttons_accepted()
                return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ setters
    def set_kinds(self, kinds: TaskKinds) -> None:
        self._kinds = kinds
        self.kind.blockSignals(True)
        self.kind.clear()
        for kind in kinds:
            self.kind.addItem(kind.label, kind.name)
        self.kind.blockSignals(False)
        self._build_form()

    def set_suggestions(self, param: str, values: Sequence[str]) -> None:
        """Offer ``values`` as you type in the text field of every kind's ``param`` (the
        agents' names for "agent")."""
        self._suggestions[param] = list(values)
        self._suggest()

    def start(
        self,
        kind: str | None = None,
        params: Mapping[str, Any] | None = None,
        name: str = "",
        priority: Priority = "normal",
    ) -> None:
        """A fresh form: ``kind`` (else the first), its parameters (defaults unless given)."""
        index = self.kind.findData(kind) if kind is not None else 0
        self.kind.blockSignals(True)
        self.kind.setCurrentIndex(max(0, index))
        self.kind.blockSignals(False)
        self._build_form()
        for key, value in (params or {}).items():
            if key in self.editors:
                self.editors[key].put(value)
        self.name.setText(name)
        self.priority.setCurrentIndex(max(0, self.priority.findData(priority)))
        self.when.set_mode("now")
        self._clear_errors()
        self.kind.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_error(self, error: KeikoError) -> None:
        """Show ``error`` under the field it names (focused), or above the buttons."""
        text = printable(f"{_sentence(error.message)} {error.hint}".strip())
        if isinstance(error, ScheduleError):
            self.when.show_error(text)
            self.when.focus_target.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        if isinstance(error, TaskParamError):
            editor = self.editors.get(error.field)
            if editor is not None:  # under its field, which need not be named again
                editor.error.setText(printable(f"{_sentence(error.detail)} {error.hint}".strip()))
                editor.error.show()
                self.params_scroll.ensureWidgetVisible(editor.widget)
                editor.focus_target.setFocus(Qt.FocusReason.OtherFocusReason)
                return
            fixed = {"kind": (self.kind_error, self.kind), "name": (self.name_error, self.name)}
            if error.field in fixed:
                label, widget = fixed[error.field]
                label.setText(text)
                label.show()
                widget.setFocus(Qt.FocusReason.OtherFocusReason)
                return
        self.error.setText(text)
        self.error.show()

    # ------------------------------------------------------------------ queries
    @property
    def kind_name(self) -> str:
        return str(self.kind.currentData() or "")

    def params(self) -> dict[str, Any]:
        """The parameters as typed ("" counts as not given: ``check`` fills the default)."""
        return {key: editor.get() for key, editor in self.editors.items()}

    def request(self) -> NewTask | NewSchedule:
        """What Create adds, checked: ``TaskParamError`` or ``ScheduleError`` when wrong."""
        kind = self.kind_name
        params = self._kinds.check(kind, self.params())
        priority: Priority = self.priority.currentData()
        name = self.name.text().strip()
        spec = self.when.checked_spec()
        if spec is None:
            return NewTask(kind=kind, params=params, name=name, priority=priority)
        label = self._kinds.get(kind).label
        return NewSchedule(
            name=name or label, kind=kind, spec=spec, params=params, priority=priority
        )

    # ------------------------------------------------------------------ internals
    def _error_label(self) -> QLabel:
        label = QLabel(self)
        label.setObjectName("ErrorText")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.hide()
        return label

    def _build_form(self) -> None:
        """The parameter editors of the chosen kind (a new page each time)."""
        page = QWidget(self.params_scroll)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 6, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(4)
        self.editors = {}
        kind = self._kinds.get(self.kind_name) if self.kind_name in self._kinds else None
        if kind is not None:
            self.description.setText(kind.description)
            self.name.setPlaceholderText(kind.label)
            for editor in make_editors(kind.params, page, set(FIXED_KEYS)):
                form.addRow(editor.label, editor.widget)
                form.addRow("", editor.error)
                self.editors[editor.param.name] = editor
                if isinstance(editor.widget, PathField):
                    field = editor.widget
                    field.browse_requested.connect(lambda f=field: self._browse(f))
                if isinstance(editor.widget, QPlainTextEdit):
                    editor.widget.installEventFilter(self)  # Ctrl+Enter creates from there too
        if not self.editors:
            none = QLabel("This kind takes no parameters.", page)
            none.setObjectName("PlaceholderText")
            form.addRow(none)
        self.params_scroll.setWidget(page)  # deletes the old page
        self.params_page = page
        self.params_title.setVisible(bool(self.editors))
        self._suggest()
        self._retab()

    def _suggest(self) -> None:
        for key, values in self._suggestions.items():
            editor = self.editors.get(key)
            if editor is not None and isinstance(editor.widget, QLineEdit):
                completer = QCompleter(values, editor.widget)
                completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
                completer.setFilterMode(Qt.MatchFlag.MatchContains)
                editor.widget.setCompleter(completer)
                editor.widget.setPlaceholderText(
                    ", ".join(values[:3]) + ("…" if values[3:] else "")
                )

    def _retab(self) -> None:
        chain: list[QWidget] = [self.kind, self.name, self.priority, self.when.mode]
        chain.append(self.when.focus_target)
        for editor in self.editors.values():
            chain.append(editor.focus_target)
            if isinstance(editor.widget, PathField):
                chain.append(editor.widget.browse)
        chain.extend(self.buttons.buttons())
        for first, second in itertools.pairwise(chain):
            if first is not second:
                QWidget.setTabOrder(first, second)

    def _clear_errors(self) -> None:
        for label in (self.error, self.kind_error, self.name_error):
            label.hide()
        for editor in self.editors.values():
            editor.error.hide()

    def _browse(self, field: PathField) -> None:
        if self.file_dialog is not None:
            self.file_dialog.deleteLater()
        dialog = QFileDialog(self, "Choose a folder" if field.folder else "Choose a file")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        if field.folder:
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        if field.line.text().strip():
            dialog.selectFile(field.line.text().strip())
        dialog.fileSelected.connect(field.line.setText)
        self.file_dialog = dialog
        dialog.open()

    def _on_kind_current_index_changed(self, _index: int) -> None:
        self._build_form()
        self._clear_errors()

    def _on_when_changed(self) -> None:
        scheduled = self.when.kind != "now"
        self.create_button.setText("&Schedule" if scheduled else "&Create")
        self.create_button.setAccessibleName("Schedule" if scheduled else "Create")
        self._retab()

    def _on_buttons_accepted(self) -> None:
        self._clear_errors()
        try:
            request = self.request()
        except KeikoError as exc:
            self.show_error(exc)
            return
        if isinstance(request, NewTask):
            self.task_requested.emit(request)
        else:
            self.schedule_requested.emit(request)


def _sentence(text: str) -> str:
    """``text`` as a sentence: a capital first, a full stop last."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."
