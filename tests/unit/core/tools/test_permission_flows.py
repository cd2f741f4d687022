"""Always, Ask (approved, always-allowed, denied, timed out, unheard), Never, and the audit rows."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.approvals import ApprovalRequest
from keiko_desktop.core.tools.errors import ToolNotFoundError
from keiko_desktop.core.tools.events import ToolApprovalRequested
from keiko_desktop.core.tools.models import ApprovalAnswer, Policy
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.store import SqliteToolRepository
from tests.helpers.approver import Approver
from tests.helpers.events import EventRecorder

from .conftest import Vault


async def test_always_runs_without_asking_and_is_audited(
    service: ToolService, bus: EventBus, vault: Vault, repo: SqliteToolRepository
) -> None:
    approver = Approver(service, ApprovalAnswer.DENY)
    await service.set_policy("vault.delete_file", Policy.ALWAYS)
    result = await service.call("vault.delete_file", {"path": "/tmp/x"}, conversation_id=7)
    assert (result.text, result.decision, result.is_error) == ("deleted /tmp/x", "auto", False)
    assert approver.seen == []
    assert vault.ran == ["delete_file /tmp/x"]
    [row] = await repo.list_tool_calls()
    assert (row.server, row.tool, row.decision, row.is_error) == (
        "vault",
        "delete_file",
        "auto",
        False,
    )
    assert json.loads(row.arguments) == {"path": "/tmp/x"}
    assert row.conversation_id == 7
    assert row.agent is None
    assert row.result_size == len("deleted /tmp/x")
    assert row.duration is not None
    assert row.duration >= 0


async def test_ask_approved_once_runs_and_asks_again_next_time(
    service: ToolService, bus: EventBus, vault: Vault, repo: SqliteToolRepository
) -> None:
    approver = Approver(service, ApprovalAnswer.ALLOW_ONCE)
    result = await service.call("vault.delete_file", {"path": "a"}, agent="researcher")
    assert result.decision == "approved"
    assert not result.is_error
    await service.call("vault.delete_file", {"path": "b"})
    assert len(approver.seen) == 2
    first = approver.seen[0]
    assert (first.server, first.tool, first.arguments) == ("vault", "delete_file", {"path": "a"})
    assert vault.ran == ["delete_file a", "delete_file b"]
    rows = await repo.list_tool_calls()
    assert [r.decision for r in rows] == ["approved", "approved"]
    assert rows[1].agent == "researcher"
    assert await repo.load_policies() == {}


async def test_always_allow_answer_persists_the_policy(
    service: ToolService, bus: EventBus, repo: SqliteToolRepository
) -> None:
    approver = Approver(service, ApprovalAnswer.ALWAYS_ALLOW)
    await service.call("vault.delete_file", {"path": "a"})
    await service.call("vault.delete_file", {"path": "b"})
    assert len(approver.seen) == 1
    [(tool, stored)] = (await repo.load_policies()).items()
    assert (tool, stored.policy) == ("vault.delete_file", "always")
    assert stored.fingerprint == service.registry.get("vault.delete_file").fingerprint
    assert [r.decision for r in await repo.list_tool_calls()] == ["auto", "approved"]


async def test_ask_denied_does_not_run_and_is_audited(
    service: ToolService, bus: EventBus, vault: Vault, repo: SqliteToolRepository
) -> None:
    Approver(service, ApprovalAnswer.DENY)
    result = await service.call("vault.delete_file", {"path": "/etc"})
    assert result.is_error
    assert result.decision == "denied"
    assert not result.ran
    assert "did not allow vault.delete_file" in result.text
    assert vault.ran == []
    [row] = await repo.list_tool_calls()
    assert (row.decision, row.is_error, row.duration) == ("denied", True, None)


async def test_ask_unanswered_times_out_as_deny(
    service: ToolService, bus: EventBus, vault: Vault, repo: SqliteToolRepository
) -> None:
    approver = Approver(service, None)
    started = time.monotonic()
    result = await service.call("vault.delete_file", {"path": "x"})
    waited = time.monotonic() - started
    assert 0.4 <= waited < 3
    assert result.decision == "timed_out"
    assert "No one approved vault.delete_file in time" in result.text
    assert vault.ran == []
    assert approver.cancelled == 1  # the approver was told to stop asking (close its dialog)
    assert service.approvals.pending() == []
    [row] = await repo.list_tool_calls()
    assert row.decision == "timed_out"


async def test_ask_with_no_approver_registered_is_denied_at_once_saying_why(
    service: ToolService, bus: EventBus, vault: Vault
) -> None:
    _listener = EventRecorder(bus, ToolApprovalRequested)  # listening on the bus is not approving
    started = time.monotonic()
    result = await service.call("vault.delete_file", {"path": "x"})
    assert time.monotonic() - started < 0.4
    assert result.decision == "denied"
    assert "needs approval (its policy is Ask) and nobody here can approve it" in result.text
    assert vault.ran == []


async def test_the_bus_event_is_a_plain_fact_and_the_approver_answers(
    service: ToolService, bus: EventBus, vault: Vault
) -> None:
    facts = EventRecorder(bus, ToolApprovalRequested)
    approver = Approver(service, ApprovalAnswer.ALLOW_ONCE)
    result = await service.call("vault.delete_file", {"path": "x"})
    assert result.decision == "approved"
    [fact] = facts.events
    assert isinstance(fact, ToolApprovalRequested)
    assert (fact.server, fact.tool, fact.arguments) == ("vault", "delete_file", {"path": "x"})
    assert fact.request_id == approver.seen[0].id
    assert not hasattr(fact, "request")  # no way to answer through the bus


async def test_a_failing_approver_is_a_deny(service: ToolService, vault: Vault) -> None:
    class Broken:
        async def approve(self, request: ApprovalRequest) -> ApprovalAnswer:
            raise RuntimeError("no terminal")

    service.approvals.set_approver(Broken())
    result = await service.call("vault.delete_file", {"path": "x"})
    assert result.decision == "denied"
    assert "could not be asked" in result.text
    assert vault.ran == []


async def test_never_refuses_without_asking(
    service: ToolService, bus: EventBus, vault: Vault, repo: SqliteToolRepository
) -> None:
    approver = Approver(service, ApprovalAnswer.ALLOW_ONCE)
    await service.set_policy("vault.peek", Policy.NEVER)
    result = await service.call("vault.peek")
    assert (result.decision, result.is_error) == ("blocked", True)
    assert "set to Never" in result.text
    assert approver.seen == []
    assert vault.ran == []
    [row] = await repo.list_tool_calls()
    assert row.decision == "blocked"


async def test_invalid_arguments_are_refused_before_anyone_is_asked(
    service: ToolService, bus: EventBus, vault: Vault, repo: SqliteToolRepository
) -> None:
    approver = Approver(service, ApprovalAnswer.ALLOW_ONCE)
    result = await service.call("vault.delete_file", {"path": 42})
    assert result.decision == "invalid"
    assert "path: 42 is not of type 'string'" in result.text
    missing = await service.call("vault.delete_file", {})
    assert "'path' is a required property" in missing.text
    assert approver.seen == []
    assert vault.ran == []
    assert [r.decision for r in await repo.list_tool_calls()] == ["invalid", "invalid"]


async def test_default_policies(service: ToolService) -> None:
    tools = {t.qualified_name: t for t in service.tools()}
    assert service.policy_for(tools["clock.now"]) is Policy.ALWAYS  # built-in, read-only
    assert service.policy_for(tools["vault.peek"]) is Policy.ALWAYS
    assert service.policy_for(tools["vault.delete_file"]) is Policy.ASK  # built-in, writes
    result = await service.call("clock.now", {"timezone": "UTC"})
    assert result.decision == "auto"
    assert '"timezone": "UTC"' in result.text


async def test_secrets_are_redacted_everywhere_but_for_the_approver(
    service: ToolService, bus: EventBus, vault: Vault, repo: SqliteToolRepository
) -> None:
    approver = Approver(service, ApprovalAnswer.ALLOW_ONCE)
    service.redactor.add_secret("sk-live-0123456789")
    result = await service.call(
        "vault.login",
        {"user": "ann sk-live-0123456789", "password": "hunter22", "api_key": "k-123456"},
    )
    assert result.text == "hello ann sk-live-0123456789"  # the tool itself got the real values
    [request] = approver.seen
    assert request.arguments["password"] == "hunter22"  # whoever approves sees what is sent
    shown = request.redacted_arguments
    assert shown == {"user": "ann [redacted]", "password": "[redacted]", "api_key": "[redacted]"}
    [row] = await repo.list_tool_calls()
    for secret in ("hunter22", "k-123456", "sk-live-0123456789"):
        assert secret not in row.arguments
    assert json.loads(row.arguments)["password"] == "[redacted]"


async def test_policies_survive_a_new_service(
    service: ToolService, pool: object, bus: EventBus, repo: SqliteToolRepository
) -> None:
    await service.set_policy("vault.delete_file", Policy.NEVER)
    fresh = ToolService(service.provider, bus, policies=repo, audit=repo)
    await fresh.load()
    spec = fresh.registry.get("vault.delete_file")
    assert fresh.policy_for(spec) is Policy.NEVER
    await fresh.policies.reset_policy("vault.delete_file")
    assert await repo.load_policies() == {}


async def test_disabled_server_tools_are_not_offered(service: ToolService) -> None:
    await service.set_server_enabled("vault", False)
    assert all(t.server != "vault" for t in service.tools())
    assert any(t.server == "vault" for t in service.tools(include_disabled=True)) is False
    with pytest.raises(ToolNotFoundError, match="disabled"):
        await service.call("vault.peek")
    await service.set_server_enabled("vault", True)
    for _ in range(200):
        if any(t.server == "vault" for t in service.tools()):
            break
        await asyncio.sleep(0.02)
    assert (await service.call("vault.peek")).text == "nothing to see"


async def test_unknown_tool_names_say_what_exists(service: ToolService) -> None:
    with pytest.raises(ToolNotFoundError, match="has no tool 'nope'"):
        await service.call("vault.nope")
    with pytest.raises(ToolNotFoundError, match=r"SERVER\.TOOL"):
        await service.call("justaname")
