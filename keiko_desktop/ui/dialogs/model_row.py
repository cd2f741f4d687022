"""One recommended model in Settings > Models: what it is, whether it fits, and its download.

``ModelRow`` shows a ``CatalogModel`` (title, parameters, quantization, size, RAM, license, "Fits
this machine" or "Needs N GB RAM") and its buttons: Download / Pause / Resume / Remove / Use /
Options…, only those that apply. While it downloads a progress bar says how far, how fast and
how long is left; a failed download shows its message and hint in the row.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.downloads import CatalogModel, DownloadState
from keiko_desktop.core.files.types import human_size
from keiko_desktop.core.safe_text import one_line

RUNNING = ("queued", "downloading", "verifying")
STATUS_WORDS = {
    "queued": "Waiting to start…",
    "verifying": "Checking the file…",
    "paused": "Paused",
    "done": "Downloaded",
}


def _eta(state: DownloadState) -> str:
    left = state.total_bytes - state.done_bytes
    if state.bytes_per_second <= 0 or left <= 0:
        return ""
    seconds = left / state.bytes_per_second
    if seconds < 60:
        return " · under a minute left"
    if seconds < 3600:
        return f" · about {round(seconds / 60)} min left"
    return f" · about {seconds / 3600:.1f} h left"


def progress_text(state: DownloadState) -> str:
    """``312 MB of 808 MB · 4.2 MB/s · about 2 min left``, or what the download is doing."""
    if state.status in STATUS_WORDS and state.status != "paused":
        return STATUS_WORDS[state.status]
    total = f" of {human_size(state.total_bytes)}" if state.total_bytes > 0 else ""
    text = f"{human_size(state.done_bytes)}{total}"
    if state.status == "paused":
        return f"Paused at {text}"
    if state.bytes_per_second > 0:
        text += f" · {human_size(int(state.bytes_per_second))}/s"
    return text + _eta(state)


def _button(text: str, tip: str, parent: QWidget) -> QPushButton:
    button = QPushButton(text, parent)
    button.setAutoDefault(False)  # Enter in Settings still means OK
    button.setToolTip(tip)
    button.setStatusTip(tip)
    return button


class ModelRow(QFrame):
    """A catalog model's row.

    Signals (each with the model's name):
        download_requested, pause_requested, remove_requested, use_requested,
        options_requested.
    """

    download_requested = Signal(str)
    pause_requested = Signal(str)
    remove_requested = Signal(str)
    use_requested = Signal(str)
    options_requested = Signal(str)

    def __init__(self, model: CatalogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ModelRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.model = model
        self._parked = False  # Options… holds the focus until an action button is back
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.facts = QLabel(self)
        self.facts.setTextFormat(Qt.TextFormat.PlainText)
        self.facts.setWordWrap(True)  # the row never grows wider than the page
        self.fit = QLabel(self)
        self.fit.setTextFormat(Qt.TextFormat.PlainText)
        self.description = QLabel(self)
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.description.setWordWrap(True)
        self.description.setObjectName("PlaceholderText")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress_label = QLabel(self)
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error = QLabel(self)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setObjectName("ErrorText")
        self.error.setWordWrap(True)

        self.download_button = _button("Download", "Download this model", self)
        self.pause_button = _button("Pause", "Pause the download (it can resume later)", self)
        self.resume_button = _button("Resume", "Go on downloading from where it stopped", self)
        self.remove_button = _button("Remove", "Delete the downloaded file", self)
        self.use_button = _button("Use", "Make this the model Keiko chats with", self)
        self.options_button = _button(
            "Options…", "This model's chat template, context length, threads and GPU layers", self
        )
        self.buttons = (
            self.download_button,
            self.pause_button,
            self.resume_button,
            self.use_button,
            self.options_button,
            self.remove_button,
        )

        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.facts)
        text.addWidget(self.fit)
        text.addWidget(self.description)
        text.addWidget(self.progress)
        text.addWidget(self.progress_label)
        text.addWidget(self.error)
        actions = QHBoxLayout()
        actions.setSpacing(6)
        for button in self.buttons:
            actions.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(text, 1)
        layout.addLayout(actions)

        self.download_button.clicked.connect(self._on_download_button_clicked)
        self.resume_button.clicked.connect(self._on_download_button_clicked)
        self.pause_button.clicked.connect(self._on_pause_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.use_button.clicked.connect(self._on_use_button_clicked)
        self.options_button.clicked.connect(self._on_options_button_clicked)
        self.set_model(model)

    # ------------------------------------------------------------------ setters
    def set_model(self, model: CatalogModel) -> None:
        self.model = model
        title = one_line(model.title, 120)
        self.title.setText(title + ("  (bundled)" if model.bundled else ""))
        facts = [model.parameters, model.quantization, human_size(model.size_bytes)]
        facts += [f"{model.ram_gb:g} GB RAM", model.license]
        self.facts.setText(" · ".join(one_line(f, 80) for f in facts if f))
        ram = f"{model.ram_gb:g}"
        self.fit.setText("Fits this machine" if model.fits else f"Needs {ram} GB RAM")
        self.fit.setObjectName("PlaceholderText" if model.fits else "ErrorText")
        style = self.fit.style()  # re-polish: the object name picks its colour
        style.unpolish(self.fit)
        style.polish(self.fit)
        self.description.setText(one_line(model.description, 300))
        self.description.setVisible(bool(model.description))
        self.setAccessibleName(f"Model {title}")
        self.set_download(model.download)

    def set_download(self, state: DownloadState | None) -> None:
        """Show ``state`` (None: nothing downloaded or under way) and the buttons it allows."""
        model = self.model
        status = state.status if state is not None else None
        installed = bool(model.installed_path) or model.bundled or status == "done"
        running = status in RUNNING
        focused = next((b for b in self.buttons if b.hasFocus()), None)
        self.download_button.setVisible(not installed and status in (None, "failed"))
        self.download_button.setText("Retry" if status == "failed" else "Download")
        self.pause_button.setVisible(status in ("queued", "downloading"))
        self.resume_button.setVisible(status == "paused")
        self.use_button.setVisible(installed)
        self.remove_button.setVisible(not model.bundled and (installed or status == "paused"))
        self.remove_button.setToolTip(
            "Delete the downloaded file" if installed else "Delete what was downloaded so far"
        )
        self.remove_button.setEnabled(not running)
        parked, self._parked = self._parked, False
        if focused is not None and (
            not focused.isVisibleTo(self) or (parked and focused is self.options_button)
        ):
            self._focus_next_action()
        title = one_line(model.title, 120)
        for button in self.buttons:
            button.setAccessibleName(f"{button.text().rstrip('…')} {title}")
        show_progress = state is not None and status in (*RUNNING, "paused")
        self.progress.setVisible(show_progress)
        self.progress_label.setVisible(show_progress)
        if state is not None and show_progress:
            if status == "verifying" or (state.total_bytes <= 0 and status == "downloading"):
                self.progress.setRange(0, 0)  # busy: no fraction to show
            else:
                self.progress.setRange(0, 1000)
                self.progress.setValue(round(state.fraction * 1000))
            text = progress_text(state)
            self.progress_label.setText(text)
            self.progress.setAccessibleName(f"Download of {title}")
            self.progress.setAccessibleDescription(text)
            self.progress.setToolTip(text)
        failed = state is not None and status == "failed"
        self.error.setVisible(failed)
        if failed and state is not None:
            self.error.setText(one_line(f"{state.error} {state.hint}".strip(), 600))

    def show_error(self, message: str) -> None:
        """A request about this model failed (it could not start, say): say why, in the row."""
        self.error.setText(one_line(message, 600))
        self.error.show()

    def _focus_next_action(self) -> None:
        """The focused button went away (Download became Pause, say): its successor has the
        focus, so Space again pauses, resumes or uses without a hunt for the button."""
        order = (self.pause_button, self.resume_button, self.download_button, self.use_button)
        for button in (*order, self.options_button):
            if button.isVisibleTo(self) and button.isEnabled():
                button.setFocus(Qt.FocusReason.OtherFocusReason)
                # Options… only holds the focus while the file is checked: Use takes it next.
                self._parked = button is self.options_button
                return

    # ------------------------------------------------------------------ slots
    def _on_download_button_clicked(self) -> None:
        self.error.hide()
        self.download_requested.emit(self.model.name)

    def _on_pause_button_clicked(self) -> None:
        self.pause_requested.emit(self.model.name)

    def _on_remove_button_clicked(self) -> None:
        self.remove_requested.emit(self.model.name)

    def _on_use_button_clicked(self) -> None:
        self.use_requested.emit(self.model.name)

    def _on_options_button_clicked(self) -> None:
        self.options_requested.emit(self.model.name)
