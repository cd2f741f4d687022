"""The window on a real database with a scripted model: the chat flows end to end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit, QWidget

from keiko_desktop.core.config import Paths
from keiko_desktop.core.ports import MessageUpdate, StoredMessage
from keiko_desktop.store import open_database
from keiko_desktop.ui.panels.agents_panel import AgentsPanel
from keiko_desktop.ui.panels.tasks_panel import TasksPanel
from keiko_desktop.ui.widgets.message_widget import MessageWidget
from tests.helpers.fake_model import FakeChatModel
from tests.qt.conftest import Harness, make_fake_core

NO_MODIFIER = Qt.KeyboardModifier.NoModifier


def send(h: Harness, text: str) -> None:
    composer = h.panel.composer
    composer.set_text(text)
    QTest.keyClick(composer.editor, Qt.Key.Key_Return)


def last_widget(h: Harness) -> MessageWidget:
    widget = h.panel.view.last_widget()
    assert widget is not None
    return widget


def last_text(h: Harness) -> str:
    widget = h.panel.view.last_widget()
    return widget.text if widget is not None else ""


def finished(h: Harness, status: str = "complete") -> Callable[[], bool]:
    def check() -> bool:
        widget = h.panel.view.last_widget()
        return (
            widget is not None
            and widget.message.role == "assistant"
            and widget.message.status == status
            and not h.controller.chat.is_streaming()
        )

    return check


def stored(h: Harness) -> list[StoredMessage]:
    cid = h.controller.chat.conversation_id
    assert cid is not None
    return list(h.run(h.core.conversations.list_messages(cid)))


def test_send_streams_a_reply_that_is_also_stored(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    fake_model.enqueue(["Hello", " **there**", "!"])
    send(harness, "hi")
    harness.wait(finished(harness))
    assert last_widget(harness).body.toPlainText().strip() == "Hello there!"
    assert "fake · " in last_widget(harness).meta_label.text()
    messages = stored(harness)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "hi", "complete"),
        ("assistant", "Hello **there**!", "complete"),
    ]
    cid = harness.controller.chat.conversation_id
    harness.wait(lambda: cid in harness.window.sidebar.conversation_ids())
    assert harness.window.sidebar.list.currentItem().data(Qt.ItemDataRole.UserRole) == cid
    assert not harness.panel.showing_empty


def test_escape_stops_a_reply_and_leaves_it_interrupted(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    fake_model.delay = 0.02
    fake_model.enqueue([f"word{i} " for i in range(400)])
    send(harness, "tell me a long story")
    harness.wait(lambda: "word3" in last_text(harness))
    assert harness.panel.composer.stop_button.isVisible()
    QTest.keyClick(harness.panel.composer.editor, Qt.Key.Key_Escape)
    harness.wait(finished(harness, "interrupted"))
    widget = last_widget(harness)
    assert widget.status_badge.isVisibleTo(widget)
    assert widget.retry_button.isVisibleTo(widget)
    reply = stored(harness)[-1]
    assert reply.status == "interrupted"
    assert reply.content.startswith("word0 word1")
    assert not harness.panel.composer.stop_button.isVisible()


def test_regenerate_replaces_the_last_reply(harness: Harness, fake_model: FakeChatModel) -> None:
    fake_model.enqueue(["first answer"])
    fake_model.enqueue(["second answer"])
    send(harness, "question")
    harness.wait(finished(harness))
    last_widget(harness).regenerate_button.click()
    harness.wait(lambda: last_text(harness) == "second answer")
    harness.wait(finished(harness))
    assert [m.content for m in stored(harness)] == ["question", "second answer"]
    assert len(harness.panel.view.message_ids()) == 2


def test_edit_and_resend_from_up_in_an_empty_box(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    fake_model.enqueue(["about cats"])
    fake_model.enqueue(["about dogs"])
    send(harness, "cats?")
    harness.wait(finished(harness))
    composer = harness.panel.composer
    QTest.keyClick(composer.editor, Qt.Key.Key_Up)
    assert composer.editing_message_id == stored(harness)[0].id
    assert composer.text == "cats?"
    composer.set_text("dogs?")
    QTest.keyClick(composer.editor, Qt.Key.Key_Return)
    harness.wait(lambda: last_text(harness) == "about dogs")
    harness.wait(finished(harness))
    assert [m.content for m in stored(harness)] == ["dogs?", "about dogs"]
    first = harness.panel.view.widget_for(stored(harness)[0].id)
    assert first is not None
    assert first.body.toPlainText() == "dogs?"


def test_delete_a_message(harness: Harness, fake_model: FakeChatModel) -> None:
    fake_model.enqueue(["reply"])
    send(harness, "q")
    harness.wait(finished(harness))
    reply_id = last_widget(harness).message_id
    last_widget(harness).delete_button.click()
    harness.wait(lambda: harness.panel.view.widget_for(reply_id) is None)
    assert [m.role for m in stored(harness)] == ["user"]


def test_delete_a_conversation_and_undo(harness: Harness, fake_model: FakeChatModel) -> None:
    send(harness, "keep me")
    harness.wait(finished(harness))
    cid = harness.controller.chat.conversation_id
    sidebar = harness.window.sidebar
    harness.wait(lambda: cid in sidebar.conversation_ids())
    sidebar.delete_requested.emit(cid)
    harness.wait(lambda: cid not in sidebar.conversation_ids() and sidebar.undo_bar.isVisible())
    assert harness.controller.chat.conversation_id is None
    assert harness.panel.showing_empty
    assert harness.run(harness.core.conversations.get_conversation(cid)) is None
    sidebar.undo_bar.undo_button.click()
    harness.wait(lambda: cid in sidebar.conversation_ids())
    harness.wait(lambda: harness.controller.chat.conversation_id == cid)
    harness.wait(lambda: len(harness.panel.view.message_ids()) == 2)


def test_pin_and_rename_reorder_the_sidebar(harness: Harness) -> None:
    repo = harness.core.conversations
    older = harness.run(repo.create_conversation("Older"))
    harness.run(asyncio.sleep(0.01))
    harness.run(repo.create_conversation("Newer"))
    harness.controller.conversations.refresh()
    sidebar = harness.window.sidebar
    harness.wait(lambda: len(sidebar.conversation_ids()) == 2)
    assert sidebar.title_of(sidebar.conversation_ids()[0]) == "Newer"
    sidebar.pin_requested.emit(older.id, True)
    harness.wait(lambda: sidebar.conversation_ids()[0] == older.id)
    sidebar.rename_requested.emit(older.id, "Renamed")
    harness.wait(lambda: sidebar.title_of(older.id) == "Renamed")
    assert harness.run(repo.get_conversation(older.id)).title == "Renamed"  # type: ignore[union-attr]


async def seed_long(paths: Paths, n: int, needle_at: int | None = None) -> int:
    db = await open_database(paths.database)
    repo = db.conversations
    conversation = await repo.create_conversation("Long chat")
    for i in range(n):
        text = f"message number {i}" + (" about a zebra" if i == needle_at else "")
        await repo.add_message(conversation.id, "user" if i % 2 == 0 else "assistant", text)
    await db.aclose()
    return conversation.id


def test_a_long_conversation_loads_the_end_then_more_on_scroll(
    make_harness: Any, paths: Paths, fake_model: FakeChatModel, run: Any
) -> None:
    cid = run(seed_long(paths, 120))
    h = make_harness(lambda: make_fake_core(paths, fake_model))
    h.controller.chat.open_conversation(cid)
    view = h.panel.view
    h.wait(lambda: len(view.message_ids()) == 50)
    assert view.has_more
    h.wait(lambda: view.verticalScrollBar().value() == view.verticalScrollBar().maximum() > 0)
    view.verticalScrollBar().setValue(0)
    h.wait(lambda: len(view.message_ids()) == 100)


def test_search_and_jump_to_the_message(
    make_harness: Any, paths: Paths, fake_model: FakeChatModel, run: Any
) -> None:
    cid = run(seed_long(paths, 110, needle_at=3))
    h = make_harness(lambda: make_fake_core(paths, fake_model))
    h.controller.chat.new_chat()
    dialog = h.controller.search.open()
    assert dialog.isVisible()
    QTest.keyClicks(dialog.query, "zebra")
    h.wait(lambda: dialog.results.count() == 1)
    label = dialog.results.itemWidget(dialog.results.item(0))
    assert "zebra</span>" in label.text()
    QTest.keyClick(dialog.query, Qt.Key.Key_Return)
    h.wait(lambda: h.controller.chat.conversation_id == cid)
    view = h.panel.view
    h.wait(lambda: view.widget_for(min(view.message_ids() or [0])) is not None)
    target = next(m for m in h.run(h.core.conversations.list_messages(cid)) if "zebra" in m.content)
    h.wait(lambda: view.widget_for(target.id) is not None)
    widget = view.widget_for(target.id)
    assert widget is not None

    def in_view() -> bool:
        top = widget.mapTo(view.viewport(), widget.rect().topLeft()).y()
        return 0 <= top < view.viewport().height()

    h.wait(in_view)
    assert not dialog.isVisible()


def test_an_interrupted_reply_from_a_crash_is_shown_marked(
    make_harness: Any, paths: Paths, fake_model: FakeChatModel, run: Any
) -> None:
    async def crash_mid_reply() -> int:
        db = await open_database(paths.database)
        c = await db.conversations.create_conversation("Crashed")
        await db.conversations.add_message(c.id, "user", "hello?")
        m = await db.conversations.add_message(c.id, "assistant", "", status="streaming")
        await db.conversations.update_message(m.id, MessageUpdate(content="Hel"))
        await db.aclose()
        return c.id

    cid = run(crash_mid_reply())
    h = make_harness(lambda: make_fake_core(paths, fake_model))
    h.controller.chat.open_conversation(cid)
    h.wait(lambda: len(h.panel.view.message_ids()) == 2)
    widget = last_widget(h)
    assert widget.message.status == "interrupted"
    assert widget.status_badge.isVisibleTo(widget)
    assert widget.retry_button.isVisibleTo(widget)
    fake_model.enqueue(["Hello!"])
    widget.retry_button.click()
    h.wait(lambda: last_text(h) == "Hello!")
    h.wait(finished(h))


def test_a_message_typed_while_the_model_loads_is_sent_when_ready(
    make_harness: Any, paths: Paths, fake_model: FakeChatModel
) -> None:
    h = make_harness(lambda: make_fake_core(paths, fake_model, load_delay=0.8))
    assert "Loading" in h.window.model_status.label.text()
    fake_model.enqueue(["ready now"])
    send(h, "are you there?")
    h.wait(lambda: h.panel.view.last_widget() is not None)
    widget = last_widget(h)
    assert widget.pending_label.text() == "Loading the model…"
    h.wait(lambda: last_text(h) == "ready now")
    h.wait(finished(h))
    assert "fake-model · ready" in h.window.model_status.label.text()


def test_a_failed_reply_says_so_inline_with_retry(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    fake_model.enqueue(["par", "tial"], fail_after=1)
    send(harness, "break please")
    harness.wait(finished(harness, "error"))
    widget = last_widget(harness)
    assert widget.error_box.isVisibleTo(widget)
    assert "scripted failure" in widget.error_label.text()
    assert widget.retry_button.isVisibleTo(widget)


def test_shortcuts(harness: Harness, fake_model: FakeChatModel) -> None:
    window = harness.window
    send(harness, "hi")
    harness.wait(finished(harness))
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    harness.wait(lambda: harness.controller.chat.conversation_id is None)
    assert harness.panel.showing_empty
    QTest.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    harness.wait(lambda: harness.controller.search.dialog is not None)
    assert harness.controller.search.dialog is not None
    harness.controller.search.dialog.close()
    QTest.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    harness.wait(lambda: harness.controller.settings.dialog is not None)
    assert harness.controller.settings.dialog is not None
    harness.wait(harness.controller.settings.dialog.isVisible)
    harness.controller.settings.dialog.reject()


CTRL = Qt.KeyboardModifier.ControlModifier


def press(h: Harness, key: Qt.Key, modifiers: Qt.KeyboardModifier = NO_MODIFIER) -> None:
    """A key as the platform delivers it: to the window's QWindow, then to the focused widget."""
    QTest.keyClick(h.window.windowHandle(), key, modifiers)


