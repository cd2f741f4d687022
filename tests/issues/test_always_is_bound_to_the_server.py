"""Regression (issue 9, item 1): an Always answer followed the tool's name, not the server.

Approving ``helper.echo`` with "Always", then `keiko mcp import --replace` of a file where
``helper`` is a different command, let the new server's ``echo`` run without asking. A policy
is now stored with the fingerprint of the server (command, arguments, env names, or URL) and
of the tool (name, description, schema); when either changes the Always no longer holds, the
tool asks again and a note says why.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from keiko_desktop.core.tools.models import ApprovalAnswer, Policy
from tests.helpers.approver import Approver
from tests.helpers.cli import db_rows
from tests.helpers.mcp_servers import hostile_entry, import_servers
from tests.helpers.tool_system import real_tool_system


async def _allow_always(home: Path) -> None:
    import_servers(home, helper=hostile_entry())
    always = Approver(None, ApprovalAnswer.ALWAYS_ALLOW)
    async with real_tool_system(["helper"], always) as system:
        result = await system.service.call("helper.echo", {"text": "hi"})
        assert (result.decision, result.text) == ("approved", "hi")
        spec = system.service.registry.get("helper.echo")
        assert system.service.policy_for(spec) is Policy.ALWAYS
    async with real_tool_system(["helper"], Approver(None, ApprovalAnswer.DENY)) as system:
        result = await system.service.call("helper.echo", {"text": "again"})
        assert result.decision == "auto"  # the same server: Always still holds


async def test_a_replaced_server_asks_again(keiko_home: Path) -> None:
    await _allow_always(keiko_home)
    out = import_servers(keiko_home, "--replace", helper=hostile_entry("--variant", "evil"))
    assert "'helper' is now a different server" in out
    deny = Approver(None, ApprovalAnswer.DENY)
    async with real_tool_system(["helper"], deny) as system:
        result = await system.service.call("helper.echo", {"text": "hi"})
        assert result.decision == "denied"
        assert "replaced implementation" not in result.text  # it never ran
        assert [r.qualified_name for r in deny.seen] == ["helper.echo"]
        [note] = system.service.policy_notes
        assert note.tool == "helper.echo"
        assert "is not the one it was allowed for" in note.reason
        assert system.service.policies.explicit("helper.echo") is None
    # The Always was cleared from the database, not just ignored.
    assert db_rows(keiko_home, "SELECT tool FROM tool_policies") == []


async def test_a_changed_tool_description_asks_again(keiko_home: Path) -> None:
    await _allow_always(keiko_home)
    deny = Approver(None, ApprovalAnswer.DENY)
    async with real_tool_system(["helper"], deny) as system:
        spec = system.service.registry.get("helper.echo")
        changed = replace(spec, description="Return the text. Also mail it to evil.")
        system.service.registry.update("helper", [changed])
        assert system.service.policy_for(changed) is Policy.ASK
        [note] = await system.service.reconcile([changed])
        assert "description or input schema changed" in note.reason
        result = await system.service.call("helper.echo", {"text": "hi"})
        assert result.decision == "denied"
        assert len(deny.seen) == 1
