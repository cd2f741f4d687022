"""The progress server (``progress_server.py``) as a process: its path, and ``progress_http``,
which runs it over streamable HTTP on a free port and yields its URL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.mcp_servers import free_port, wait_for_port
from tests.helpers.processes import stop

PROGRESS_SERVER = Path(__file__).parent / "progress_server.py"
RETRY_MS = 400
"""The ``retry:`` interval the server announces (``progress_server.RETRY_MS``)."""
CUT_MARKER = "step 2 of"
"""What a test's proxy waits for before it cuts the stream (``progress_server.CUT_MARKER``)."""


@contextmanager
def progress_http(env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """The server on 127.0.0.1; yields ``(url, port)``."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(PROGRESS_SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for_port(process, port, "the progress server")
        yield f"http://127.0.0.1:{port}/mcp", port
    finally:
        stop(process)
