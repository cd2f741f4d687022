"""The real tool system (mcp.json, the pool, real server processes, the SQLite tool tables)
in the test's KEIKO_HOME, as the CLI and the window build it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from keiko_desktop.core.config import Paths
from keiko_desktop.core.tools.approvals import Approver
from keiko_desktop.mcp_tools.setup import ToolSystem, build_tool_system
from keiko_desktop.store import SqliteToolRepository, open_database
from tests.helpers.events import running_loop_bus


@asynccontextmanager
async def real_tool_system(
    only: list[str] | None = None, approver: Approver | None = None
) -> AsyncIterator[ToolSystem]:
    """The tool system over ``mcp.json`` with the wanted servers started and settled."""
    paths = Paths.from_env()
    paths.ensure()
    database = await open_database(paths.database)
    try:
        repo = SqliteToolRepository(database)
        system = await build_tool_system(
            paths,
            running_loop_bus(),
            policies=repo,
            audit=repo,
            notes=repo,
            only=only,
            approver=approver,
        )
        try:
            assert await system.pool.wait_settled(time_limit=60)
            await system.service.wait_reconciled()
            yield system
        finally:
            await system.aclose()
    finally:
        await database.aclose()
