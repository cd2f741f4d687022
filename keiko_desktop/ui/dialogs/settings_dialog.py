"""SettingsDialog (Ctrl+,): one page per section of the settings declaration.

Built from ``core.config.SETTINGS``: each setting's page (its section), label and accessible name,
help text and bounds (a spin box's range, a combo box's choices, a text field's length) come
from its declaration, and a setting declared later shows up here by itself (with a plain editor
for its type). A few get a richer editor: the model (a list of known models, run-time choices),
the system prompt (several lines), the CPU backend (``set_cpu_backends``), the microphone (the
system's, from ``ui.voice.devices``), the push-to-talk key (pressed, not typed) with a line
saying whether this desktop lets Keiko hear it outside the window. The Models tab
(``models_page``) and the list atop Endpoints (``endpoints_page``) have their own presenters.

Passive: ``set_values`` fills it, OK emits ``applied`` with new Settings, and the presenter
decides (it closes the dialog, or shows why not with ``show_error``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.config import SECTIONS, SETTINGS, Effect, Setting, Settings, settings_in
from keiko_desktop.core.endpoints import EndpointStatus
from keiko_desktop.core.errors import KeikoError, SettingsError
from keiko_desktop.core.ports import ModelInfo
from keiko_desktop.ui.dialogs import model_choices
from keiko_desktop.ui.dialogs.endpoints_page import EndpointsPage
from keiko_desktop.ui.dialogs.model_library_page import ModelLibraryPage
from keiko_desktop.ui.dialogs.voice_fields import (
    KeyEdit,
    MicrophoneChooser,
    hotkey_note,
    hotkey_support,
    system_microphones,
)
from keiko_desktop.ui.widgets.mnemonics import taken_by, with_mnemonic

CHOICE_LABELS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
STEPS: dict[str, float] = {
    "temperature": 0.1,
    "max_tokens": 64,
    "context_size": 1024,
    "tool_approval_timeout": 10,
}
DECIMALS = {"temperature": 2, "tool_approval_timeout": 0}
SUFFIXES = {
    "deleted_retention_days": " days",
    "tool_approval_timeout": " s",
    "voice_turn_silence": " s",
}
PLACEHOLDERS = {
    "voice_whisper_model": "The bundled tiny.en (English)",
    "voice_tts_voice": "The bundled en_US voice (joe)",
    "voice_language": "Detect the language",
    "voice_prompt": "e.g. Keiko, Ollama, PySide",
    "model_fallbacks": "e.g. ollama/llama3.2, smollm2-135m-instruct",
}
SPECIAL_ZERO = {"threads": "Automatic", "deleted_retention_days": "Until emptied by hand"}
NOT_SHOWN = (
    "extra_models",  # edited through the model list ("Add GGUF file…")
    "agent_middleware",  # an expert's setting, in settings.toml
)


@dataclass
class SettingField:
    """One setting's editor in the dialog: the widget and how to read and fill it."""

    spec: Setting
    widget: QWidget
    get: Callable[[], Any]
    put: Callable[[Any], None]


def _spin(spec: Setting, parent: QWidget) -> SettingField:
    low, high = spec.bounds
    box = QSpinBox(parent)
    box.setRange(int(low), int(high))
    box.setSingleStep(int(STEPS.get(spec.key, 1)))
    box.setSuffix(SUFFIXES.get(spec.key, ""))
    box.setSpecialValueText(SPECIAL_ZERO.get(spec.key, ""))
    return SettingField(spec, box, box.value, lambda v: box.setValue(int(v)))


def _double(spec: Setting, parent: QWidget) -> SettingField:
    box = QDoubleSpinBox(parent)
    box.setDecimals(DECIMALS.get(spec.key, 1))
    box.setRange(*spec.bounds)
    box.setSingleStep(STEPS.get(spec.key, 1.0))
    box.setSuffix(SUFFIXES.get(spec.key, ""))
    return SettingField(spec, box, lambda: round(box.value(), box.decimals()), box.setValue)


