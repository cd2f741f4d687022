"""Settings > Models: rows from the library, downloads driven by its events, errors with hints,
per-model options, Use, Remove, and importing a GGUF file (picked or dropped)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from keiko_desktop.core.config import Paths, Settings, load_settings
from keiko_desktop.core.downloads import ModelOptions
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ModelInfo
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.dialogs.model_library_page import ModelLibraryPage
from keiko_desktop.ui.dialogs.model_options_dialog import NO_GPU, ModelOptionsDialog
from keiko_desktop.ui.dialogs.model_row import ModelRow
from keiko_desktop.ui.dialogs.settings_dialog import SettingsDialog
from keiko_desktop.ui.presenters.model_library_presenter import ModelLibraryPresenter
from tests.helpers.fake_library import GB, FakeLibrary, catalog_model
from tests.qt.conftest import Harness, make_fake_core, wait_until
from tests.qt.test_file_drops import drop as drop_mime
from tests.qt.test_file_drops import url_mime


def catalog() -> list[Any]:
    return [
        catalog_model("smollm2", title="SmolLM2 135M", bundled=True, installed_path="/b.gguf"),
        catalog_model("qwen2.5-1.5b", title="Qwen2.5 1.5B", size_bytes=GB),
        catalog_model("big-model", title="Big Model 70B", ram_gb=48.0, fits=False),
    ]


class Page:
    def __init__(self, qtbot: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.bus = EventBus(loop)
        self.bridge = EventBridge()
        self.bridge.attach(self.bus)
        self.library = FakeLibrary(catalog(), self.bus)
        self.page = ModelLibraryPage()
        qtbot.addWidget(self.page)
        self.presenter = ModelLibraryPresenter(self.page, self.library, self.bridge)
        self.presenter.refresh()
        self.page.resize(760, 520)
        self.page.show()

    def row(self, name: str) -> ModelRow:
        return self.page.rows[name]


def visible_buttons(row: ModelRow) -> list[str]:
    return [b.text() for b in row.buttons if b.isVisibleTo(row)]


def test_rows_show_what_each_model_is_and_whether_it_fits(qtbot: Any, loop: Any) -> None:
    p = Page(qtbot, loop)
    assert list(p.page.rows) == ["smollm2", "qwen2.5-1.5b", "big-model"]
    qwen = p.row("qwen2.5-1.5b")
    assert qwen.title.text() == "Qwen2.5 1.5B"
    assert qwen.facts.text() == "1.5B · Q4_K_M · 1.0 GB · 2 GB RAM · Apache-2.0"
    assert qwen.fit.text() == "Fits this machine"
    assert p.row("big-model").fit.text() == "Needs 48 GB RAM"
    assert visible_buttons(qwen) == ["Download", "Options…"]
    assert visible_buttons(p.row("smollm2")) == ["Use", "Options…"]  # bundled: never removed
    assert "(bundled)" in p.row("smollm2").title.text()
    for row in p.page.rows.values():  # every control is named and explained
        for button in row.buttons:
            assert button.accessibleName().endswith(row.model.title)
            assert button.toolTip()
    assert p.page.import_button.accessibleName()
    assert p.page.import_button.toolTip()
    assert not qwen.progress.isVisibleTo(qwen)


def test_download_progress_pause_and_resume_follow_the_librarys_events(
    qtbot: Any, loop: Any
) -> None:
    p = Page(qtbot, loop)
    row = p.row("qwen2.5-1.5b")
    qtbot.mouseClick(row.download_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: ("download", "qwen2.5-1.5b") in p.library.calls)
    wait_until(lambda: row.pause_button.isVisibleTo(row))
    assert row.progress.isVisibleTo(row)
    assert not row.download_button.isVisibleTo(row)

    p.library.progress("qwen2.5-1.5b", GB // 4, speed=4 * 1024**2)  # an event, as the real one
    assert row.progress.value() == 250
    assert row.progress_label.text() == "256 MB of 1.0 GB · 4.0 MB/s · about 3 min left"
    assert row.progress.accessibleDescription() == row.progress_label.text()

    qtbot.mouseClick(row.pause_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: row.resume_button.isVisibleTo(row))
    assert ("pause", "qwen2.5-1.5b") in p.library.calls
    assert row.progress_label.text() == "Paused at 256 MB of 1.0 GB"
    assert visible_buttons(row) == ["Resume", "Options…", "Remove"]  # the partial file can go

    qtbot.mouseClick(row.resume_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: p.library.calls.count(("download", "qwen2.5-1.5b")) == 2)
    wait_until(lambda: row.pause_button.isVisibleTo(row))
    assert row.progress.value() == 250  # resumed from where it was


def test_the_keyboard_focus_moves_to_the_button_that_replaces_the_pressed_one(
    qtbot: Any, loop: Any
) -> None:
    p = Page(qtbot, loop)
    p.page.activateWindow()
    row = p.row("qwen2.5-1.5b")
    row.download_button.setFocus()
    qtbot.keyClick(row.download_button, Qt.Key.Key_Space)
    wait_until(lambda: row.pause_button.isVisibleTo(row))
    wait_until(row.pause_button.hasFocus)  # Space again pauses
    qtbot.keyClick(row.pause_button, Qt.Key.Key_Space)
    wait_until(lambda: row.resume_button.isVisibleTo(row))
    wait_until(row.resume_button.hasFocus)
    assert ("pause", "qwen2.5-1.5b") in p.library.calls
    qtbot.keyClick(row.resume_button, Qt.Key.Key_Space)
    wait_until(row.pause_button.hasFocus)
    p.library.verify("qwen2.5-1.5b")  # no action while the file is checked
    wait_until(row.options_button.hasFocus)
    p.library.finish("qwen2.5-1.5b", "/models/qwen.gguf")
    wait_until(row.use_button.hasFocus)  # Space now uses the model


def test_a_download_that_fails_or_cannot_start_says_why_with_its_hint(
    qtbot: Any, loop: Any
) -> None:
    p = Page(qtbot, loop)
    p.library.refuse["big-model"] = KeikoError(
        "Not enough free disk: 2.1 GB free, 4.0 GB needed.", "Free some space and try again."
    )
    big = p.row("big-model")
    qtbot.mouseClick(big.download_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: big.error.isVisibleTo(big))
    assert big.error.text() == (
        "Not enough free disk: 2.1 GB free, 4.0 GB needed. Free some space and try again."
    )
    assert big.download_button.isVisibleTo(big)  # it can be tried again

    qwen = p.row("qwen2.5-1.5b")
    qtbot.mouseClick(qwen.download_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: qwen.pause_button.isVisibleTo(qwen))
    p.library.fail("qwen2.5-1.5b", "The file's sha256 does not match.", "Download it again.")
    assert qwen.error.text() == "The file's sha256 does not match. Download it again."
    assert qwen.download_button.text() == "Retry"
    assert not qwen.progress.isVisibleTo(qwen)


def test_a_finished_download_offers_use_and_remove_and_remove_asks_first(
    qtbot: Any, loop: Any
) -> None:
    p = Page(qtbot, loop)
    row = p.row("qwen2.5-1.5b")
    qtbot.mouseClick(row.download_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: row.pause_button.isVisibleTo(row))
    p.library.finish("qwen2.5-1.5b", "/models/qwen.gguf")
    assert row.model.installed_path == "/models/qwen.gguf"  # the page read the catalog again
    assert visible_buttons(row) == ["Use", "Options…", "Remove"]
    qtbot.mouseClick(row.remove_button, Qt.MouseButton.LeftButton)
    box = p.page.confirm
    assert isinstance(box, QMessageBox)
    assert "Qwen2.5 1.5B (1.0 GB)" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    assert ("remove", "qwen2.5-1.5b") not in p.library.calls
    box.button(QMessageBox.StandardButton.Yes).click()
    wait_until(lambda: ("remove", "qwen2.5-1.5b") in p.library.calls)
    wait_until(lambda: row.download_button.isVisibleTo(row))
    assert p.page.status.text() == "Removed Qwen2.5 1.5B."


def test_options_are_read_and_saved_and_gpu_layers_say_why_they_are_off(
    qtbot: Any, loop: Any
) -> None:
    p = Page(qtbot, loop)
    p.library.saved_options["qwen2.5-1.5b"] = ModelOptions(context_length=8192)
    row = p.row("qwen2.5-1.5b")
    qtbot.mouseClick(row.options_button, Qt.MouseButton.LeftButton)
    dialog = p.presenter.options_dialog
    assert isinstance(dialog, ModelOptionsDialog)
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert dialog.context_length.value() == 8192
    assert not dialog.gpu_layers.isEnabled()
    assert dialog.gpu_layers.toolTip() == NO_GPU
    assert dialog.gpu_note.isVisibleTo(dialog)
    dialog.template.setPlainText("{% for m in messages %}{{ m.content }}{% endfor %}")
    dialog.threads.setValue(4)
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    saved = p.library.saved_options["qwen2.5-1.5b"]
    assert saved == ModelOptions(
        chat_template="{% for m in messages %}{{ m.content }}{% endfor %}",
        context_length=8192,
        threads=4,
        gpu_layers=0,
    )
    assert not dialog.isVisible()
    with_gpu = ModelOptionsDialog("m", "M", gpu_offload=True)
    qtbot.addWidget(with_gpu)
    assert with_gpu.gpu_layers.isEnabled()
    assert not with_gpu.gpu_note.isVisibleTo(with_gpu)


def test_use_chooses_the_model_in_the_settings_model_list(qtbot: Any) -> None:
    dialog = SettingsDialog(microphones=lambda: (), hotkey=lambda: (True, ""))
    qtbot.addWidget(dialog)
    dialog.set_values(Settings(), [ModelInfo("smollm2", "/b.gguf", 1, bundled=True)])
    page = dialog.models_page
    assert "Models" in [dialog.pages.tabText(i) for i in range(dialog.pages.count())]
    library = FakeLibrary(
        [*catalog(), catalog_model("phi", title="Phi 3", installed_path="/m/phi.gguf")]
    )
    page.set_models(library.catalog())
    qtbot.mouseClick(page.rows["phi"].use_button, Qt.MouseButton.LeftButton)
    assert dialog.values().model == "/m/phi.gguf"
    assert "press OK" in page.status.text()
    qtbot.mouseClick(page.rows["smollm2"].use_button, Qt.MouseButton.LeftButton)
    assert dialog.values().model == ""  # the bundled model


def drop(target: QWidget, paths: list[Path]) -> bool:
    """The files dragged onto ``target`` and dropped; whether the drop was taken."""
    return drop_mime(target, url_mime(paths))


def test_a_dropped_or_picked_gguf_is_checked_listed_and_kept_on_ok(
    make_harness: Any, paths: Paths, fake_model: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from keiko_desktop.llm.registry import ModelRegistry, locate_bundled_model

    async def core_with_a_real_registry() -> Any:
        core = await make_fake_core(paths, fake_model)
        core.registry = ModelRegistry(core.settings)  # checks the GGUF header, in a thread
        core.library = FakeLibrary(catalog(), core.bus)
        return core

    h: Harness = make_harness(core_with_a_real_registry)
    mine = tmp_path / "My-Model.gguf"
    os.symlink(locate_bundled_model(), mine)
    junk = tmp_path / "notes.gguf"
    junk.write_text("not a model")
    h.controller.settings.open()
    h.wait(lambda: h.controller.settings.dialog is not None)
    dialog = h.controller.settings.dialog
    assert dialog is not None
    h.wait(dialog.isVisible)
    page = dialog.models_page
    dialog.pages.setCurrentWidget(page)
    assert list(page.rows) == ["smollm2", "qwen2.5-1.5b", "big-model"]
    assert not drop(page, [tmp_path / "readme.txt"])  # only .gguf files are taken
    assert drop(page, [mine])
    h.wait(lambda: dialog.model.currentData() == str(mine))
    assert "Added my-model" in page.status.text()

    monkeypatch.setattr(
        "keiko_desktop.ui.dialogs.model_library_page.QFileDialog.getOpenFileName",
        lambda *a, **k: (str(junk), ""),
    )
    qtbot_click(page.import_button)
    h.wait(lambda: page.error.isVisible())
    assert "notes.gguf" in page.error.text()  # the registry's reason, on the page

    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    h.wait(lambda: not dialog.isVisible())
    saved = load_settings(paths)
    assert saved.extra_models == (str(mine),)
    assert saved.model == str(mine)


def qtbot_click(button: QPushButton) -> None:
    button.click()
