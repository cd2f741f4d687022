"""MCP tool calls: Keiko's pool (and the full ToolService path) vs a bare SDK client.

Run as ``python -m benchmarks.bench_mcp [N]``. Two copies of the same stdio server (the test
server ``tests/helpers/mcp_servers/misbehaving.py``) are started in one run: one behind Keiko's
``ServerPool``, one behind a plain ``mcp.Client``. Calls to ``echo`` are interleaved
(pool, bare, service, pool, bare, service, ...) so load and noise hit all alike; medians of N are
reported with the pool/bare ratio. Cold start is the time from adding a stdio server to "ready"
(pool) and from entering a bare ``Client`` to its handshake done (bare), medians of a few runs.
Writes ``benchmarks/results/mcp.json``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from benchmarks.common import summary, write_results
from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.events import McpServerStatusChanged
from keiko_desktop.core.tools.models import Policy
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.mcp_tools.config import StdioServerConfig
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.store import SqliteToolRepository, open_database

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "helpers" / "mcp_servers" / "misbehaving.py"
ARGS = {"text": "hello from the benchmark"}


async def wait_ready(pool: ServerPool, name: str) -> None:
    changed = asyncio.Event()

    def on_status(_event: McpServerStatusChanged) -> None:
        changed.set()

    pool.bus.subscribe(McpServerStatusChanged, on_status)
    async with asyncio.timeout(60):
        while pool.connection(name).status != "ready":
            if pool.connection(name).status == "error":
                raise RuntimeError(pool.connection(name).detail)
            changed.clear()
            await changed.wait()


def ms(values: list[float]) -> dict[str, float]:
    return {k: (round(v * 1000, 3) if k != "n" else v) for k, v in summary(values).items()}


async def cold_starts(bus: EventBus, runs: int) -> dict[str, Any]:
    pool_times: list[float] = []
    bare_times: list[float] = []
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
    factory = ClientFactory()  # one per app: the login-shell PATH is looked up once
    start = time.perf_counter()
    await factory.shell_path.get()
    shell_lookup = time.perf_counter() - start
    for i in range(runs):
        pool = ServerPool(bus, factory)
        start = time.perf_counter()
        pool.add(StdioServerConfig(f"cold{i}", sys.executable, (str(SERVER),)))
        await wait_ready(pool, f"cold{i}")
        pool_times.append(time.perf_counter() - start)
        await pool.aclose()
        start = time.perf_counter()
        async with Client(params, cache=None) as client:
            await client.list_tools()  # the pool lists tools before it says "ready"
            bare_times.append(time.perf_counter() - start)
    return {
        "pool_ms": ms(pool_times),
        "bare_ms": ms(bare_times),
        "login_shell_path_lookup_ms": round(shell_lookup * 1000, 3),
    }


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["KEIKO_HOME"] = home
        paths = Paths.from_env()
        paths.ensure()
        bus = EventBus(asyncio.get_running_loop())
        database = await open_database(paths.database)
        repo = SqliteToolRepository(database)
        pool = ServerPool(bus, ClientFactory(log_dir=paths.log_dir))
        service = ToolService(pool, bus, policies=repo, audit=repo)
        await service.load()
        pool.add(StdioServerConfig("bench", sys.executable, (str(SERVER),)))
        await wait_ready(pool, "bench")
        await service.set_policy("bench.echo", Policy.ALWAYS)
        params = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
        pool_t: list[float] = []
        bare_t: list[float] = []
        service_t: list[float] = []
        async with Client(params, cache=None) as bare:
            for _ in range(20):  # warm up both paths
                await pool.call_tool("bench", "echo", ARGS)
                await bare.call_tool("echo", ARGS)
                await service.call("bench.echo", ARGS)
            for _ in range(n):
                start = time.perf_counter()
                await pool.call_tool("bench", "echo", ARGS)
                pool_t.append(time.perf_counter() - start)
                start = time.perf_counter()
                await bare.call_tool("echo", ARGS)
                bare_t.append(time.perf_counter() - start)
                start = time.perf_counter()
                result = await service.call("bench.echo", ARGS)
                service_t.append(time.perf_counter() - start)
                assert result.text == ARGS["text"], result
        await pool.aclose()
        cold = await cold_starts(bus, 5)
        audited = len(await repo.list_tool_calls(limit=100_000))
        await database.aclose()
    ratio = statistics.median(pool_t) / statistics.median(bare_t)
    service_ratio = statistics.median(service_t) / statistics.median(bare_t)
    write_results(
        "mcp",
        {
            "headline": {
                "call_round_trip_median_ms": {
                    "pool": round(statistics.median(pool_t) * 1000, 3),
                    "bare_sdk_client": round(statistics.median(bare_t) * 1000, 3),
                    "tool_service": round(statistics.median(service_t) * 1000, 3),
                },
                "pool_over_bare_ratio": round(ratio, 3),
                "service_over_bare_ratio": round(service_ratio, 3),
                "stdio_cold_start_median_ms": {
                    "pool_to_ready": cold["pool_ms"]["median"],
                    "bare_client_handshake_and_list": cold["bare_ms"]["median"],
                    "login_shell_path_once": cold["login_shell_path_lookup_ms"],
                },
            },
            "n": n,
            "call_ms": {"pool": ms(pool_t), "bare": ms(bare_t), "service": ms(service_t)},
            "cold_start": cold,
            "audit_rows_written": audited,
            "notes": "stdio server: tests/helpers/mcp_servers/misbehaving.py; tool: echo; "
            "service = validation + policy (Always) + audit row in SQLite + timing + logging",
        },
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