def _choices(spec: Setting, parent: QWidget) -> SettingField:
    box = QComboBox(parent)
    for choice in spec.choices:
        box.addItem(CHOICE_LABELS.get(choice, choice), choice)

    def put(value: Any) -> None:
        box.setCurrentIndex(max(0, box.findData(value)))

    return SettingField(spec, box, lambda: str(box.currentData()), put)


def _line(spec: Setting, parent: QWidget) -> SettingField:
    edit = QLineEdit(parent)
    if spec.maximum is not None:
        edit.setMaxLength(int(spec.maximum))
    edit.setPlaceholderText(PLACEHOLDERS.get(spec.key, ""))
    return SettingField(spec, edit, edit.text, lambda v: edit.setText(str(v)))


def _text(spec: Setting, parent: QWidget) -> SettingField:
    edit = QPlainTextEdit(parent)  # its length is checked on OK (validate)
    edit.setFixedHeight(96)
    edit.setTabChangesFocus(True)  # Tab leaves the field: the dialog stays keyboard-reachable
    return SettingField(spec, edit, edit.toPlainText, lambda v: edit.setPlainText(str(v)))


def _list(spec: Setting, parent: QWidget) -> SettingField:
    """A list of names as one comma-separated line (``Settings.model_fallbacks``)."""
    edit = QLineEdit(parent)
    edit.setPlaceholderText(PLACEHOLDERS.get(spec.key, "Names, separated by commas"))

    def get() -> tuple[str, ...]:
        names = tuple(dict.fromkeys(p.strip() for p in edit.text().split(",") if p.strip()))
        if spec.maximum is not None and len(names) > spec.maximum:
            raise SettingsError(
                f"{spec.label} lists {len(names)} names; at most {spec.maximum:g} fit.",
                "Keep the few you want tried, in order.",
            )
        return names

    return SettingField(spec, edit, get, lambda v: edit.setText(", ".join(v)))


def _check(spec: Setting, parent: QWidget, text: str = "") -> SettingField:
    box = QCheckBox(text or spec.label, parent)
    return SettingField(spec, box, box.isChecked, lambda v: box.setChecked(bool(v)))


def plain_field(spec: Setting, parent: QWidget) -> SettingField:
    """The editor for a setting's type and bounds."""
    if spec.kind is bool:
        return _check(spec, parent)
    if spec.kind is int:
        return _spin(spec, parent)
    if spec.kind is float:
        return _double(spec, parent)
    if spec.kind is tuple:
        return _list(spec, parent)
    return _choices(spec, parent) if spec.choices else _line(spec, parent)


