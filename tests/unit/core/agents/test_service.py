"""AgentService over the real store and the real bundled model (``build_core`` in a temp home):
profiles, statuses, runs that stream and are traced, cancel, plans with retries and resume,
batches, and chat bound to an agent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from keiko_desktop.app import Core, build_core
from keiko_desktop.core.agents.errors import AgentError, AgentProfileError
from keiko_desktop.core.agents.events import AgentStatusChanged
from keiko_desktop.core.agents.plan import Plan, PlanStep
from keiko_desktop.core.agents.profiles import AgentProfile, export_json
from keiko_desktop.core.agents.service import AgentService
from keiko_desktop.core.config import Paths, Settings
from tests.helpers.events import EventRecorder

pytestmark = [pytest.mark.model, pytest.mark.timeout(240)]

QUICK = AgentProfile("Quick", system_prompt="Answer in a few words.", max_tokens=24, retries=0)
BROKEN = AgentProfile("Broken", model="/nowhere/missing.gguf", retries=1, retry_backoff=0.05)


def seen(recorder: EventRecorder) -> list[tuple[str, str]]:
    return [(e.agent, e.status) for e in recorder.events if isinstance(e, AgentStatusChanged)]


@pytest.fixture
async def core(paths: Paths) -> AsyncIterator[Core]:
    built = await build_core(paths, Settings(threads=1))
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def agents(core: Core) -> AgentService:
    assert core.agents is not None
    await core.agents.save_agent(QUICK)
    await core.agents.save_agent(BROKEN)
    return core.agents


async def test_the_shipped_agents_are_there_once(paths: Paths) -> None:
    core = await build_core(paths, Settings(), start_model=False)
    assert core.agents is not None
    names = [p.name for p in await core.agents.list_agents()]
    assert names == ["General assistant", "Researcher", "Writer", "Summarizer", "Coder"]
    coder = await core.agents.get_agent("Coder")
    assert coder.tools == ("files",)
    await core.agents.delete_agent("Coder")
    await core.aclose()
    core = await build_core(paths, Settings(), start_model=False)
    assert core.agents is not None
    assert "Coder" not in [p.name for p in await core.agents.list_agents()]  # not seeded again
    await core.aclose()


async def test_profiles_can_be_edited_copied_exported_and_imported(agents: AgentService) -> None:
    copy = await agents.duplicate_agent("Quick")
    assert (copy.name, copy.system_prompt) == ("Quick (copy)", QUICK.system_prompt)
    assert (await agents.duplicate_agent("Quick")).name == "Quick (copy 2)"
    edited = await agents.save_agent(AgentProfile("Quick, edited", id=copy.id, temperature=0.1))
    assert (await agents.get_agent("Quick, edited")).temperature == 0.1
    with pytest.raises(AgentError, match="no agent named 'Quick \\(copy\\)'"):
        await agents.get_agent("Quick (copy)")
    text = await agents.export_agents(["Quick", edited.name])
    with pytest.raises(AgentProfileError, match=r"agents\[0\]\.name") as exists:
        await agents.import_agents(text)
    assert "exists already" in exists.value.message
    bad = text.replace('"temperature": 0.1', '"temperature": 9')
    with pytest.raises(AgentProfileError, match=r"agents\[1\]\.temperature") as wrong:
        await agents.import_agents(bad, replace=True)
    assert "between 0 and 2, not 9" in wrong.value.message
    assert (await agents.get_agent("Quick, edited")).temperature == 0.1  # nothing imported
    renamed = export_json([AgentProfile("Imported", description="from a file")])
    [imported] = await agents.import_agents(renamed)
    assert (await agents.get_agent("Imported")).description == "from a file"
    assert imported.id is not None
    with pytest.raises(AgentProfileError, match="'name'"):
        await agents.save_agent(AgentProfile("Quick"))  # taken (new agent, same name)


async def test_a_run_streams_its_answer_and_is_stored_with_its_trace(
    agents: AgentService, core: Core
) -> None:
    statuses = EventRecorder(core.bus, AgentStatusChanged)
    handle = agents.start_run("Quick", "Name a colour.")
    pieces = [piece async for piece in handle]
    outcome = await handle.result()
    assert outcome.status == "completed"
    assert outcome.text == "".join(pieces)
    assert outcome.text.strip()
    record = await agents.get_run(outcome.run_id)
    assert record is not None
    assert (record.kind, record.agent, record.status, record.result) == (
        "agent",
        "Quick",
        "completed",
        outcome.text,
    )
    spans = await agents.spans(outcome.run_id)
    assert [(s.kind, s.name) for s in spans] == [("run", "Quick"), ("model", "model.answer")]
    assert spans[1].parent == spans[0].key
    assert spans[1].completion_tokens > 0
    assert seen(statuses) == [("Quick", "busy"), ("Quick", "ready")]
    assert [r.id for r in await agents.list_runs(search="colour")] == [outcome.run_id]


async def test_a_cancelled_run_stops_within_a_second(agents: AgentService) -> None:
    await agents.save_agent(AgentProfile("Long", max_tokens=4000, retries=0))
    handle = agents.start_run("Long", "Write a very long story about a dragon.")
    stream = aiter(handle)
    await anext(stream)
    started = time.perf_counter()
    handle.cancel()
    outcome = await handle.result()
    assert time.perf_counter() - started < 1.0
    assert outcome.status == "cancelled"
    record = await agents.get_run(outcome.run_id)
    assert record is not None
    assert record.status == "cancelled"


async def test_a_plan_runs_each_step_after_its_dependencies(agents: AgentService) -> None:
    plan = Plan(
        "Two colours and a sentence.",
        (
            PlanStep("a", "Quick", "Name a colour."),
            PlanStep("b", "Quick", "Use the colour in one sentence.", ("a",)),
            PlanStep("c", "Quick", "Name another colour."),
        ),
    )
    outcome = await agents.start_plan(plan).result()
    assert outcome.status == "completed", outcome.report
    assert all(outcome.checkpoint.state(k).output.strip() for k in "abc")
    assert outcome.report.splitlines()[0].startswith("✓ a (Quick)")
    steps = {s.name.split()[0]: s for s in await agents.spans(outcome.run_id) if s.kind == "step"}
    assert steps["b"].start >= steps["a"].start + (steps["a"].duration or 0) - 0.01
    record = await agents.get_run(outcome.run_id)
    assert record is not None
    assert record.plan == plan
    assert record.checkpoint == outcome.checkpoint


async def test_a_failing_step_is_retried_then_reported_and_resumed(
    agents: AgentService, core: Core
) -> None:
    statuses = EventRecorder(core.bus, AgentStatusChanged)
    plan = Plan(
        "Colour, then a sentence.",
        (
            PlanStep("a", "Quick", "Name a colour."),
            PlanStep("b", "Broken", "Use the colour in one sentence.", ("a",)),
            PlanStep("c", "Quick", "Say done.", ("b",)),
        ),
    )
    failed = await agents.start_plan(plan).result()
    assert failed.status == "failed"
    assert failed.checkpoint.state("b").attempts == 2  # tried, then retried once
    assert failed.checkpoint.state("c").status == "skipped"
    lines = failed.report.splitlines()
    assert lines[1].startswith("✗ b (Broken): failed after 2 attempts")
    assert "missing.gguf" in lines[1]
    assert failed.error is not None
    assert ("Broken", "error") in seen(statuses)
    first_output = failed.checkpoint.state("a").output

    broken = await agents.get_agent("Broken")
    await agents.save_agent(AgentProfile("Broken", id=broken.id, max_tokens=24))  # mended
    resumed = await agents.resume(failed.run_id).result()
    assert resumed.status == "completed", resumed.report
    assert resumed.checkpoint.state("a").output == first_output  # kept, not redone
    names = [s.name for s in await agents.spans(resumed.run_id) if s.kind == "step"]
    assert not any(name.startswith("a ") for name in names)
    assert any(name.startswith("b ") for name in names)
    old = await agents.get_run(failed.run_id)
    new = await agents.get_run(resumed.run_id)
    assert old is not None
    assert new is not None
    assert (old.status, new.resumed_from) == ("resumed", failed.run_id)
    with pytest.raises(AgentError, match="is resumed"):
        await agents.resume(failed.run_id).result()


async def test_a_batch_runs_one_agent_over_every_input(agents: AgentService) -> None:
    inputs = ["cats", "dogs", "fish"]
    outcome = await agents.start_batch(
        "Quick", inputs, instruction="In three words, describe:", concurrency=2
    ).result()
    assert outcome.status == "completed", outcome.report
    assert sorted(outcome.checkpoint.steps) == ["1", "2", "3"]
    assert all(s.output.strip() for s in outcome.checkpoint.steps.values())
    record = await agents.get_run(outcome.run_id)
    assert record is not None
    assert record.title.startswith("Quick over 3 inputs")


async def test_chat_in_a_conversation_bound_to_an_agent_answers_as_it(
    agents: AgentService, core: Core
) -> None:
    await agents.save_agent(AgentProfile("Pirate", system_prompt="Talk like a pirate, matey."))
    reply = await core.chat.send(None, "Hello")
    await reply.result()
    conversation = reply.conversation_id
    assert await agents.conversation_agent(conversation) is None
    await agents.set_conversation_agent(conversation, "Pirate")
    assert (await agents.conversation_agent(conversation)).name == "Pirate"  # type: ignore[union-attr]
    history = await core.chat._history(
        conversation, 10**9, await agents.conversation_agent(conversation)
    )
    assert history[0].content == "Talk like a pirate, matey."
    second = await core.chat.send(conversation, "Who are you?")
    assert (await second.result()).status == "complete"
    await agents.delete_agent("Pirate")
    assert await agents.conversation_agent(conversation) is None  # the chat goes on unbound


async def test_an_unknown_agent_or_run_is_a_clear_error(agents: AgentService) -> None:
    with pytest.raises(AgentError, match="no agent named 'Nobody'"):
        await agents.start_run("Nobody", "hi").result()
    with pytest.raises(AgentError, match="There is no run 999"):
        await agents.resume(999).result()
    done = await agents.start_run("Quick", "Say yes.").result()
    with pytest.raises(AgentError, match="only plans and batches"):
        await agents.resume(done.run_id).result()
    await asyncio.sleep(0)


async def test_chat_bound_to_an_agent_with_tools_starts_the_tools(
    agents: AgentService, core: Core
) -> None:
    """tools_in_chat is off and no tool system runs: the agent's tools start with its turn."""
    await agents.save_agent(
        AgentProfile("Timekeeper", tools=("clock.now",), max_steps=1, max_tokens=24)
    )
    conversation = await core.conversations.create_conversation("")
    await agents.set_conversation_agent(conversation.id, "Timekeeper")
    assert core.chat.tools is None
    reply = await core.chat.send(conversation.id, "What time is it in UTC?")
    assert (await reply.result()).status == "complete"
    assert core.chat.tools is not None
    assert [s.qualified_name for s in core.chat.tools.tools("clock")]
