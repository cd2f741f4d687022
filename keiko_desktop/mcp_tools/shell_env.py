"""The PATH a stdio server starts with, and finding its command on it.

An app started from a desktop icon inherits a minimal PATH without the user's ``~/.local/bin``,
nvm or Homebrew folders, so ``npx`` and ``uvx`` are not found. On POSIX the user's login shell is
asked once (``$SHELL -lc 'printf %s "$PATH"'``, with a timeout) and its PATH is put first; if the
shell fails or hangs, the process PATH is used. On Windows ``.cmd`` shims (npx.cmd) are found
through PATHEXT by ``shutil.which``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys

from keiko_desktop.core.tools.errors import ServerUnavailableError

log = logging.getLogger(__name__)

_START = "__KEIKO_PATH_START__"
_END = "__KEIKO_PATH_END__"


def merge_paths(first: str, then: str) -> str:
    """Entries of ``first``, then those of ``then`` not seen yet; empty entries dropped."""
    seen: list[str] = []
    for entry in [*first.split(os.pathsep), *then.split(os.pathsep)]:
        if entry and entry not in seen:
            seen.append(entry)
    return os.pathsep.join(seen)


class LoginShellPath:
    """The login shell's PATH merged with this process's, computed once and cached."""

    def __init__(self, shell: str | None = None, time_limit: float = 3.0) -> None:
        self._shell = shell if shell is not None else os.environ.get("SHELL", "")
        self._time_limit = time_limit
        self._cached: str | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._cached is None:
                process_path = os.environ.get("PATH", os.defpath)
                shell_path = await self._ask_shell() if sys.platform != "win32" else None
                self._cached = merge_paths(shell_path or "", process_path)
            return self._cached

    async def _ask_shell(self) -> str | None:
        if not self._shell:
            return None
        script = f"printf '%s%s%s' '{_START}' \"$PATH\" '{_END}'"
        try:
            proc = await asyncio.create_subprocess_exec(
                self._shell,
                "-lc",
                script,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            log.info(
                "login shell %s could not start (%s); using the process PATH", self._shell, exc
            )
            return None
        try:
            async with asyncio.timeout(self._time_limit):
                out, _ = await proc.communicate()
        except TimeoutError:
            log.info("login shell %s took too long; using the process PATH", self._shell)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the shell and whatever it started
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 1.0)
            return None
        text = out.decode("utf-8", "replace")
        start, end = text.rfind(_START), text.rfind(_END)
        if start < 0 or end < start:
            return None
        return text[start + len(_START) : end] or None


def resolve_command(command: str, path: str) -> str:
    """The full path of ``command`` on ``path`` (PATHEXT applies on Windows)."""
    if os.path.dirname(command):
        if os.path.exists(command) or shutil.which(command):
            return command
        raise ServerUnavailableError(
            f"The command {command} does not exist.", "Fix 'command' in mcp.json."
        )
    found = shutil.which(command, path=path)
    if found is None:
        raise ServerUnavailableError(
            f"The command '{command}' was not found on PATH.",
            "Install it (for npx: Node.js; for uvx: uv), or give its full path in mcp.json.",
        )
    return found
