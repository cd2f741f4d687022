"""One model's own settings: chat template override, context length, threads, GPU layers.

0 (shown as "Use the general setting" / "The model's own") and an empty template mean the
general setting or what the GGUF file says (``core.downloads.ModelOptions``). GPU layers are
disabled, with the reason beside them, when llama.cpp here has no GPU backend. Passive: OK
emits ``saved(ModelOptions)``; the presenter stores them and closes it (or shows why not).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.downloads import ModelOptions
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line

MAX_TEMPLATE_CHARS = 64 * 1024
NO_GPU = "This llama.cpp was built without a GPU backend, so every layer runs on the CPU."


def _spin(parent: QWidget, high: int, step: int, zero: str, label: str, tip: str) -> QSpinBox:
    box = QSpinBox(parent)
    box.setRange(0, high)
    box.setSingleStep(step)
    box.setSpecialValueText(zero)
    box.setAccessibleName(label)
    box.setToolTip(tip)
    box.setAccessibleDescription(tip)
    return box


class ModelOptionsDialog(QDialog):
    """Edits one model's ``ModelOptions``.

    Signals:
        saved(ModelOptions): OK was pressed with these options.
    """

    saved = Signal(object)

    def __init__(
        self, model: str, title: str, gpu_offload: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.setWindowTitle(f"Options for {one_line(title, 80)}")
        self.setMinimumWidth(520)
        self.template = QPlainTextEdit(self)
        self.template.setTabChangesFocus(True)
        self.template.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.template.setPlaceholderText("Empty: the chat template inside the model file")
        tip = "A Jinja chat template used instead of the one in the GGUF file."
        self.template.setAccessibleName("Chat template")
        self.template.setToolTip(tip)
        self.template.setAccessibleDescription(tip)
        self.template.setMinimumHeight(140)
        self.context_length = _spin(
            self, 131072, 1024, "Use the general setting", "Context length",
            "Tokens of conversation the model sees at once (0: Settings > Model's context size).",
        )  # fmt: skip
        self.threads = _spin(
            self, 256, 1, "Use the general setting", "Threads",
            "CPU threads for this model (0: Settings > Model's threads).",
        )  # fmt: skip
        self.gpu_layers = _spin(
            self, 999, 1, "None", "GPU layers", "Layers of the model to run on the GPU."
        )
        self.gpu_note = QLabel(NO_GPU, self)
        self.gpu_note.setWordWrap(True)
        self.gpu_note.setObjectName("PlaceholderText")
        self.gpu_layers.setEnabled(gpu_offload)
        self.gpu_note.setVisible(not gpu_offload)
        if not gpu_offload:
            self.gpu_layers.setToolTip(NO_GPU)
            self.gpu_layers.setAccessibleDescription(NO_GPU)
        form = QFormLayout()
        for label, widget in (
            ("Chat &template", self.template),
            ("&Context length", self.context_length),
            ("T&hreads", self.threads),
            ("&GPU layers", self.gpu_layers),
        ):
            text = QLabel(label, self)
            text.setBuddy(widget)
            form.addRow(text, widget)
        form.addRow("", self.gpu_note)
        self.error = QLabel(self)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setObjectName("ErrorText")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        for button in self.buttons.buttons():
            button.setIcon(QIcon())
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)

    def set_options(self, options: ModelOptions) -> None:
        self.template.setPlainText(options.chat_template)
        self.context_length.setValue(options.context_length)
        self.threads.setValue(options.threads)
        self.gpu_layers.setValue(options.gpu_layers)

    def options(self) -> ModelOptions:
        """What is shown; SettingsError-free: the bounds are the editors' own (the template's
        length is checked on OK)."""
        return ModelOptions(
            chat_template=self.template.toPlainText(),
            context_length=self.context_length.value(),
            threads=self.threads.value(),
            gpu_layers=self.gpu_layers.value() if self.gpu_layers.isEnabled() else 0,
        )

    def show_error(self, error: KeikoError) -> None:
        self.error.setText(one_line(f"{error.message} {error.hint}".strip(), 600))
        self.error.show()

    def _on_buttons_accepted(self) -> None:
        options = self.options()
        if len(options.chat_template) > MAX_TEMPLATE_CHARS:
            self.show_error(
                KeikoError(
                    f"The chat template is {len(options.chat_template):,} characters long.",
                    f"At most {MAX_TEMPLATE_CHARS:,} fit.",
                )
            )
            return
        self.saved.emit(options)
