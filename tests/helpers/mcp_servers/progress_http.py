"""The progress server (``progress_server.py``) as a process: its path, and ``progress_http``,
which runs it over streamable HTTP on a free port and yields its URL."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.mcp_servers import free_port
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
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("the progress server exited at start") from None
                time.sleep(0.05)
        else:
            raise RuntimeError("the progress server did not start in 15 s")
        yield f"http://127.0.0.1:{port}/mcp", port
    finally:
        stop(process)
