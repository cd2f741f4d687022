"""Helpers shared by the subcommands: running the core, reporting errors in plain words."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from keiko_desktop.core.config import Paths, load_settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.logs import setup_logging
from keiko_desktop.core.safe_text import printable

T = TypeVar("T")


def error(message: object) -> None:
    """Print an error for a person: what happened, then what to do. Escaped like ``show``:
    an error often quotes what a server or a file said."""
    print(f"keiko: {printable(str(message))}", file=sys.stderr)


def show(text: str, end: str = "\n") -> None:
    """Print text that did not come from Keiko itself (a tool's result, a stored message, a
    server's name or output) with every control character escaped (``core.safe_text``), so it
    cannot drive the terminal: no clearing, no title or clipboard writes, no hidden lines."""
    print(printable(text), end=end)


def run_async(factory: Callable[[], Awaitable[int]]) -> int:
    """Run a coroutine on a fresh loop; a KeikoError becomes a clear message and exit 1."""
    paths = Paths.from_env()
    try:
        paths.ensure()
    except OSError as exc:
        error(f"cannot create {exc.filename}: {exc.strerror}")
        return 1
    setup_logging(paths)
    try:
        load_settings(paths)
        return asyncio.run(_guard(factory))
    except KeikoError as exc:
        error(exc)
        return 1
    except KeyboardInterrupt:
        return 130


async def _guard(factory: Callable[[], Awaitable[int]]) -> int:
    return await factory()
