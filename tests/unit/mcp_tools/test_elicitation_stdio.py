"""Elicitation through the real tool system: the test server (elicit_server.py) as a stdio
subprocess, the pool, the ToolService and the broker; the person is a scripted elicitor.

Both protocol eras: 2026-07-28 (the pool's default, ``auto``: the question rides an
``InputRequiredResult`` and the SDK's driver asks our callback) and the 2025 handshake
(``legacy``: a standalone ``elicitation/create``)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.elicitation import (
    ElicitAnswer,
    ElicitationRequest,
)
from keiko_desktop.core.tools.models import ApprovalAnswer
from keiko_desktop.mcp_tools.config import McpConfig, StdioServerConfig
from keiko_desktop.mcp_tools.setup import ToolSystem, build_tool_system
from tests.helpers.approver import Approver
from tests.helpers.mcp_servers.elicit_server import HERE as ELICIT_SERVER

from .conftest import FAST


class Person:
    """Answers each question with the next scripted answer and keeps what it was asked."""

    def __init__(self, *answers: ElicitAnswer) -> None:
        self.answers = list(answers)
        self.asked: list[ElicitationRequest] = []

    async def elicit(self, request: ElicitationRequest) -> ElicitAnswer:
        self.asked.append(request)
        return self.answers.pop(0)


@pytest.fixture(params=["auto", "legacy"])
async def system(
    request: pytest.FixtureRequest, paths: Paths, bus: EventBus
) -> AsyncIterator[ToolSystem]:
    server = StdioServerConfig("elicit", sys.executable, (str(ELICIT_SERVER),))
    built = await build_tool_system(
        paths,
        bus,
        config=McpConfig(servers={"elicit": server}, builtins={}),
        options=replace(FAST, protocol=request.param),
        approver=Approver(None, ApprovalAnswer.ALLOW_ONCE),
    )
    try:
        assert await built.pool.wait_settled(time_limit=30)
        client = built.pool.connection("elicit")._client
        assert client is not None
        version = client.protocol_version
        assert (version == "2026-07-28") == (request.param == "auto")
        yield built
    finally:
        await built.aclose()


def _accepted(text: str) -> dict[str, Any]:
    assert text.startswith("accept "), text
    data: dict[str, Any] = json.loads(text.removeprefix("accept "))
    return data


async def test_accept_sends_the_values_and_the_defaults(system: ToolSystem) -> None:
    person = Person(ElicitAnswer.accept({"name": "Ann", "guests": 5, "topics": ["art", "food"]}))
    system.elicitations.set_elicitor(person)
    result = await system.service.call("elicit.book", {})
    assert not result.is_error, result.text
    data = _accepted(result.text)
    assert data["name"] == "Ann"
    assert data["guests"] == 5
    assert data["topics"] == ["art", "food"]
    # Never touched by the person: the server's defaults, sent as the spec says.
    assert data["email"] == "guest@example.com"
    assert data["cabin"] == "eco"
    assert data["extras"] == ["wifi"]
    assert data["budget"] == 99.5
    (asked,) = person.asked
    assert asked.server == "elicit"
    assert asked.form is not None
    assert "\\x1b[2J" in asked.message  # the server's escape sequence, shown harmless
    kinds = {f.kind for f in asked.form.fields}
    assert kinds == {"string", "integer", "number", "boolean", "choice", "multi"}


async def test_decline_and_cancel_reach_the_server(system: ToolSystem) -> None:
    system.elicitations.set_elicitor(Person(ElicitAnswer.decline(), ElicitAnswer.cancel()))
    assert (await system.service.call("elicit.book", {})).text == "decline"
    assert (await system.service.call("elicit.book", {})).text == "cancel"


async def test_nobody_to_answer_is_a_decline(system: ToolSystem) -> None:
    assert (await system.service.call("elicit.quick", {})).text == "decline"


async def test_a_form_outside_the_spec_is_declined_and_the_person_told(system: ToolSystem) -> None:
    person = Person(ElicitAnswer.accept({}))
    system.elicitations.set_elicitor(person)
    assert (await system.service.call("elicit.nested", {})).text == "decline"
    assert "cannot show this form" in person.asked[0].problem


async def test_url_mode_accept_carries_no_content(system: ToolSystem) -> None:
    person = Person(ElicitAnswer.accept({"stray": 1}))
    system.elicitations.set_elicitor(person)
    assert (await system.service.call("elicit.open_link", {})).text == "accept"
    (asked,) = person.asked
    assert (asked.mode, asked.host, asked.problem) == ("url", "example.com", "")


async def test_an_answer_that_does_not_fit_is_never_sent(system: ToolSystem) -> None:
    system.elicitations.set_elicitor(Person(ElicitAnswer.accept({"name": "A"})))
    assert (await system.service.call("elicit.book", {})).text == "cancel"


async def test_the_capability_is_advertised_with_both_modes(system: ToolSystem) -> None:
    client = system.pool.connection("elicit")._client
    assert client is not None
    caps = client.session._build_capabilities(client.protocol_version)  # what it sent
    assert caps.elicitation is not None
    assert caps.elicitation.form is not None
    assert caps.elicitation.url is not None


async def test_the_legacy_ctx_elicit_tool(system: ToolSystem) -> None:
    """``ctx.elicit`` needs a back-channel: it works on the 2025 handshake; on 2026-07-28
    the server itself fails the call (a tool there must ask through ``Resolve``)."""
    system.elicitations.set_elicitor(Person(ElicitAnswer.accept({"name": "Bo"})))
    result = await system.service.call("elicit.legacy_book", {})
    client = system.pool.connection("elicit")._client
    assert client is not None
    if client.protocol_version == "2026-07-28":
        assert result.is_error
        assert "back-channel" in result.text
    else:
        assert _accepted(result.text)["name"] == "Bo"


class SlowPerson(Person):
    """Takes ``seconds`` to answer, longer than the call's time limit."""

    def __init__(self, seconds: float, *answers: ElicitAnswer) -> None:
        super().__init__(*answers)
        self.seconds = seconds

    async def elicit(self, request: ElicitationRequest) -> ElicitAnswer:
        await asyncio.sleep(self.seconds)
        return await super().elicit(request)


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_the_time_to_answer_does_not_count_against_the_call(
    paths: Paths, bus: EventBus, protocol: str
) -> None:
    """A call limited to 2 s survives a person who takes 5 s. On 2026-07-28 (the default)
    the question comes between two requests of the call, in its task; on the 2025 handshake
    it comes in the SDK's receive loop, and the broker finds the call's limit registered on
    the session (``answering_for``). Either way the limit moves on by the time taken."""
    server = StdioServerConfig("elicit", sys.executable, (str(ELICIT_SERVER),))
    system = await build_tool_system(
        paths,
        bus,
        config=McpConfig(servers={"elicit": server}, builtins={}),
        options=replace(FAST, protocol=protocol, call_timeout=2.0),
        approver=Approver(None, ApprovalAnswer.ALLOW_ONCE),
    )
    try:
        assert await system.pool.wait_settled(time_limit=30)
        system.elicitations.set_elicitor(SlowPerson(5.0, ElicitAnswer.accept({})))
        result = await system.service.call("elicit.quick", {})
        assert not result.is_error, result.text
        assert _accepted(result.text) == {"count": 3, "note": "hello"}
    finally:
        await system.aclose()
