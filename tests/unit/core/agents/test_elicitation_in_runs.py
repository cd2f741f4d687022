"""An agent run whose tool asks the user (elicitation) waits for the answer, as it waits for a
tool approval: the time the person takes does not count against the step's time limit. The
real tool system over the elicit test server (stdio, 2026-07-28), a scripted model."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace

from keiko_desktop.core.agents.runner import AgentRunner
from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatMessage
from keiko_desktop.core.tools.elicitation import ElicitAnswer, ElicitationRequest
from keiko_desktop.core.tools.models import ApprovalAnswer
from keiko_desktop.mcp_tools.config import McpConfig, StdioServerConfig
from keiko_desktop.mcp_tools.setup import build_tool_system
from tests.helpers.approver import Approver
from tests.helpers.fake_model import FakeToolModel
from tests.helpers.mcp_servers.elicit_server import HERE as ELICIT_SERVER
from tests.unit.mcp_tools.conftest import FAST


class SlowPerson:
    """Answers after ``seconds``, longer than the agent's step limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.asked: list[ElicitationRequest] = []

    async def elicit(self, request: ElicitationRequest) -> ElicitAnswer:
        self.asked.append(request)
        await asyncio.sleep(self.seconds)
        return ElicitAnswer.accept({"note": "waited for"})


async def test_an_agent_step_waits_for_the_persons_answer(paths: Paths, bus: EventBus) -> None:
    server = StdioServerConfig("elicit", sys.executable, (str(ELICIT_SERVER), "--only", "quick"))
    system = await build_tool_system(
        paths,
        bus,
        config=McpConfig(servers={"elicit": server}, builtins={}),
        options=replace(FAST, call_timeout=30.0),
        approver=Approver(None, ApprovalAnswer.ALLOW_ONCE),
    )
    try:
        assert await system.pool.wait_settled(time_limit=30)
        person = SlowPerson(2.5)
        system.elicitations.set_elicitor(person)
        model = FakeToolModel()
        model.tool_replies = [
            json.dumps({"tool": "elicit.quick", "arguments": {}}),
            json.dumps({"answer": "done"}),
        ]
        runner = AgentRunner(model, system.service, step_timeout=1.0)
        outcome = await runner.run([ChatMessage("user", "Ask me.")], system.service.tools("elicit"))
        [step] = outcome.steps
        assert not step.result.is_error, step.result.text
        assert json.loads(step.result.text.removeprefix("accept ")) == {
            "count": 3,
            "note": "waited for",
        }
        assert [r.server for r in person.asked] == ["elicit"]
    finally:
        await system.aclose()