class SettingsDialog(QDialog):
    """Edits Settings, one tab per section.

    Signals:
        applied(Settings): OK was pressed with these (validated) settings.
        add_model_requested(str): the user picked a GGUF file to add.
        tools_requested(): the user wants Settings > Tools (servers, policies, audit log).
        empty_trash_requested(): the user confirmed deleting every deleted chat for good.
    """

    applied = Signal(object)
    add_model_requested = Signal(str)
    tools_requested = Signal()
    empty_trash_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        cpu_backends: Sequence[str] | None = None,
        microphones: Callable[[], Sequence[tuple[str, str]]] = system_microphones,
        hotkey: Callable[[], tuple[bool, str]] = hotkey_support,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._base = Settings()
        self._extra_paths: list[str] = []
        self.trash_confirm: QMessageBox | None = None
        self._microphones = microphones

        # Richer editors first; every other declared setting gets a plain one below.
        self.model = QComboBox(self)  # choices at run time: the registry's models
        self.models_page = ModelLibraryPage(self)  # Settings > Models
        self.endpoints_page = EndpointsPage(self)  # atop Settings > Endpoints
        self.add_model_button = QPushButton("Add GGUF file…", self)
        self.cpu_backend = QComboBox(self)  # choices at run time: ``set_cpu_backends``
        prompt = _text(SETTINGS["system_prompt"], self)
        tools = _check(SETTINGS["tools_in_chat"], self, "Let the model use tools in chat")
        self.microphone = MicrophoneChooser(self)  # choices at run time: the system's
        self.push_to_talk_key = KeyEdit(self)
        self.fields: dict[str, SettingField] = {
            "model": SettingField(
                SETTINGS["model"], self.model, self._model_value, self._select_model
            ),
            "cpu_backend": SettingField(
                SETTINGS["cpu_backend"],
                self.cpu_backend,
                self._cpu_backend_value,
                self._select_cpu_backend,
            ),
            "system_prompt": prompt,
            "tools_in_chat": tools,
            "voice_input_device": SettingField(
                SETTINGS["voice_input_device"],
                self.microphone,
                self.microphone.value,
                self.microphone.select,
            ),
            "voice_push_to_talk_key": SettingField(
                SETTINGS["voice_push_to_talk_key"],
                self.push_to_talk_key,
                self.push_to_talk_key.value,
                self.push_to_talk_key.show_key,
            ),
        }
        for spec in SETTINGS.values():
            if spec.key not in self.fields and spec.key not in NOT_SHOWN:
                self.fields[spec.key] = plain_field(spec, self)
        self.set_cpu_backends(cpu_backends or ())
        self.system_prompt: QPlainTextEdit = self._widget("system_prompt", QPlainTextEdit)
        self.system_prompt.setObjectName("SystemPrompt")
        self.temperature: QDoubleSpinBox = self._widget("temperature", QDoubleSpinBox)
        self.max_tokens: QSpinBox = self._widget("max_tokens", QSpinBox)
        self.context_size: QSpinBox = self._widget("context_size", QSpinBox)
        self.threads: QSpinBox = self._widget("threads", QSpinBox)
        self.deleted_retention_days: QSpinBox = self._widget("deleted_retention_days", QSpinBox)
        self.theme: QComboBox = self._widget("theme", QComboBox)
        self.tools_in_chat: QCheckBox = self._widget("tools_in_chat", QCheckBox)
        self.tool_approval_timeout: QDoubleSpinBox = self._widget(
            "tool_approval_timeout", QDoubleSpinBox
        )
        self.tool_max_steps: QSpinBox = self._widget("tool_max_steps", QSpinBox)

        self.tools_button = QPushButton("Tools…", self)
        self.tools_button.setToolTip("Tool servers, what each tool may do, and the audit log")
        self.empty_trash_button = QPushButton("Empty trash now…", self)
        self.empty_trash_button.setToolTip("Delete every deleted chat for good, now")
        self.trash_status = QLabel(self)
        self.trash_status.setObjectName("PlaceholderText")
        self.trash_status.hide()
        self.hotkey_note = hotkey_note(hotkey(), self)
        beside = {
            "model": self.add_model_button,
            "tools_in_chat": self.tools_button,
            "deleted_retention_days": self.empty_trash_button,
        }

        self.pages = QTabWidget(self)
        for section in SECTIONS:
            keys = [s.key for s in settings_in(section.name) if s.key in self.fields]
            if not keys:
                continue
            page = QWidget(self.pages)
            form = QFormLayout(page)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setVerticalSpacing(10)
            # Alt+letter per field; OK and Cancel (and the endpoint buttons) keep theirs.
            inside = self.endpoints_page if section.name == "endpoints" else None
            buttons = inside.findChildren(QPushButton) if inside else []
            taken = taken_by([b.text() for b in buttons]) | {"o", "c"}
            for key in keys:
                self._add_row(form, self.fields[key], beside.get(key), taken)
                if key == "deleted_retention_days":
                    form.addRow("", self.trash_status)
                elif key == "voice_global_hotkey":
                    form.addRow("", self.hotkey_note)
            if section.name == "endpoints":
                form.insertRow(0, self.endpoints_page)
            self.pages.addTab(page, section.title)
            if section.name == "model":
                self.pages.addTab(self.models_page, "Models")
        # Every section's tab shows: the dialog is as wide as they are, measured with the
        # style sheet's padding (no scroll arrows hiding the last ones).
        bar = self.pages.tabBar()
        bar.setUsesScrollButtons(False)
        bar.ensurePolished()
        self.setMinimumWidth(min(max(560, bar.sizeHint().width() + 48), 1000))

        self.note = QLabel(self._effects_note(), self)
        self.note.setObjectName("PlaceholderText")
        self.note.setWordWrap(True)
        self.error = QLabel(self)
        self.error.setObjectName("ErrorText")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        for button in self.buttons.buttons():
            button.setIcon(QIcon())  # no dated check/cross icons
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.addWidget(self.pages)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.add_model_button.clicked.connect(self._on_add_model_button_clicked)
        self.models_page.import_requested.connect(self.add_model_requested)
        self.models_page.use_requested.connect(self._on_models_page_use_requested)
        self.tools_button.clicked.connect(self.tools_requested)
        self.empty_trash_button.clicked.connect(self._on_empty_trash_button_clicked)

    # ------------------------------------------------------------------ setters
    def set_values(
        self,
        settings: Settings,
        models: Sequence[ModelInfo],
        endpoints: Sequence[EndpointStatus] = (),
    ) -> None:
        self._base = settings
        self._extra_paths = list(settings.extra_models)
        self.microphone.set_microphones(self._microphones())
        model_choices.fill_model_combo(self.model, models, endpoints)
        for key, f in self.fields.items():
            f.put(getattr(settings, key))
        self.error.hide()
        self.trash_status.hide()

    def set_model_choices(
        self, models: Sequence[ModelInfo], endpoints: Sequence[EndpointStatus]
    ) -> None:
        """Regroup the model chooser (an endpoint's models or state changed), keeping the
        choice."""
        chosen = self._model_value()
        model_choices.fill_model_combo(self.model, models, endpoints)
        self._select_model(chosen)

    def set_cpu_backends(self, names: Sequence[str], in_use: str = "") -> None:
        """The llama.cpp CPU variants this machine has (from the engine, at run time). With none
        known the field takes any name; with some, it offers "auto" and those. ``in_use`` (what
        runs now and why) is shown beside "auto"."""
        current = self._cpu_backend_value() if self.cpu_backend.count() else "auto"
        self.cpu_backend.clear()
        self.cpu_backend.setEditable(not names)
        for name in dict.fromkeys(("auto", *names)):
            label = f"auto: {in_use}" if name == "auto" and in_use and names else name
            self.cpu_backend.addItem(label, name)
        line = self.cpu_backend.lineEdit()
        if line is not None and SETTINGS["cpu_backend"].maximum is not None:
            line.setMaxLength(int(SETTINGS["cpu_backend"].maximum))
        self._select_cpu_backend(current)

    def add_model(self, info: ModelInfo) -> None:
        """A model the user just added: list it (once) and select it."""
        if info.path not in self._extra_paths:
            self._extra_paths.append(info.path)
        index = self.model.findData(info.path)
        if index < 0:
            self.model.addItem(model_choices.model_label(info), info.path)
            index = self.model.count() - 1
        self.model.setCurrentIndex(index)
        self.error.hide()

    def show_error(self, error: KeikoError) -> None:
        self.error.setText(f"{error.message} {error.hint}".strip())
        self.error.show()

    def show_trash_emptied(self, count: int) -> None:
        self.empty_trash_button.setEnabled(True)
        text = f"Deleted {count} chat{'s' if count != 1 else ''} for good."
        self.trash_status.setText(text if count else "The trash was already empty.")
        self.trash_status.show()

    # ------------------------------------------------------------------ queries
    def values(self) -> Settings:
        """The settings as shown; raises SettingsError when a value is out of range."""
        changes = {key: f.get() for key, f in self.fields.items()}
        return self._base.with_changes(**changes, extra_models=list(self._extra_paths))

    # ------------------------------------------------------------------ internals
    def _widget(self, key: str, kind: type[Any]) -> Any:
        widget = self.fields[key].widget
        assert isinstance(widget, kind), key
        return widget

    def _add_row(
        self, form: QFormLayout, f: SettingField, extra: QPushButton | None, taken: set[str]
    ) -> None:
        spec = f.spec
        help_text = spec.description
        if spec.effect is not Effect.LIVE:
            help_text += f" (A change {spec.effect.value}.)"
        f.widget.setAccessibleName(spec.label)
        f.widget.setAccessibleDescription(help_text)
        f.widget.setToolTip(help_text)
        label = QLabel(with_mnemonic(spec.label, taken), self)
        label.setBuddy(f.widget)
        if extra is None:
            form.addRow(label, f.widget)
            return
        extra.setText(with_mnemonic(extra.text(), taken))
        row = QHBoxLayout()
        row.addWidget(f.widget, 1)
        row.addWidget(extra)
        form.addRow(label, row)

    def _effects_note(self) -> str:
        """Which shown settings do not apply at once, from their declared effects."""
        parts = []
        for effect in (Effect.RELOAD_MODEL, Effect.RESTART):
            labels = [
                s.label for s in SETTINGS.values() if s.key in self.fields and s.effect is effect
            ]
            if labels:
                names = ", ".join(labels[:-1]) + (" or " if len(labels) > 1 else "") + labels[-1]
                parts.append(f"A change to {names} {effect.value}.")
        return " ".join(parts)

    def _model_value(self) -> str:
        return model_choices.current_value(self.model)

    def _select_model(self, wanted: Any) -> None:
        model_choices.select_model(self.model, str(wanted))

    def _on_models_page_use_requested(self, name: str) -> None:
        """Models > Use: choose it in the Model list (OK makes it so)."""
        row = self.models_page.rows.get(name)
        if row is None:
            return
        model_choices.use_catalog_model(self.model, row.model)
        self.models_page.show_status(f"{row.model.title} is chosen: press OK to chat with it.")

    def _cpu_backend_value(self) -> str:
        data = self.cpu_backend.currentData()
        if not self.cpu_backend.isEditable() and isinstance(data, str):
            return data
        return self.cpu_backend.currentText().strip()

    def _select_cpu_backend(self, wanted: Any) -> None:
        wanted = str(wanted)
        index = self.cpu_backend.findData(wanted)
        if index < 0:  # a saved name this machine does not list: keep it, selectable
            self.cpu_backend.addItem(wanted, wanted)
            index = self.cpu_backend.count() - 1
        self.cpu_backend.setCurrentIndex(index)

    def _on_buttons_accepted(self) -> None:
        try:
            settings = self.values()
        except KeikoError as exc:
            self.show_error(exc)
            return
        self.applied.emit(settings)

    def _on_add_model_button_clicked(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Add a GGUF model", "", "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.add_model_requested.emit(path)

    def _on_empty_trash_button_clicked(self) -> None:
        """Ask first (without blocking the loop); Yes emits ``empty_trash_requested``."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Empty the trash?",
            "Delete every deleted chat for good? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText("Empty trash")
        box.finished.connect(self._on_trash_confirm_finished)
        self.trash_confirm = box
        box.open()

    def _on_trash_confirm_finished(self, result: int) -> None:
        box, self.trash_confirm = self.trash_confirm, None
        if box is not None:
            box.deleteLater()
        if result == QMessageBox.StandardButton.Yes.value:
            self.empty_trash_button.setEnabled(False)
            self.trash_status.hide()
            self.empty_trash_requested.emit()
