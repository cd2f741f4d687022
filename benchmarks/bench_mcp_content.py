"""MCP resources and prompts: Keiko's ``McpResources`` over the pool vs a bare SDK client.

Run as ``python -m benchmarks.bench_mcp_content [N]``. Two copies of the test server
``tests/helpers/mcp_servers/resources_server.py`` run in one process: one behind Keiko's tool
system (``build_tool_system``, every client hook lent: elicitation, sampling, logging), one
behind a plain ``mcp.Client``. Reads of ``docs://readme``, reads of a template's expansion and
``prompts/get`` of ``review`` are interleaved (keiko, bare, keiko, bare, ...) so load hits both
alike; medians of N with the keiko/bare ratios. Writes ``benchmarks/results/mcp_content.json``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from benchmarks.common import write_results
from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.mcp_tools.resources import McpResources
from keiko_desktop.mcp_tools.setup import build_tool_system

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.helpers.mcp_servers import resources_server  # noqa: E402

Call = Callable[[], Awaitable[Any]]


async def timed(pairs: dict[str, tuple[Call, Call]], n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (keiko, bare) in pairs.items():
        for _ in range(10):  # warm up both paths
            await keiko()
            await bare()
        k_t: list[float] = []
        b_t: list[float] = []
        for _ in range(n):
            start = time.perf_counter()
            await keiko()
            k_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            await bare()
            b_t.append(time.perf_counter() - start)
        k, b = statistics.median(k_t), statistics.median(b_t)
        out[name] = {
            "keiko_median_ms": round(k * 1000, 3),
            "bare_sdk_median_ms": round(b * 1000, 3),
            "keiko_over_bare_ratio": round(k / b, 3),
            "n": n,
        }
    return out


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["KEIKO_HOME"] = home
        resources_server.configure(Path(home))
        paths = Paths.from_env()
        paths.ensure()
        bus = EventBus(asyncio.get_running_loop())
        system = await build_tool_system(paths, bus)
        try:
            if not await system.pool.wait_settled(time_limit=60):
                raise RuntimeError("the resources server did not start")
            content = system.service.content
            assert isinstance(content, McpResources)
            params = StdioServerParameters(
                command=sys.executable, args=[str(Path(resources_server.__file__))]
            )
            async with Client(params, cache=None) as bare:
                results = await timed(
                    {
                        "read_resource": (
                            lambda: content.read("docs", "docs://readme"),
                            lambda: bare.read_resource("docs://readme"),
                        ),
                        "read_template_expansion": (
                            lambda: content.read("docs", "docs://pages/intro"),
                            lambda: bare.read_resource("docs://pages/intro"),
                        ),
                        "get_prompt": (
                            lambda: content.get_prompt("docs", "review", {"topic": "speed"}),
                            lambda: bare.get_prompt("review", {"topic": "speed"}),
                        ),
                    },
                    n,
                )
        finally:
            await system.aclose()
    write_results("mcp_content", {"headline": results})


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
