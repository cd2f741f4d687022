"""ModelStatus: the model's name and state in the status bar, with a busy bar while it loads."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class ModelStatus(QWidget):
    """Shows e.g. "Loading SmolLM2…" with an indeterminate bar, then "SmolLM2 · ready"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ModelStatus")
        self.label = QLabel("Starting…", self)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("ProgressSpinner")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedSize(80, 4)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 0, 6, 0)
        layout.setSpacing(8)
        layout.addWidget(self.progress)
        layout.addWidget(self.label)
        self.state = "starting"

    def set_state(self, state: str, model_name: str, detail: str = "") -> None:
        """Show a model state: ``loading``, ``ready``, ``error`` or ``unloaded``."""
        self.state = state
        self.progress.setVisible(state in ("loading", "starting"))
        if state == "loading":
            text = f"Loading {model_name}…"
        elif state == "ready":
            text = f"{model_name} · ready"
            if detail == "fallback":
                text += " (the chosen model failed; using the default)"
        elif state == "error":
            text = f"{model_name} failed to load: {detail.splitlines()[0] if detail else ''}"
        else:
            text = "No model loaded"
        self.label.setText(text)
        self.label.setToolTip(detail)