def make_inactive(h: Harness, qtbot: Any) -> None:
    """Another window becomes Qt's active one (as on X11 with no window manager / PointerRoot)."""
    other = getattr(h, "other_window", None)
    if other is None:
        other = QWidget()
        qtbot.addWidget(other)
        other.show()
        h.other_window = other  # type: ignore[attr-defined]
    other.activateWindow()
    h.wait(lambda: QApplication.activeWindow() is other)


def close_dialogs(h: Harness) -> None:
    search = h.controller.search.dialog
    if search is not None and search.isVisible():
        search.reject()
    settings = h.controller.settings.dialog
    if settings is not None and settings.isVisible():
        settings.reject()
    h.wait(lambda: not QApplication.activeModalWidget())


@pytest.mark.parametrize("active", [True, False], ids=["window-active", "window-not-active"])
def test_every_window_shortcut_works_from_every_focus(
    harness: Harness, fake_model: FakeChatModel, qtbot: Any, active: bool
) -> None:
    h = harness
    window = h.window
    send(h, "hi")
    h.wait(finished(h))
    cid = h.controller.chat.conversation_id
    assert cid is not None
    h.wait(lambda: cid in window.sidebar.conversation_ids())
    focus_targets: dict[str, Callable[[], QWidget]] = {
        "message box": lambda: h.panel.composer.editor,
        "sidebar list": lambda: window.sidebar.list,
        "message view": lambda: last_widget(h).body,
    }
    checks: list[tuple[Qt.Key, Qt.KeyboardModifier, Callable[[], bool]]] = [
        (
            Qt.Key.Key_K,
            CTRL,
            lambda: (
                h.controller.search.dialog is not None and h.controller.search.dialog.isVisible()
            ),
        ),
        (
            Qt.Key.Key_Comma,
            CTRL,
            lambda: (
                h.controller.settings.dialog is not None
                and h.controller.settings.dialog.isVisible()
            ),
        ),
        (Qt.Key.Key_N, CTRL, lambda: h.controller.chat.conversation_id is None),
    ]
    for name, target in focus_targets.items():
        for key, modifiers, done in checks:
            close_dialogs(h)
            if h.controller.chat.conversation_id != cid:
                h.controller.chat.open_conversation(cid)
                h.wait(lambda: len(h.panel.view.message_ids()) == 2)
            widget = target()
            widget.setFocus()
            if active:
                window.activateWindow()
                h.wait(lambda: QApplication.activeWindow() is window)
            else:
                make_inactive(h, qtbot)
            assert window.focusWidget() is widget, name
            press(h, key, modifiers)
            try:
                h.wait(done, timeout=5)
            except TimeoutError:
                pytest.fail(
                    f"{QKeySequence(modifiers.value | key.value).toString()} from the {name}"
                )
    close_dialogs(h)


