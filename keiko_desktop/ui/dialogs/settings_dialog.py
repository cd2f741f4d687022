"""SettingsDialog (Ctrl+,): model, sampling, context, threads, system prompt and theme.

Passive: ``set_values`` fills it, OK emits ``applied`` with new Settings, and the presenter
decides (it closes the dialog, or shows why not with ``show_error``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
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
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.config import Settings, describe
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.ports import ModelInfo

THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


def _model_label(info: ModelInfo) -> str:
    size = f" · {info.size_bytes / 1e6:,.0f} MB" if info.size_bytes else ""
    return f"{info.name}{' (bundled)' if info.bundled else ''}{size}"


class SettingsDialog(QDialog):
    """Edits Settings.

    Signals:
        applied(Settings): OK was pressed with these (validated) settings.
        add_model_requested(str): the user picked a GGUF file to add.
        tools_requested(): the user wants Settings > Tools (servers, policies, audit log).
    """

    applied = Signal(object)
    add_model_requested = Signal(str)
    tools_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._base = Settings()
        self._extra_paths: list[str] = []
        help_text = {key: text for key, text, _default in describe()}

        self.model = QComboBox(self)
        self.add_model_button = QPushButton("Add GGUF file…", self)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.add_model_button)
        self.temperature = QDoubleSpinBox(self)
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.max_tokens = QSpinBox(self)
        self.max_tokens.setRange(16, 32768)
        self.max_tokens.setSingleStep(64)
        self.context_size = QSpinBox(self)
        self.context_size.setRange(16, 262144)
        self.context_size.setSingleStep(1024)
        self.threads = QSpinBox(self)
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("Automatic")
        self.system_prompt = QPlainTextEdit(self)
        self.system_prompt.setObjectName("SystemPrompt")
        self.system_prompt.setFixedHeight(96)
        self.theme = QComboBox(self)
        for key, label in THEMES:
            self.theme.addItem(label, key)
        self.tools_in_chat = QCheckBox("Let the model use tools in chat", self)
        self.tools_button = QPushButton("Tools…", self)
        self.tools_button.setToolTip("Tool servers, what each tool may do, and the audit log")
        tools_row = QHBoxLayout()
        tools_row.addWidget(self.tools_in_chat, 1)
        tools_row.addWidget(self.tools_button)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(10)
        form.addRow("Model", model_row)
        form.addRow("Temperature", self.temperature)
        form.addRow("Max reply length", self.max_tokens)
        form.addRow("Context size", self.context_size)
        form.addRow("CPU threads", self.threads)
        form.addRow("System prompt", self.system_prompt)
        form.addRow("Theme", self.theme)
        form.addRow("Tools", tools_row)
        for key, widget in (
            ("model", self.model),
            ("temperature", self.temperature),
            ("max_tokens", self.max_tokens),
            ("context_size", self.context_size),
            ("threads", self.threads),
            ("system_prompt", self.system_prompt),
            ("theme", self.theme),
            ("tools_in_chat", self.tools_in_chat),
        ):
            widget.setToolTip(help_text.get(key, ""))

        self.note = QLabel("Model, context size and threads apply when the model reloads.", self)
        self.note.setObjectName("PlaceholderText")
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
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.add_model_button.clicked.connect(self._on_add_model_button_clicked)
        self.tools_button.clicked.connect(self.tools_requested)

    # ------------------------------------------------------------------ setters
    def set_values(self, settings: Settings, models: Sequence[ModelInfo]) -> None:
        self._base = settings
        self._extra_paths = list(settings.extra_models)
        self.model.clear()
        for info in models:
            self.model.addItem(_model_label(info), "" if info.bundled else info.path)
            self.model.setItemData(
                self.model.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole
            )
        self._select_model(settings.model)
        self.temperature.setValue(settings.temperature)
        self.max_tokens.setValue(settings.max_tokens)
        self.context_size.setValue(settings.context_size)
        self.threads.setValue(settings.threads)
        self.system_prompt.setPlainText(settings.system_prompt)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.tools_in_chat.setChecked(settings.tools_in_chat)
        self.error.hide()

    def add_model(self, info: ModelInfo) -> None:
        """A model the user just added: list it (once) and select it."""
        if info.path not in self._extra_paths:
            self._extra_paths.append(info.path)
        index = self.model.findData(info.path)
        if index < 0:
            self.model.addItem(_model_label(info), info.path)
            index = self.model.count() - 1
        self.model.setCurrentIndex(index)
        self.error.hide()

    def show_error(self, error: KeikoError) -> None:
        self.error.setText(f"{error.message} {error.hint}".strip())
        self.error.show()

    # ------------------------------------------------------------------ queries
    def values(self) -> Settings:
        """The settings as shown; raises SettingsError when a value is out of range."""
        return self._base.with_changes(
            model=str(self.model.currentData() or ""),
            extra_models=list(self._extra_paths),
            temperature=round(self.temperature.value(), 2),
            max_tokens=self.max_tokens.value(),
            context_size=self.context_size.value(),
            threads=self.threads.value(),
            system_prompt=self.system_prompt.toPlainText(),
            theme=str(self.theme.currentData()),
            tools_in_chat=self.tools_in_chat.isChecked(),
        )

    # ------------------------------------------------------------------ internals
    def _select_model(self, wanted: str) -> None:
        if not wanted:
            self.model.setCurrentIndex(0)
            return
        for i in range(self.model.count()):
            data = str(self.model.itemData(i) or "")
            if data == wanted or self.model.itemText(i).split(" ")[0] == wanted.lower():
                self.model.setCurrentIndex(i)
                return
        self.model.addItem(wanted, wanted)
        self.model.setCurrentIndex(self.model.count() - 1)

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
