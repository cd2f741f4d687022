"""The message list: streaming into the last message, auto-scroll, lazy loading, statuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keiko_desktop.core.ports import MessageStatus, Role, StoredMessage
from keiko_desktop.ui.theme import LIGHT
from keiko_desktop.ui.widgets.message_view import MessageView
from keiko_desktop.ui.widgets.message_widget import meta_text, render_context


def msg(
    mid: int,
    role: Role = "assistant",
    text: str = "hello",
    status: MessageStatus = "complete",
    **extra: Any,
) -> StoredMessage:
    return StoredMessage(mid, 1, role, text, status, datetime.now(), **extra)


def make(qtbot: Any) -> MessageView:
    view = MessageView(render_context(LIGHT))
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    return view


def long_history(n: int, start: int = 1) -> list[StoredMessage]:
    return [
        msg(i, "user" if i % 2 else "assistant", f"message {i}\n\nwith a second paragraph")
        for i in range(start, start + n)
    ]


def test_streaming_text_goes_to_the_last_message_only(qtbot: Any) -> None:
    view = make(qtbot)
    view.set_messages([msg(1, "user", "hi"), msg(2, text="", status="streaming")], False)
    first = view.widget_for(1)
    assert first is not None
    first_html = first.body.toHtml()
    view.set_message_text(2, "# Partial\n\nanswer")
    last = view.widget_for(2)
    assert last is not None
    assert "Partial" in last.shown_text()
    assert "answer" in last.shown_text()
    assert first.body.toHtml() == first_html
    assert last.pending_label.isHidden()
    assert not last.body.isHidden()


def test_follows_the_bottom_until_the_user_scrolls_up(qtbot: Any) -> None:
    view = make(qtbot)
    view.set_messages(long_history(30), False)
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=2000)
    view.append_message(msg(100, text="", status="streaming"))
    view.set_message_text(100, "line\n\n" * 40)
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=2000)
    assert view.following
    bar.setValue(bar.maximum() // 2)  # the user scrolls up
    assert not view.following
    kept = bar.value()
    view.set_message_text(100, "line\n\n" * 80)
    qtbot.wait(50)
    assert bar.value() == kept
    bar.setValue(bar.maximum())  # back at the bottom: follow again
    assert view.following


def test_scrolling_up_asks_for_earlier_messages_and_keeps_the_place(qtbot: Any) -> None:
    view = make(qtbot)
    view.set_messages(long_history(20, start=51), True)
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=2000)
    with qtbot.waitSignal(view.earlier_requested, timeout=2000):
        bar.setValue(0)
    anchor = view.widget_for(51)
    assert anchor is not None
    before = anchor.mapTo(view.viewport(), anchor.rect().topLeft()).y()
    view.prepend_messages(long_history(50, start=1), has_more=False)
    assert view.message_ids()[:2] == [1, 2]
    assert view.message_ids()[-1] == 70
    qtbot.waitUntil(
        lambda: abs(anchor.mapTo(view.viewport(), anchor.rect().topLeft()).y() - before) < 4,
        timeout=2000,
    )
    assert not view.loading_label.isVisible()


def test_interrupted_and_failed_replies_are_marked_with_retry(qtbot: Any) -> None:
    view = make(qtbot)
    view.set_messages(
        [
            msg(1, "user", "q"),
            msg(2, text="half an ans", status="interrupted"),
            msg(3, "user", "again"),
            msg(4, text="", status="error", error="The model failed: boom\n  → Try again."),
        ],
        False,
    )
    stopped, failed = view.widget_for(2), view.widget_for(4)
    assert stopped is not None
    assert failed is not None
    assert stopped.status_badge.isVisibleTo(stopped)
    assert not stopped.retry_button.isVisibleTo(stopped)  # Retry belongs to the last reply
    assert failed.error_box.isVisibleTo(failed)
    assert failed.error_label.text() == "The model failed: boom\nTry again."
    assert failed.retry_button.isVisibleTo(failed)
    with qtbot.waitSignal(view.regenerate_requested, timeout=1000) as blocker:
        failed.retry_button.click()
    assert blocker.args == [4]


def test_reply_numbers_under_a_reply() -> None:
    m = msg(1, model="smol", tokens_per_second=41.26, duration=3.04, completion_tokens=120)
    assert meta_text(m) == "smol · 41.3 tok/s · 3.0 s · 120 tokens"


def test_actions_emit_intents(qtbot: Any) -> None:
    view = make(qtbot)
    view.set_messages([msg(1, "user", "question"), msg(2, text="answer")], False)
    user, reply = view.widget_for(1), view.widget_for(2)
    assert user is not None
    assert reply is not None
    with qtbot.waitSignal(view.edit_requested, timeout=1000) as edit:
        user.edit_button.click()
    assert edit.args == [1]
    with qtbot.waitSignal(view.regenerate_requested, timeout=1000):
        reply.regenerate_button.click()
    with qtbot.waitSignal(view.delete_requested, timeout=1000) as delete:
        reply.delete_button.click()
    assert delete.args == [2]
    reply.copy_button.click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == "answer"


def test_copy_link_copies_a_code_block(qtbot: Any) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QGuiApplication

    view = make(qtbot)
    view.set_messages([msg(1, text="```python\nprint('hi')\n```")], False)
    widget = view.widget_for(1)
    assert widget is not None
    with qtbot.waitSignal(widget.body.code_copied, timeout=1000):
        widget.body.anchorClicked.emit(QUrl("copy:0"))
    assert QGuiApplication.clipboard().text() == "print('hi')"


def test_a_long_streaming_reply_renders_finished_blocks_once(qtbot: Any) -> None:
    view = make(qtbot)
    view.set_messages([msg(1, "user", "q"), msg(2, text="", status="streaming")], False)
    widget = view.widget_for(2)
    assert widget is not None
    text = ""
    for i in range(30):
        text += f"Paragraph {i} with `code`.\n\n"
        view.set_message_text(2, text + "tail being writ")
    first_segment = widget._segments[0]
    html_before = first_segment.toHtml()
    view.set_message_text(2, text + "tail being written now")
    assert first_segment.toHtml() == html_before  # finished blocks are not rendered again
    assert "tail being written now" in widget.body.toPlainText()
    assert "Paragraph 0" not in widget.body.toPlainText()
    view.update_message(msg(2, text=text + "the end", status="complete"))
    assert widget._segments == []
    assert "Paragraph 0" in widget.body.toPlainText()
    assert "the end" in widget.body.toPlainText()
