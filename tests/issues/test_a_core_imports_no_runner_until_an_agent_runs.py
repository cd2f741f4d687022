"""Regression: building the Core imported the agent runner, and with it the tool middleware
and jsonschema, in every process: `keiko ask` paid for them (§2b of the architecture says it
imports neither jsonschema nor core.tools without --tools)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers.cli import keiko_env

HEAVY = ("jsonschema", "keiko_desktop.core.tools.middleware", "keiko_desktop.core.agents.runner")


def test_a_core_imports_no_runner_until_an_agent_runs(keiko_home: Path) -> None:
    code = textwrap.dedent(
        f"""
        import asyncio, sys
        from keiko_desktop.app import build_core

        async def main():
            core = await build_core(start_model=False)
            await core.agents.list_agents()  # the agents are there, and bound chats work
            print(sorted(m for m in {HEAVY!r} if m in sys.modules))
            await core.aclose()

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=keiko_env(keiko_home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
