"""Files into the chat window: drops on the chat and the message box, paste, Attach; each file a
chip in the right state; sending links the ready ones. A real Core: real SQLite, the real
AttachmentService and extractor (pypdf), a scripted model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from keiko_desktop.app import Core, build_files
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.ui import file_drops
from keiko_desktop.ui.dialogs.drop_offers import count_servers
from keiko_desktop.ui.presenters.attachments_presenter import MAX_ATTACHMENTS
from keiko_desktop.ui.presenters.chat_files import IMAGE_NOTE
from keiko_desktop.ui.widgets.attachment_chips import AttachmentChips
from tests.helpers.documents import (
    make_binary,
    make_gguf,
    make_mcp_config,
    make_pdf,
    make_png,
    make_text,
    page_text,
)
from tests.helpers.fake_model import FakeChatModel
from tests.qt.conftest import Harness, make_fake_core

NO_MODIFIER = Qt.KeyboardModifier.NoModifier


async def core_with_files(paths: Paths, model: FakeChatModel, settings: Settings | None) -> Core:
    core = await make_fake_core(paths, model, settings)
    core.files = build_files(core)
    core.chat.set_files(core.files)
    return core


@pytest.fixture
def fh(make_harness: Callable[..., Harness], paths: Paths, fake_model: FakeChatModel) -> Harness:
    """The window on a Core with attachments."""
    return make_harness(lambda: core_with_files(paths, fake_model, Settings(max_tokens=48)))


def url_mime(paths: Sequence[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop(target: QWidget, mime: QMimeData) -> bool:
    """A drag entering ``target`` and dropped there; whether the drop was taken."""
    enter = QDragEnterEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, NO_MODIFIER
    )
    enter.ignore()
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, NO_MODIFIER
    )
    event.ignore()
    QApplication.sendEvent(target, event)
    return event.isAccepted()


def chips(h: Harness) -> AttachmentChips:
    return h.panel.composer.chips  # type: ignore[no-any-return]


def statuses(h: Harness) -> list[str | None]:
    return [chips(h).status(t) for t in chips(h).tokens()]


def settled(h: Harness, count: int) -> Callable[[], bool]:
    def check() -> bool:
        return (
            len(chips(h)) == count
            and not chips(h).busy()
            and not h.controller.chat.files.intake.busy()
        )

    return check


def send(h: Harness, text: str) -> None:
    h.panel.composer.set_text(text)
    QTest.keyClick(h.panel.composer.editor, Qt.Key.Key_Return)


def reply_done(h: Harness) -> Callable[[], bool]:
    def check() -> bool:
        widget = h.panel.view.last_widget()
        return (
            widget is not None
            and widget.message.role == "assistant"
            and widget.message.status == "complete"
            and not h.controller.chat.is_streaming()
        )

    return check


def test_a_text_file_dropped_on_the_chat_is_a_chip_and_is_sent_with_the_message(
    fh: Harness, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    notes = make_text(tmp_path / "notes.md", "# Plans\n\nThe launch is on a Tuesday in May.\n")
    assert drop(fh.panel, url_mime([notes]))
    fh.wait(settled(fh, 1))
    token = chips(fh).tokens()[0]
    assert statuses(fh) == ["ready"]
    chip = chips(fh).chip(token)
    assert chip is not None
    assert "notes.md, ready" in chip.accessibleName()
    assert chip.focusPolicy() & Qt.FocusPolicy.TabFocus
    fake_model.enqueue(["It is on a Tuesday."])
    send(fh, "When is the launch?")
    fh.wait(reply_done(fh))
    assert len(chips(fh)) == 0  # sent with the message
    cid = fh.controller.chat.conversation_id
    messages = fh.run(fh.core.conversations.list_messages(cid))
    user = messages[0]
    linked = fh.run(fh.core.files.for_message(user.id))
    assert [a.name for a in linked] == ["notes.md"]
    widget = fh.panel.view.widget_for(user.id)
    assert widget is not None
    assert widget.attachments is not None
    assert widget.attachments.ready_ids() == [linked[0].id]
    # The model saw the passage as data, the stored message is the question alone.
    seen = fake_model.calls[-1][-1].content
    assert "<passage" in seen
    assert "Tuesday in May" in seen
    assert seen.endswith("When is the launch?")
    assert user.content == "When is the launch?"


def test_a_pdf_dropped_on_the_message_box_is_read_page_by_page(fh: Harness, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "report.pdf", [page_text(1), page_text(2), page_text(3)])
    editor = fh.panel.composer.editor
    assert drop(editor.viewport(), url_mime([pdf]))
    fh.wait(settled(fh, 1))
    token = chips(fh).tokens()[0]
    info = chips(fh).info(token)
    assert info is not None
    assert info.kind == "pdf"
    assert info.pages == 3
    chip = chips(fh).chip(token)
    assert chip is not None
    assert "3 pages" in chip.detail_label.text()
    assert fh.panel.composer.text == ""  # not pasted as a path


def test_an_image_is_a_chip_with_a_thumbnail_and_the_model_note(
    fh: Harness, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    png = make_png(tmp_path / "chart.png", 40, 30)
    assert drop(fh.panel, url_mime([png]))
    fh.wait(settled(fh, 1))
    token = chips(fh).tokens()[0]
    chip = chips(fh).chip(token)
    assert chip is not None
    fh.wait(lambda: chip.has_thumbnail)
    fake_model.enqueue(["I cannot see it."])
    send(fh, "What does the chart show?")
    fh.wait(reply_done(fh))
    user = fh.run(fh.core.conversations.list_messages(fh.controller.chat.conversation_id))[0]
    widget = fh.panel.view.widget_for(user.id)
    assert widget is not None
    assert widget.attachment_note.text() == IMAGE_NOTE
    assert "this model cannot see images" in fake_model.calls[-1][-1].content


def test_audio_goes_the_voice_path_and_makes_no_chip(
    fh: Harness, qtbot: Any, tmp_path: Path
) -> None:
    wav = tmp_path / "memo.wav"
    wav.write_bytes(b"RIFF" + b"\x00" * 40)
    with qtbot.waitSignal(fh.panel.audio_files_dropped, timeout=2000) as blocker:
        assert drop(fh.panel, url_mime([wav]))
    assert blocker.args == [[str(wav)]]
    assert len(chips(fh)) == 0
    # Audio among files given to the intake (no suffix test there: classified) goes the same way.
    with qtbot.waitSignal(fh.panel.audio_files_dropped, timeout=5000) as blocker:
        fh.controller.chat.files.intake.take([wav])
    assert blocker.args == [[str(wav)]]
    assert len(chips(fh)) == 0


def question(h: Harness) -> QMessageBox:
    offers = h.controller.chat.files.offers
    h.wait(lambda: offers.box is not None and offers.box.isVisible())
    assert offers.box is not None
    return offers.box


def test_a_folder_is_offered_to_the_files_tool(fh: Harness, tmp_path: Path) -> None:
    folder = tmp_path / "projects"
    folder.mkdir()
    assert drop(fh.panel, url_mime([folder]))
    box = question(fh)
    assert "projects" in box.text()
    assert "files tool" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    assert len(chips(fh)) == 0
    box.button(QMessageBox.StandardButton.Yes).click()
    toasts = fh.window.toasts
    fh.wait(lambda: toasts.current is not None and "projects" in toasts.current.text)
    mcp = (fh.core.paths.config_dir / "mcp.json").read_text(encoding="utf-8")
    assert str(folder) in mcp


def test_a_model_and_an_mcp_config_are_offered_not_attached(fh: Harness, tmp_path: Path) -> None:
    model = make_gguf(tmp_path / "tiny.gguf")
    assert drop(fh.panel, url_mime([model]))
    box = question(fh)
    assert "Add the model tiny.gguf (72 B)?" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    toasts = fh.window.toasts
    fh.wait(lambda: toasts.current is not None and "Added the model tiny" in toasts.current.text)
    assert str(model) in fh.core.settings.extra_models  # kept across runs
    config = make_mcp_config(tmp_path / "claude_desktop_config.json", ("notes", "git"))
    assert drop(fh.panel, url_mime([config]))
    box = question(fh)
    assert "Import 2 MCP servers from claude_desktop_config.json?" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    fh.wait(lambda: toasts.current is not None and "Imported MCP servers" in toasts.current.text)
    assert "git" in toasts.current.text  # type: ignore[union-attr]
    assert '"git"' in (fh.core.paths.config_dir / "mcp.json").read_text(encoding="utf-8")
    assert len(chips(fh)) == 0


def test_count_servers_reads_the_config_kinds_and_survives_garbage(tmp_path: Path) -> None:
    assert count_servers(make_mcp_config(tmp_path / "a.json", ("x", "y", "z"))) == 3
    assert count_servers(make_mcp_config(tmp_path / "b.json", ("x",), key="servers")) == 1
    bad = tmp_path / "c.json"
    bad.write_text("{not json", encoding="utf-8")
    assert count_servers(bad) == 0
    assert count_servers(tmp_path / "missing.json") == 0


def test_an_oversize_and_a_binary_file_fail_with_clear_messages_and_store_nothing(
    fh: Harness, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    fh.core.update_settings(fh.core.settings.with_changes(attachment_max_mb=1))
    big = make_text(tmp_path / "big.txt", "words " * 300_000)  # 1.8 MB
    blob = make_binary(tmp_path / "blob.dat")
    assert drop(fh.panel, url_mime([big, blob]))
    fh.wait(settled(fh, 2))
    big_token, blob_token = chips(fh).tokens()
    assert statuses(fh) == ["failed", "failed"]
    assert "over the 1 MB limit" in chips(fh).message(big_token)
    assert "binary" in chips(fh).message(blob_token)
    chip = chips(fh).chip(big_token)
    assert chip is not None
    assert "attachment_max_mb" in chip.detail_label.toolTip()
    assert fh.run(fh.core.files.repo.all_shas()) == set()
    fake_model.enqueue(["ok"])
    send(fh, "hello")  # the failed chips do not go with it
    fh.wait(reply_done(fh))
    user = fh.run(fh.core.conversations.list_messages(fh.controller.chat.conversation_id))[0]
    assert fh.run(fh.core.files.for_message(user.id)) == []


def test_pasting_an_image_or_files_attaches_them_and_text_pastes_as_text(
    fh: Harness, tmp_path: Path
) -> None:
    editor = fh.panel.composer.editor
    editor.setFocus()
    clipboard = QGuiApplication.clipboard()
    image = QImage(24, 16, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    mime = QMimeData()
    mime.setImageData(image)
    clipboard.setMimeData(mime)
    QTest.keyClick(editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    fh.wait(settled(fh, 1))
    first = chips(fh).info(chips(fh).tokens()[0])
    assert first is not None
    assert first.kind == "image"
    assert first.name.startswith("pasted image")
    notes = make_text(tmp_path / "todo.txt", "milk, eggs")
    clipboard.setMimeData(url_mime([notes]))
    QTest.keyClick(editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    fh.wait(settled(fh, 2))
    assert [chips(fh).info(t).name for t in chips(fh).tokens()][1] == "todo.txt"  # type: ignore[union-attr]
    assert editor.toPlainText() == ""
    clipboard.setText("just <b>text</b>")
    QTest.keyClick(editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == "just <b>text</b>"
    assert len(chips(fh)) == 2


def test_removing_a_chip_discards_its_copy(fh: Harness, tmp_path: Path) -> None:
    one = make_text(tmp_path / "one.txt", "first file")
    two = make_text(tmp_path / "two.txt", "second file")
    assert drop(fh.panel, url_mime([one, two]))
    fh.wait(settled(fh, 2))
    first, second = chips(fh).tokens()
    ids = chips(fh).ready_ids()
    chip = chips(fh).chip(first)
    assert chip is not None
    chip.remove_button.click()
    chip2 = chips(fh).chip(second)
    assert chip2 is not None
    chip2.setFocus()
    QTest.keyClick(chip2, Qt.Key.Key_Delete)
    assert len(chips(fh)) == 0
    intake = fh.controller.chat.files.intake
    fh.run(intake.wait_settled())
    for attachment_id in ids:
        assert fh.run(fh.core.files.repo.get(attachment_id)) is None
    assert not list((fh.core.paths.data_dir / "files").rglob("*/*"))


def test_send_waits_while_a_chip_is_being_read(fh: Harness) -> None:
    composer = fh.panel.composer
    composer.chips.add_pending(999, "slow.pdf")
    composer.set_text("hello")
    QTest.keyClick(composer.editor, Qt.Key.Key_Return)
    assert composer.text == "hello"
    assert "still being read" in composer.hint.text()
    composer.chips.remove(999)


def test_attach_button_opens_a_file_chooser_and_takes_its_files(
    fh: Harness, tmp_path: Path
) -> None:
    composer = fh.panel.composer
    assert composer.attach_button.accessibleName() == "Attach files"
    composer.attach_button.click()
    files = fh.controller.chat.files
    dialog = files.file_dialog
    assert dialog is not None
    assert dialog.isVisible()
    notes = make_text(tmp_path / "chosen.csv", "a,b\n1,2\n")
    dialog.filesSelected.emit([str(notes)])
    dialog.reject()
    fh.wait(settled(fh, 1))
    info = chips(fh).info(chips(fh).tokens()[0])
    assert info is not None
    assert info.kind == "csv"
    composer.editor.setFocus()
    QTest.keyClick(
        composer.editor,
        Qt.Key.Key_A,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert dialog.isVisible()
    dialog.reject()


def test_at_most_so_many_files_at_once(fh: Harness, tmp_path: Path) -> None:
    many = [make_text(tmp_path / f"f{i}.txt", f"file {i}") for i in range(MAX_ATTACHMENTS + 2)]
    assert drop(fh.panel, url_mime(many))
    fh.wait(settled(fh, MAX_ATTACHMENTS))
    assert statuses(fh) == ["ready"] * MAX_ATTACHMENTS
    assert f"At most {MAX_ATTACHMENTS} files" in fh.panel.notice.label.text()


def test_ask_new_attaches_and_sends_in_a_new_chat(
    fh: Harness, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "plan.pdf", ["The budget is 42 coins.", "Nothing else."])
    fake_model.enqueue(["42 coins [plan.pdf, p. 1]."])
    fh.controller.chat.ask_new("What is the budget?", [pdf])
    fh.wait(reply_done(fh), timeout=20)
    cid = fh.controller.chat.conversation_id
    user = fh.run(fh.core.conversations.list_messages(cid))[0]
    assert user.content == "What is the budget?"
    assert [a.name for a in fh.run(fh.core.files.for_message(user.id))] == ["plan.pdf"]


def test_ask_new_with_a_bad_file_leaves_the_question_in_the_box(
    fh: Harness, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    blob = make_binary(tmp_path / "blob.bin")
    fh.controller.chat.ask_new("Read this", [blob])
    fh.wait(settled(fh, 1))
    fh.wait(lambda: fh.panel.composer.text == "Read this")
    assert statuses(fh) == ["failed"]
    assert fh.controller.chat.conversation_id is None
    assert fake_model.calls == []


def test_file_drops_helpers_keep_only_local_files(tmp_path: Path) -> None:
    mime = QMimeData()
    local = tmp_path / "a.txt"
    mime.setUrls(
        [
            QUrl.fromLocalFile(str(local)),
            QUrl("https://example.org/b.txt"),
            QUrl.fromLocalFile(str(local)),
        ]
    )
    assert file_drops.paths_from_mime(mime) == [local]
    assert file_drops.has_files(mime)
    web = QMimeData()
    web.setUrls([QUrl("https://example.org/b.txt")])
    assert not file_drops.has_files(web)
    assert file_drops.paths_from_mime(web) == []
    lots = url_mime([tmp_path / f"{i}.txt" for i in range(80)])
    assert len(file_drops.paths_from_mime(lots)) == file_drops.MAX_DROPPED_FILES
    assert file_drops.image_from_mime(QMimeData()) is None