@pytest.mark.parametrize("active", [True, False], ids=["window-active", "window-not-active"])
def test_message_box_keys_through_the_window(
    harness: Harness, fake_model: FakeChatModel, qtbot: Any, active: bool
) -> None:
    """Enter sends, Shift+Enter breaks the line, Up edits the last message, Esc stops a reply."""
    h = harness
    composer = h.panel.composer
    composer.focus_editor()
    if active:
        h.window.activateWindow()
        h.wait(lambda: QApplication.activeWindow() is h.window)
    else:
        make_inactive(h, qtbot)
    fake_model.enqueue(["first answer"])
    QTest.keyClicks(composer.editor, "line one")
    press(h, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(composer.editor, "line two")
    assert composer.text == "line one\nline two"
    press(h, Qt.Key.Key_Return)
    h.wait(finished(h))
    assert stored(h)[0].content == "line one\nline two"
    press(h, Qt.Key.Key_Up)
    assert composer.editing_message_id == stored(h)[0].id
    press(h, Qt.Key.Key_Escape)  # leaves edit mode
    assert composer.editing_message_id is None
    fake_model.delay = 0.02
    fake_model.enqueue([f"word{i} " for i in range(400)])
    QTest.keyClicks(composer.editor, "a long story")
    press(h, Qt.Key.Key_Return)
    h.wait(lambda: "word3" in last_text(h))
    press(h, Qt.Key.Key_Escape)
    h.wait(finished(h, "interrupted"))


@pytest.mark.parametrize("active", [True, False], ids=["window-active", "window-not-active"])
def test_esc_in_the_sidebar_rename_box_cancels_the_rename_only(
    harness: Harness, qtbot: Any, active: bool
) -> None:
    h = harness
    conversation = h.run(h.core.conversations.create_conversation("Old title"))
    h.controller.conversations.refresh()
    sidebar = h.window.sidebar
    h.wait(lambda: conversation.id in sidebar.conversation_ids())
    if active:
        h.window.activateWindow()
        h.wait(lambda: QApplication.activeWindow() is h.window)
    else:
        make_inactive(h, qtbot)
    sidebar.begin_rename(conversation.id)
    h.wait(lambda: sidebar.list.state() == QAbstractItemView.State.EditingState)
    assert isinstance(h.window.focusWidget(), QLineEdit)
    fired: list[str] = []
    h.window.escape_pressed.connect(lambda: fired.append("esc"))
    press(h, Qt.Key.Key_Escape)
    h.wait(lambda: sidebar.list.state() != QAbstractItemView.State.EditingState)
    assert fired == []
    assert sidebar.title_of(conversation.id) == "Old title"


def test_pages_switch_and_placeholders_are_tidy(harness: Harness) -> None:
    window = harness.window
    window.rail.buttons["agents"].click()
    assert window.page == "agents"
    assert not window.sidebar.isVisible()
    assert isinstance(window.agents_panel, AgentsPanel)  # a real page, not a placeholder
    window.rail.buttons["tasks"].click()
    assert window.page == "tasks"
    assert isinstance(window.tasks_panel, TasksPanel)
    window.rail.buttons["chat"].click()
    assert window.page == "chat"
    assert window.sidebar.isVisible()
