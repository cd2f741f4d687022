"""A private X server (Xvfb) for tests that drive the real window with xdotool, as a person would.

    with XServer() as x:
        app = subprocess.Popen([...], env={**env, **x.env})
        window = x.wait_for_window("^Keiko$")
        x.xdotool("type", "hello")
        x.screenshot(path)

Xvfb picks a free display number itself (``-displayfd``), so tests running side by side, or a
desktop already on :0, never collide. Every wait is bounded; ``stop`` always ends the server.
There is no window manager: X's focus stays ``PointerRoot`` (keys go to the window under the
pointer), which is why ``pointer_into`` is part of the helper.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.helpers.processes import stop

TOOLS = ("Xvfb", "xdotool")
SCREEN = "1280x800x24"


def missing_tools(tools: tuple[str, ...] = TOOLS) -> list[str]:
    """The programs this helper needs that are not on PATH."""
    return [tool for tool in tools if shutil.which(tool) is None]


class XServerError(RuntimeError):
    pass


class XServer:
    """Xvfb on a free display; ``env`` is what a client needs to use it (DISPLAY, xcb)."""

    def __init__(self, screen: str = SCREEN, start_timeout: float = 15.0) -> None:
        self.screen = screen
        self.start_timeout = start_timeout
        self.display = ""
        self._proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> XServer:
        missing = missing_tools()
        if missing:
            raise XServerError(f"not installed: {', '.join(missing)}")
        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [
                    "Xvfb",
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    self.screen,
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=(write_fd,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            os.close(write_fd)
            write_fd = -1
            number = self._read_display_number(read_fd)
        finally:
            if write_fd >= 0:
                os.close(write_fd)
            os.close(read_fd)
        self.display = f":{number}"
        return self

    def _read_display_number(self, fd: int) -> str:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise XServerError(f"Xvfb did not start in {self.start_timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], min(left, 0.2))
            if ready:
                chunk = os.read(fd, 64)
                if not chunk:
                    break
                data += chunk
            elif self._proc.poll() is not None:
                break
        number = data.strip().decode()
        if not number.isdigit():
            err = self._stderr()
            self.stop()
            raise XServerError(f"Xvfb failed to start: {err or 'no display number'}")
        return number

    def _stderr(self) -> str:
        if self._proc is None or self._proc.poll() is None or self._proc.stderr is None:
            return ""
        return self._proc.stderr.read().decode(errors="replace").strip()[-500:]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop(proc)
        if proc.stderr is not None:
            proc.stderr.close()

    def __enter__(self) -> XServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ clients
    @property
    def env(self) -> dict[str, str]:
        """Environment for a Qt client of this server (the real xcb platform, not offscreen)."""
        return {"DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb"}

    def run(self, *args: str, timeout: float = 15.0, check: bool = True) -> str:
        """Run an X client (xdotool, import…) against this display; its stdout."""
        env = dict(os.environ, DISPLAY=self.display)
        result = subprocess.run(
            list(args), env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise XServerError(f"{' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def xdotool(self, *args: str, timeout: float = 15.0) -> str:
        return self.run("xdotool", *args, timeout=timeout)

    def visible_windows(self, name_regex: str) -> list[int]:
        """Ids of mapped windows whose title matches ``name_regex`` (none: empty)."""
        out = self.run(
            "xdotool", "search", "--onlyvisible", "--name", name_regex, timeout=10, check=False
        )
        return [int(line) for line in out.split() if line.isdigit()]

    def wait_for_window(self, name_regex: str, timeout: float = 30.0) -> int:
        """The first visible window titled ``name_regex``; XServerError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.visible_windows(name_regex)
            if found:
                return found[0]
            time.sleep(0.1)
        raise XServerError(f"no window titled {name_regex!r} after {timeout:.0f} s")

    def wait_window_gone(self, name_regex: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.visible_windows(name_regex):
            if time.monotonic() > deadline:
                raise XServerError(f"window {name_regex!r} still open after {timeout:.0f} s")
            time.sleep(0.1)

    def geometry(self, window: int) -> tuple[int, int, int, int]:
        """x, y, width, height of a window."""
        out = self.xdotool("getwindowgeometry", "--shell", str(window))
        values = dict(line.split("=", 1) for line in out.split() if "=" in line)
        return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])

    def pointer_into(self, x: int, y: int) -> None:
        """Move the pointer (with no window manager the keys go to the window under it)."""
        self.xdotool("mousemove", "--sync", str(x), str(y))

    def screenshot(self, path: Path) -> Path | None:
        """The whole screen as a PNG (needs imagemagick's ``import``; None without it)."""
        if shutil.which("import") is None:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        self.run("import", "-window", "root", str(path), timeout=20, check=False)
        return path if path.exists() else None
