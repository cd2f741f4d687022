"""The shipped kinds' registry (``builtin_kinds``), refusing unknown kinds and bad parameters
with the field named; ``reminder``; and ``tool`` through the real ToolService over real
in-process MCP servers and the real SQLite policies and audit (Always, Ask with nobody to
answer, an error result, unknown tools, arguments that fail the schema).

``context()`` and ``Recorded`` are shared with the other kinds' tests: a ``TaskContext`` built
directly, recording progress and linked runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.tasks.builtin import builtin_kinds
from keiko_desktop.core.tasks.errors import TaskError, TaskParamError
from keiko_desktop.core.tasks.kinds import Done, TaskContext, TaskKinds, TaskServices
from keiko_desktop.core.tasks.kinds_basic import ALWAYS_HINT, cut_result
from keiko_desktop.core.tasks.records import MAX_RESULT, Priority, TaskRecord
from keiko_desktop.core.tools.models import Policy
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.store import SqliteToolRepository
from tests.unit.core.tools.conftest import Vault, repo, vault, vault_tools

__all__ = ["repo", "vault", "vault_tools"]

KINDS = builtin_kinds(TaskServices(Settings))


@dataclass
class Recorded:
    """What a handler reported through its context."""

    progress: list[tuple[float, str]] = field(default_factory=list)
    links: list[int] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def report(self, percent: float, text: str) -> None:
        self.progress.append((percent, text))
        self._changed.set()

    async def until(self, reported: Callable[[str], bool], time_limit: float = 20) -> None:
        """Wait for a progress report whose text is ``reported``."""
        async with asyncio.timeout(time_limit):
            while not any(reported(text) for _, text in self.progress):
                self._changed.clear()
                await self._changed.wait()

    async def link(self, run_id: int) -> None:
        self.links.append(run_id)

    @property
    def percents(self) -> list[float]:
        return [p for p, _ in self.progress]


def context(
    kind: str,
    params: Mapping[str, Any],
    services: TaskServices,
    *,
    task_id: int = 7,
    parent_id: int | None = None,
    priority: Priority = "normal",
) -> tuple[TaskContext, dict[str, Any], Recorded]:
    """A context for a task of ``kind`` with ``params`` (checked by the real registry, as the
    engine does), the checked params, and the recorder."""
    checked = KINDS.check(kind, params)
    now = datetime.now(UTC)
    record = TaskRecord(
        task_id,
        f"a {kind} task",
        kind,
        checked,
        priority,
        "running",
        now,
        now,
        attempts=1,
        max_attempts=3,
        parent_id=parent_id,
    )
    recorded = Recorded()
    return TaskContext(record, services, recorded.report, recorded.link), checked, recorded


async def run(kind: str, params: Mapping[str, Any], services: TaskServices) -> Any:
    ctx, checked, _ = context(kind, params, services)
    return await KINDS.get(kind).run(ctx, checked)


# ---------------------------------------------------------------------- the registry
def test_every_shipped_kind_is_registered_once_with_bounded_text_params() -> None:
    assert KINDS.names() == [
        "reminder",
        "agent",
        "goal",
        "agent_folder",
        "agent_file",
        "summarise",
        "tool",
        "transcribe",
    ]
    for kind in KINDS:
        assert kind.label
        assert kind.description.endswith(".")
        for param in kind.params:
            assert param.label
            assert param.max_length <= 20_000
    assert isinstance(builtin_kinds(TaskServices(Settings)), TaskKinds)  # a fresh one each time


def test_an_unknown_kind_is_refused_naming_the_kinds_there_are() -> None:
    with pytest.raises(TaskParamError) as refused:
        KINDS.check("translate", {"file": "/a.txt"})  # not a kind
    assert refused.value.field == "kind"
    assert "translate" in refused.value.message
    assert "transcribe" in refused.value.hint


@pytest.mark.parametrize(
    ("kind", "params", "field", "words"),
    [
        ("reminder", {}, "text", "is required"),
        ("reminder", {"text": "x", "when": "now"}, "when", "no such parameter"),
        ("reminder", {"text": "x" * 4_001}, "text", "longer than 4000"),
        ("agent", {"agent": "Quick\nEvil", "prompt": "hi"}, "agent", "one line"),
        ("agent", {"agent": "Quick"}, "prompt", "is required"),
        ("agent", {"agent": "Q" * 65, "prompt": "hi"}, "agent", "longer than 64"),
        ("agent_file", {"agent": "Quick", "file": "notes.txt", "prompt": "hi"}, "file", "absolute"),
        ("agent_folder", {"agent": "Quick", "folder": "x", "prompt": "p"}, "folder", "absolute"),
        ("goal", {"goal": "g" * 8_001}, "goal", "longer than 8000"),
        ("summarise", {"path": 3}, "path", "must be text"),
        ("tool", {"server": "a.b", "tool": "now"}, "server", "not a server name"),
        ("tool", {"server": "clock", "tool": "no w"}, "tool", "not a tool name"),
        ("tool", {"server": "clock", "tool": "now", "arguments": "{"}, "arguments", "JSON"),
        ("tool", {"server": "clock", "tool": "now", "arguments": "[1]"}, "arguments", "object"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(
    kind: str, params: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(TaskParamError) as refused:
        KINDS.check(kind, params)
    assert refused.value.field == field
    assert words in refused.value.message


def test_checked_params_get_their_defaults_and_absolute_paths(tmp_path: Any) -> None:
    folder = KINDS.check(
        "agent_folder", {"agent": "A", "folder": f"{tmp_path}/x/../y", "prompt": "p"}
    )
    assert folder == {"agent": "A", "folder": str(tmp_path / "y"), "prompt": "p", "pattern": "*"}
    assert KINDS.check("tool", {"server": "clock", "tool": "now"})["arguments"] == {}


def test_a_long_result_is_cut_saying_so() -> None:
    text = "x" * (MAX_RESULT + 500)
    cut = cut_result(text)
    assert len(cut) <= MAX_RESULT
    assert cut.endswith("more characters were cut]")
    assert cut_result("short") == "short"


# ---------------------------------------------------------------------- reminder
async def test_a_reminder_gives_its_text_back_and_needs_no_service() -> None:
    text = "Call Anna about the\nquarterly numbers"
    done = await run("reminder", {"text": text}, TaskServices(Settings))
    assert done == Done(result=text)
    assert KINDS.get("reminder").max_attempts == 1


# ---------------------------------------------------------------------- tool
def tool_services(service: ToolService | None) -> TaskServices:
    async def tools() -> ToolService | None:
        return service

    return TaskServices(Settings, tools=tools)


async def test_a_tool_runs_through_the_pipeline_and_is_audited(
    vault_tools: ToolService, repo: SqliteToolRepository
) -> None:
    services = tool_services(vault_tools)
    ctx, checked, recorded = context(
        "tool", {"server": "clock", "tool": "now", "arguments": '{"timezone": "UTC"}'}, services
    )
    done = await KINDS.get("tool").run(ctx, checked)
    assert isinstance(done, Done)
    assert '"timezone": "UTC"' in done.result or '"timezone":"UTC"' in done.result
    assert recorded.percents[0] < 100
    assert recorded.percents[-1] == 100
    [row] = await repo.list_tool_calls()
    assert (row.server, row.tool, row.decision, row.is_error) == ("clock", "now", "auto", False)


async def test_an_ask_tool_is_denied_when_nobody_can_answer_and_always_lets_it_run(
    vault_tools: ToolService, vault: Vault
) -> None:
    services = tool_services(vault_tools)
    params = {"server": "vault", "tool": "delete_file", "arguments": {"path": "/tmp/x"}}
    with pytest.raises(TaskError) as denied:
        await run("tool", params, services)
    assert "needs approval" in denied.value.message
    assert denied.value.hint == ALWAYS_HINT
    assert vault.ran == []
    await vault_tools.set_policy("vault.delete_file", Policy.ALWAYS)
    done = await run("tool", params, services)
    assert done == Done(result="deleted /tmp/x")
    assert vault.ran == ["delete_file /tmp/x"]


async def test_an_error_result_fails_the_task_with_the_tools_message_escaped(
    vault_tools: ToolService,
) -> None:
    services = tool_services(vault_tools)
    params = {"server": "clock", "tool": "now", "arguments": {"timezone": "Mars/\x1b[2JBase"}}
    with pytest.raises(TaskError) as failed:
        await run("tool", params, services)
    message = failed.value.message
    assert message.startswith("clock.now failed:")
    assert "Unknown time zone" in message
    assert "\x1b" not in message
    assert "\\x1b[2J" in message
    assert not isinstance(failed.value, TaskParamError)  # worth a retry? the engine decides


async def test_unknown_tools_and_servers_are_named(vault_tools: ToolService) -> None:
    services = tool_services(vault_tools)
    with pytest.raises(TaskParamError) as no_tool:
        await run("tool", {"server": "vault", "tool": "shred"}, services)
    assert no_tool.value.field == "tool"
    assert "vault.shred" in no_tool.value.message
    assert "delete_file" in no_tool.value.hint  # its tools are listed
    with pytest.raises(TaskParamError) as no_server:
        await run("tool", {"server": "attic", "tool": "open"}, services)
    assert no_server.value.field == "server"
    assert "'attic'" in no_server.value.message


async def test_arguments_the_schema_refuses_are_named(
    vault_tools: ToolService, vault: Vault
) -> None:
    await vault_tools.set_policy("vault.delete_file", Policy.ALWAYS)
    services = tool_services(vault_tools)
    with pytest.raises(TaskParamError) as invalid:
        await run("tool", {"server": "vault", "tool": "delete_file", "arguments": {}}, services)
    assert invalid.value.field == "arguments"
    assert "path" in invalid.value.message
    assert vault.ran == []


async def test_without_the_tool_system_the_task_says_so() -> None:
    for services in (TaskServices(Settings), tool_services(None)):
        with pytest.raises(TaskError, match="The tool system is not running"):
            await run("tool", {"server": "clock", "tool": "now"}, services)
