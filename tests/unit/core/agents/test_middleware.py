"""The run's middleware around a scripted model and the real ToolService (in-process servers,
real store): allowlist, cache, token budget, timeouts, cancel, tracing, and the order."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.agents.runner import AgentRunner
from keiko_desktop.core.agents.trace import Tracer
from keiko_desktop.core.ports import ChatMessage, GenerationParams, ToolTurn
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.store import SqliteToolRepository
from tests.helpers.fake_model import FakeToolModel
from tests.unit.core.tools.conftest import Vault

ASK = [ChatMessage("user", "go")]


def scripted(*replies: dict[str, Any]) -> FakeToolModel:
    model = FakeToolModel()
    model.tool_replies = [json.dumps(r) for r in replies]
    return model


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": tool, "arguments": arguments}


async def test_a_tool_outside_the_allowlist_never_runs(
    service: ToolService, vault: Vault, repo: SqliteToolRepository
) -> None:
    """The model names a tool the agent may not use (as a model may, whatever it was offered):
    refused, not run, audited as not_allowed."""
    profile = AgentProfile("Reader", tools=("vault.peek",))
    model = scripted(call("vault.delete_file", path="/etc"), {"answer": "ok"})
    runner = AgentRunner(model, service, profile=profile)
    assert [s.qualified_name for s in runner.offered(service.tools())] == ["vault.peek"]
    outcome = await runner.run(ASK, service.tools())
    [step] = outcome.steps
    assert (step.result.decision, step.result.is_error) == ("not_allowed", True)
    assert "may not use" in step.shown
    assert vault.ran == []
    [row] = await repo.list_tool_calls(10)
    assert (row.tool, row.decision, row.agent) == ("delete_file", "not_allowed", "Reader")


async def test_a_whole_server_on_the_allowlist_allows_its_tools(
    service: ToolService, vault: Vault
) -> None:
    profile = AgentProfile("Peeker", tools=("vault",))
    runner = AgentRunner(scripted(call("vault.peek")), service, profile=profile)
    outcome = await runner.run(ASK, service.tools())
    assert [s.result.decision for s in outcome.steps] == ["auto"]
    assert vault.ran == ["peek"]


async def test_bad_arguments_are_refused_before_approval(
    service: ToolService, vault: Vault
) -> None:
    model = scripted(call("vault.delete_file", nope=1))
    outcome = await AgentRunner(model, service).run(ASK, service.tools())
    assert [s.result.decision for s in outcome.steps] == ["invalid"]
    assert vault.ran == []


async def test_the_cache_answers_identical_read_only_calls_only(
    service: ToolService, vault: Vault
) -> None:
    """peek (read-only) twice: run once. A tool that changes things is never cached."""
    model = scripted(call("vault.peek"), call("vault.peek"), call("clock.now", timezone="UTC"))
    runner = AgentRunner(model, service, max_steps=3)
    outcome = await runner.run(ASK, service.tools())
    assert [s.result.decision for s in outcome.steps] == ["auto", "cached", "auto"]
    assert vault.ran == ["peek"]
    # a new run has a cache of its own
    again = AgentRunner(scripted(call("vault.peek")), service)
    await again.run(ASK, service.tools())
    assert vault.ran == ["peek", "peek"]


async def test_the_token_budget_ends_the_tool_phase(service: ToolService, vault: Vault) -> None:
    """Each scripted turn costs 3 + 1 tokens: with a budget of 6 the third turn is not asked
    for, and the answer is still written."""
    model = scripted(call("vault.peek"), call("clock.now", timezone="UTC"), call("vault.peek"))
    model.enqueue(["from ", "what I have"])
    runner = AgentRunner(model, service, max_steps=5, token_budget=6)
    outcome = await runner.run(ASK, service.tools())
    assert outcome.stopped == "budget"
    assert len(model.tool_turns) == 2
    assert runner.state.tokens_used >= 6
    text = "".join([p async for p in runner.answer(outcome, GenerationParams())])
    assert text == "from what I have"


class SlowTurns(FakeToolModel):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def call_tools(self, messages, tools, params, *, require=False) -> ToolTurn:  # type: ignore[no-untyped-def,override]
        await asyncio.sleep(self.seconds)
        return await super().call_tools(messages, tools, params, require=require)


async def test_a_model_call_over_the_step_timeout_ends_the_run(service: ToolService) -> None:
    runner = AgentRunner(SlowTurns(5.0), service, step_timeout=0.2)
    started = time.perf_counter()
    done = await runner.complete(ASK, service.tools())
    assert time.perf_counter() - started < 2.0
    assert done.timed_out
    assert done.outcome.stopped == "timeout"
    assert done.text == ""


async def test_a_streamed_answer_over_the_step_timeout_is_cut_off(
    service: ToolService,
) -> None:
    model = FakeToolModel(delay=0.05)
    model.enqueue([f"w{i} " for i in range(200)])  # 10 s of answer
    runner = AgentRunner(model, None, step_timeout=0.3)
    started = time.perf_counter()
    done = await runner.complete(ASK, [])
    assert time.perf_counter() - started < 2.0
    assert done.timed_out
    assert 0 < len(done.text.split()) < 200


async def test_cancelling_a_run_stops_it_at_once(service: ToolService) -> None:
    task = asyncio.ensure_future(AgentRunner(SlowTurns(30.0), service).run(ASK, service.tools()))
    await asyncio.sleep(0.1)
    started = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - started < 1.0


async def test_every_model_and_tool_call_is_traced(service: ToolService) -> None:
    tracer = Tracer(1)
    model = scripted(call("vault.peek"), {"answer": "seen"})
    runner = AgentRunner(model, service, tracer=tracer)
    async with tracer.span("run", "test") as root:
        done = await runner.complete(ASK, service.tools())
    assert done.text == "seen"
    spans = tracer.spans
    assert [(s.kind, s.name) for s in spans] == [
        ("run", "test"),
        ("model", "model.tools"),
        ("tool", "vault.peek"),
        ("model", "model.tools"),
    ]
    assert all(s.parent == root.key for s in spans[1:])
    assert all(s.duration is not None and s.status == "ok" for s in spans)
    assert spans[1].detail == "asked for vault.peek"
    assert spans[2].detail.startswith("auto:")
    assert spans[1].prompt_tokens == 3


async def test_the_order_is_configuration(service: ToolService, vault: Vault) -> None:
    """With the cache outside the audit, a cached call is not audited; an unknown name is
    refused when the runner is built."""
    with pytest.raises(ValueError, match="unknown middleware"):
        AgentRunner(FakeToolModel(), service, order=("logging", "typo"))
    order = ("cache", "audit", "validation", "approval", "timing")
    model = scripted(call("vault.peek"), call("vault.peek"))
    runner = AgentRunner(model, service, order=order, max_steps=2)
    outcome = await runner.run(ASK, service.tools())
    assert [s.result.decision for s in outcome.steps] == ["auto", "cached"]
    assert [e.decision for e in await service.audit_log()] == ["auto"]


async def test_a_streamed_answer_is_traced_when_it_ends(service: ToolService) -> None:
    tracer = Tracer(1)
    model = FakeToolModel()
    model.enqueue(["a", "b", "c"])
    runner = AgentRunner(model, None, tracer=tracer)
    generation = runner.answer(await runner.run(ASK, []), GenerationParams())
    assert tracer.spans == []  # nothing asked of the model yet
    assert "".join([p async for p in generation]) == "abc"
    [span] = tracer.spans
    assert (span.name, span.completion_tokens, span.status) == ("model.answer", 3, "ok")
