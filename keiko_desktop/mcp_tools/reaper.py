"""Making sure a stdio server leaves no process behind.

The SDK closes a server's stdin and kills its process group only if the server itself does not
exit in time. A server that exits cleanly can still leave children it started (a watcher, a
browser) running. So each stdio server gets a marker in its environment; once it is up, its
process is found by that marker, and when its client has closed, every process of its tree (as
seen just before closing) and its process group is terminated, then killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import uuid

import psutil

log = logging.getLogger(__name__)

MARKER = "KEIKO_MCP_SERVER_ID"


class ProcessReaper:
    """The process tree of one stdio server."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.pid: int | None = None
        self._tree: list[psutil.Process] = []

    def env(self) -> dict[str, str]:
        return {MARKER: self.token}

    def find(self) -> int | None:
        """Find the server among this process's children (call once it is running)."""
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process().children():
                with contextlib.suppress(psutil.Error):
                    if child.environ().get(MARKER) == self.token:
                        self.pid = child.pid
                        self._tree = [child]
                        return child.pid
        return None

    def snapshot(self) -> None:
        """Remember the server's whole tree; call just before closing its client."""
        if self.pid is None or not self._tree:
            return
        with contextlib.suppress(psutil.Error):
            self._tree = [self._tree[0], *self._tree[0].children(recursive=True)]

    async def reap(self, grace: float = 1.0) -> list[int]:
        """Terminate, then kill, whatever of the tree survived. Returns the pids it had to stop."""
        return await asyncio.to_thread(self._reap, grace)

    def _reap(self, grace: float) -> list[int]:
        alive = [p for p in self._tree if _running(p)]
        if self.pid is not None and sys.platform != "win32":
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGTERM)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        _gone, still = psutil.wait_procs(alive, timeout=grace)
        for process in still:
            with contextlib.suppress(psutil.Error):
                process.kill()
        if self.pid is not None and sys.platform != "win32":
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        if alive:
            log.info("stopped %d leftover process(es) of MCP server pid %s", len(alive), self.pid)
        return [p.pid for p in alive]


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
