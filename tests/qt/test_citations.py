"""A reply citing a passage of an attached file: the Sources row, the citation in the text made a
link, and the link (a real click) opening the passage dialog at the passage, highlighted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.files.types import Chunk, Passage
from keiko_desktop.ui.dialogs.passage_dialog import PassageDialog, excerpt
from keiko_desktop.ui.widgets.message_sources import source_id
from keiko_desktop.ui.widgets.message_widget import MessageWidget
from tests.helpers.documents import make_pdf, make_text
from tests.helpers.fake_model import FakeChatModel
from tests.qt.conftest import Harness
from tests.qt.test_file_drops import (
    core_with_files,
    drop,
    reply_done,
    send,
    settled,
    url_mime,
)

PAGES = [
    "Chapter one is about apples. Apples grow on trees in orchards.",
    "Chapter two is about the budget. The budget for the orchard is 42 gold coins.",
    "Chapter three is about pears.",
]


@pytest.fixture
def fh(make_harness: Callable[..., Harness], paths: Paths, fake_model: FakeChatModel) -> Harness:
    return make_harness(lambda: core_with_files(paths, fake_model, Settings(max_tokens=48)))


def attach(h: Harness, path: Path) -> None:
    assert drop(h.panel, url_mime([path]))
    h.wait(settled(h, 1))


def reply_widget(h: Harness) -> MessageWidget:
    widget = h.panel.view.last_widget()
    assert widget is not None
    assert widget.message.role == "assistant"
    return widget


def click_text(widget: MessageWidget, needle: str) -> None:
    """Click, with the mouse, in the middle of ``needle`` in the reply's text."""
    body = widget.body
    at = body.toPlainText().index(needle) + len(needle) // 2
    cursor = QTextCursor(body.document())
    cursor.setPosition(at)
    point = body.cursorRect(cursor).center()
    QTest.mouseClick(
        body.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point
    )


def dialog_of(h: Harness) -> PassageDialog:
    files = h.controller.chat.files
    h.wait(lambda: files.passage_dialog is not None and files.passage_dialog.isVisible())
    assert files.passage_dialog is not None
    return files.passage_dialog


def test_a_cited_page_opens_in_the_passage_dialog(
    fh: Harness, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    attach(fh, make_pdf(tmp_path / "report.pdf", PAGES))
    fake_model.enqueue(["The budget is 42 gold coins ", "[report.pdf, p. 2]."])
    send(fh, "What is the budget?")
    fh.wait(reply_done(fh))
    widget = reply_widget(fh)
    fh.wait(lambda: bool(widget.sources))
    assert "[report.pdf, p. 2]" in widget.sources_bar.labels()
    assert widget.sources_bar.isVisible()
    assert "keiko-source:" in widget.body.toHtml()
    click_text(widget, "report.pdf, p. 2")
    dialog = dialog_of(fh)
    assert "report.pdf, page 2" in dialog.windowTitle()
    assert "42 gold coins" in dialog.highlighted
    assert dialog.text.toPlainText().startswith("Chapter two")
    assert dialog.passage_visible()
    assert dialog.text.isReadOnly()


def test_the_sources_row_opens_a_source_and_comes_back_with_the_chat(
    fh: Harness, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    attach(fh, make_text(tmp_path / "notes.md", "Remember: the <b>door</b> code is 1234.\n"))
    fake_model.enqueue(["The code is 1234 [notes.md]."])
    send(fh, "What is the code?")
    fh.wait(reply_done(fh))
    cid = fh.controller.chat.conversation_id
    fh.controller.chat.new_chat()
    fh.controller.chat.open_conversation(cid)
    fh.wait(lambda: fh.panel.view.last_widget() is not None and bool(reply_widget(fh).sources))
    widget = reply_widget(fh)
    user = fh.panel.view.widget_for(fh.panel.view.message_ids()[0])
    assert user is not None
    assert user.attachments is not None
    assert len(user.attachments) == 1
    assert widget.sources_bar.buttons
    assert "keiko-source:" in widget.body.toHtml()
    widget.sources_bar.buttons[0].click()
    dialog = dialog_of(fh)
    assert "<b>door</b>" in dialog.text.toPlainText()  # the file's text, not markup


def test_only_the_replys_own_sources_open(
    fh: Harness, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    attach(fh, make_text(tmp_path / "a.txt", "alpha beta gamma"))
    fake_model.enqueue(["See [this](keiko-source:999999) and [a.txt]."])
    send(fh, "Tell me")
    fh.wait(reply_done(fh))
    widget = reply_widget(fh)
    fh.wait(lambda: bool(widget.sources))
    opened: list[int] = []
    widget.source_clicked.connect(opened.append)
    widget.body.anchorClicked.emit(QUrl("keiko-source:999999"))
    assert opened == []
    own = widget.sources[0].chunk.id
    widget.body.anchorClicked.emit(QUrl(f"keiko-source:{own}"))
    assert opened == [own]


def test_source_id_and_excerpt() -> None:
    passage = Passage(Chunk(5, 1, 0, 2, "needle", 10), "f.txt")
    assert source_id(QUrl("keiko-source:5"), [passage]) == 5
    assert source_id(QUrl("keiko-source:6"), [passage]) is None
    assert source_id(QUrl("https://example.org"), [passage]) is None
    page = "x" * 10 + "needle" + "\x1b[31m" + "y" * 10
    shown = excerpt(page, "needle", 10)
    assert shown.text[shown.start : shown.start + shown.length] == "needle"
    assert "\x1b" not in shown.text
    moved = excerpt("abc needle def", "needle", 0)  # a start that does not match: found
    assert moved.text[moved.start : moved.start + moved.length] == "needle"
    huge = "a" * 300_000 + "needle" + "b" * 300_000
    cut = excerpt(huge, "needle", 300_000, window=1000)
    assert cut.text.startswith("[… 299,000 characters before this not shown]")
    assert cut.text[cut.start : cut.start + cut.length] == "needle"
    assert len(cut.text) < 3000
