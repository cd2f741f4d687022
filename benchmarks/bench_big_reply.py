"""A big tool reply over stdio: Keiko's bounded transport vs the bare SDK client.

Run as ``python -m benchmarks.bench_big_reply``. Each measurement is its own child process (so
its peak RSS is its own): the hostile test server's ``huge`` tool returns SIZE characters, once
through Keiko's ``ServerPool`` (``mcp_tools/bounded_stdio.py``: lines capped at 16 MB while they
are read) and once through a plain ``mcp.Client`` over the SDK's ``stdio_client``. Below the cap
both deliver and the ratio is Keiko's reading overhead; above it Keiko drops the reply as it
arrives, and the bare client gathers and parses all of it. Writes
``benchmarks/results/big_reply.json``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import write_results

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "helpers" / "mcp_servers" / "hostile.py"
SIZES = (4_000_000, 32_000_000)
CHILD_TIMEOUT = 600.0


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _keiko(size: int) -> str:
    from keiko_desktop.core.events import EventBus
    from keiko_desktop.mcp_tools.config import StdioServerConfig
    from keiko_desktop.mcp_tools.connection import PoolOptions
    from keiko_desktop.mcp_tools.pool import ServerPool
    from keiko_desktop.mcp_tools.transport import ClientFactory

    bus = EventBus(asyncio.get_running_loop())
    pool = ServerPool(bus, ClientFactory(), PoolOptions(start_timeout=60, call_timeout=500))
    try:
        pool.add(StdioServerConfig("evil", sys.executable, (str(SERVER),)))
        await pool.wait_settled(time_limit=60)
        start = time.perf_counter()
        try:
            result = await pool.call_tool("evil", "huge", {"size": size})
            outcome = f"delivered {result.size} characters"
        except Exception as exc:  # noqa: BLE001 - the outcome is what we report
            outcome = f"refused: {exc}"
        return json.dumps({"seconds": time.perf_counter() - start, "outcome": outcome})
    finally:
        await pool.aclose()


async def _bare(size: int) -> str:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
    async with Client(stdio_client(params)) as client:
        start = time.perf_counter()
        result = await client.call_tool("huge", {"size": size}, read_timeout_seconds=500)
        text = "".join(getattr(block, "text", "") for block in result.content)
        outcome = f"delivered {len(text)} characters"
        return json.dumps({"seconds": time.perf_counter() - start, "outcome": outcome})


def child(mode: str, size: int) -> None:
    import mcp.client.stdio  # noqa: F401 - imported before the baseline, in both modes

    if mode == "keiko":
        import keiko_desktop.mcp_tools.pool
        import keiko_desktop.mcp_tools.transport  # noqa: F401
    before = _rss_mib()
    out = json.loads(asyncio.run(_keiko(size) if mode == "keiko" else _bare(size)))
    out["peak_rss_growth_mib"] = round(_rss_mib() - before, 1)
    print(json.dumps(out))


def measure(mode: str, size: int) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_big_reply", "--child", mode, str(size)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            check=False,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "outcome": f"no answer within {CHILD_TIMEOUT:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"seconds": None, "outcome": f"failed: {done.stderr[-300:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> None:
    runs: dict[str, Any] = {}
    headline: dict[str, Any] = {}
    for size in SIZES:
        keiko, bare = measure("keiko", size), measure("bare", size)
        runs[str(size)] = {"keiko": keiko, "bare_sdk": bare}
        if keiko["seconds"] and bare["seconds"]:
            headline[f"{size // 1_000_000}MB_time_keiko_over_bare"] = round(
                keiko["seconds"] / bare["seconds"], 3
            )
        headline[f"{size // 1_000_000}MB_rss_growth_mib"] = {
            "keiko": keiko.get("peak_rss_growth_mib"),
            "bare_sdk": bare.get("peak_rss_growth_mib"),
        }
    write_results("big_reply", {"headline": headline, "runs": runs})


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
