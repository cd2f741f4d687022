"""The real tool system (mcp.json, the pool, real server processes, the SQLite tool tables)
in the test's KEIKO_HOME, as `keiko mcp` builds it (``cli.mcp.tool_system``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from keiko_desktop.cli.mcp import tool_system
from keiko_desktop.core.config import Paths
from keiko_desktop.core.tools.approvals import Approver
from keiko_desktop.mcp_tools.setup import ToolSystem


@asynccontextmanager
async def real_tool_system(
    only: list[str] | None = None, approver: Approver | None = None
) -> AsyncIterator[ToolSystem]:
    """The tool system with the wanted servers started and settled, and their policies
    checked; Ask tools go to ``approver``."""
    Paths.from_env().ensure()
    async with tool_system(only) as system:
        system.service.approvals.set_approver(approver)
        assert await system.pool.wait_settled(time_limit=60)
        await system.service.wait_reconciled()
        yield system
