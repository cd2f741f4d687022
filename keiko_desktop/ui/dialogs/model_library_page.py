"""Settings > Models: the recommended models, their downloads, and importing a GGUF file.

``ModelLibraryPage`` is passive: ``set_models`` lists the catalog (one ``ModelRow`` each),
``update_download`` moves a row's progress on, and the user's wishes come out as signals that
``presenters.model_library_presenter.ModelLibraryPresenter`` carries out. "Import GGUF…" and a
``.gguf`` file dropped on the page emit ``import_requested`` with its path; Remove asks first
(a window-modal box that never blocks the loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.downloads import CatalogModel, DownloadState
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.files.types import human_size
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.dialogs.model_row import ModelRow
from keiko_desktop.ui.dialogs.question import question_box
from keiko_desktop.ui.file_drops import paths_from_mime
from keiko_desktop.ui.widgets.notice import notice_label

GGUF_FILTER = "GGUF models (*.gguf);;All files (*)"


def _ggufs(event: QDragEnterEvent | QDropEvent) -> list[Path]:
    return [p for p in paths_from_mime(event.mimeData()) if p.suffix.lower() == ".gguf"]


class ModelLibraryPage(QWidget):
    """The Models tab.

    Signals:
        download_requested(str): download (or resume) catalog model ``name``.
        pause_requested(str): pause its download.
        remove_requested(str): delete its file or partial download (the user confirmed).
        use_requested(str): make it the chat model.
        options_requested(str): edit its per-model options.
        import_requested(str): add the GGUF file at this path.
    """

    download_requested = Signal(str)
    pause_requested = Signal(str)
    remove_requested = Signal(str)
    use_requested = Signal(str)
    options_requested = Signal(str)
    import_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setAccessibleName("Models")
        self.rows: dict[str, ModelRow] = {}
        self.confirm: QMessageBox | None = None
        self.intro = QLabel(
            "Recommended models to download. A model that needs more memory than this machine "
            "has says so; drop a .gguf file here to add one of your own.",
            self,
        )
        self.intro.setWordWrap(True)
        self.intro.setObjectName("PlaceholderText")
        self.unavailable = QLabel(self)
        self.unavailable.setTextFormat(Qt.TextFormat.PlainText)
        self.unavailable.setWordWrap(True)
        self.unavailable.hide()
        self.list_widget = QWidget(self)
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(8)
        self.list_layout.addStretch(1)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(self.list_widget)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setAccessibleName("Recommended models")
        self.scroll_area.setMinimumHeight(260)
        self.import_button = QPushButton("Import GGUF…", self)
        tip = "Add a .gguf model file from this computer (it stays where it is)"
        self.import_button.setToolTip(tip)
        self.import_button.setStatusTip(tip)
        self.import_button.setAccessibleName("Import a GGUF model file")
        self.status = notice_label(self)
        self.error = notice_label(self, error=True)
        bottom = QHBoxLayout()
        self.import_button.setAutoDefault(False)
        bottom.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignLeft)
        bottom.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.unavailable)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.error)
        layout.addLayout(bottom)
        self.import_button.clicked.connect(self._on_import_button_clicked)

    # ------------------------------------------------------------------ setters
    def set_models(self, models: Sequence[CatalogModel]) -> None:
        """List ``models`` (rows of models still listed are kept, so focus stays put)."""
        self.unavailable.hide()
        self.scroll_area.show()
        wanted = [m.name for m in models]
        for name in [n for n in self.rows if n not in wanted]:
            gone = self.rows.pop(name)
            self.list_layout.removeWidget(gone)
            gone.deleteLater()
        for position, model in enumerate(models):
            row = self.rows.get(model.name)
            if row is None:
                row = ModelRow(model, self.list_widget)
                row.download_requested.connect(self.download_requested)
                row.pause_requested.connect(self.pause_requested)
                row.remove_requested.connect(self._on_row_remove_requested)
                row.use_requested.connect(self.use_requested)
                row.options_requested.connect(self.options_requested)
                self.rows[model.name] = row
            else:
                row.set_model(model)
            self.list_layout.insertWidget(position, row)
        self._fix_tab_order()

    def set_unavailable(self, reason: str) -> None:
        """No model library here (the Core has none): say why; importing still works."""
        self.set_models(())
        self.scroll_area.hide()
        self.unavailable.setText(reason)
        self.unavailable.show()

    def update_download(self, state: DownloadState) -> None:
        row = self.rows.get(state.name)
        if row is not None:
            row.set_download(state)

    def show_error(self, error: KeikoError, name: str = "") -> None:
        """``error`` in ``name``'s row, or under the list when it is about no one model."""
        text = f"{error.message} {error.hint}".strip()
        row = self.rows.get(name)
        if row is not None:
            row.show_error(text)
            return
        self.error.setText(one_line(text, 600))
        self.error.show()

    def show_status(self, text: str) -> None:
        self.error.hide()
        self.status.setText(one_line(text, 300))
        self.status.show()

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if _ggufs(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        paths = _ggufs(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        for path in paths:
            self.import_requested.emit(str(path))

    # ------------------------------------------------------------------ internals
    def _fix_tab_order(self) -> None:
        """Row by row, each row's buttons left to right, then Import."""
        previous: QWidget | None = None
        for index in range(self.list_layout.count()):
            item = self.list_layout.itemAt(index)
            row = item.widget() if item is not None else None
            if not isinstance(row, ModelRow):
                continue
            for button in row.buttons:
                if previous is not None:
                    QWidget.setTabOrder(previous, button)
                previous = button
        if previous is not None:
            QWidget.setTabOrder(previous, self.import_button)

    def _on_import_button_clicked(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Import a GGUF model", "", GGUF_FILTER)
        if path:
            self.import_requested.emit(path)

    def _on_row_remove_requested(self, name: str) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        model = row.model
        title = one_line(model.title, 120)
        if model.installed_path:
            text = f"Delete the downloaded model {title} ({human_size(model.size_bytes)})?"
        else:
            text = f"Delete what was downloaded of {title} so far?"

        def done(answer: int) -> None:
            self.confirm = None
            if answer == QMessageBox.StandardButton.Yes:
                self.remove_requested.emit(name)

        if self.confirm is not None:
            self.confirm.close()
        self.confirm = question_box(self, "Remove the model?", text, "Delete", done)
