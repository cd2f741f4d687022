"""MCP servers for tests, run as scripts with ``sys.executable``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers.processes import stop

HERE = Path(__file__).parent
MISBEHAVING = HERE / "misbehaving.py"
HTTP_SERVER = HERE / "http_server.py"
HOSTILE = HERE / "hostile.py"


def hostile_entry(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """An ``mcpServers`` entry that runs the hostile server (``hostile.py``) with ``args``."""
    entry: dict[str, Any] = {"command": sys.executable, "args": [str(HOSTILE), *args]}
    if env:
        entry["env"] = env
    return entry


def write_servers_file(path: Path, **servers: dict[str, Any]) -> Path:
    """A Claude Desktop style file with these ``mcpServers``, for ``keiko mcp import``."""
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(process: subprocess.Popen[bytes], port: int, what: str) -> None:
    """Wait up to 15 s until ``process`` (``what``, for the error) accepts connections on
    127.0.0.1:``port``; RuntimeError when it exits first or never listens."""
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited at start") from None
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start in 15 s")


@contextmanager
def http_server(*args: str) -> Iterator[str]:
    """``http_server.py`` running on a free port (``args``: e.g. ``--json``); yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(HTTP_SERVER), str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(process, port, "the HTTP test server")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)


def import_servers(home: Path, *flags: str, **servers: dict[str, Any]) -> str:
    """`keiko mcp import` (with ``flags``, e.g. ``--replace``) of a file holding ``servers``
    into KEIKO_HOME ``home``, as a person runs it; its output. It must succeed."""
    from tests.helpers.cli import run_keiko

    source = write_servers_file(home.parent / "import-servers.json", **servers)
    done = run_keiko(home, "mcp", "import", str(source), *flags, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
