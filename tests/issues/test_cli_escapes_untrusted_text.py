"""Regression (issue 9, item 6): the CLI printed terminal escapes from untrusted text raw.

`keiko mcp call` printed ESC/OSC sequences from results as they came (clear screen, window
title, OSC 52 clipboard write, hyperlinks); so did server stderr lines in `mcp list` and stored
messages in `keiko history` and `--search`. Everything the CLI prints that did not come from
Keiko itself now goes through one sanitiser (``core.safe_text.printable``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from keiko_desktop.core.config import Paths
from keiko_desktop.store import open_database
from tests.helpers.cli import run_keiko
from tests.helpers.mcp_servers import hostile_entry, import_servers
from tests.helpers.mcp_servers.hostile import ESCAPES

RAW = ("\x1b", "\x07", "\r", "\x9b")


def _assert_inert(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal"


def test_mcp_call_prints_escape_sequences_inert(keiko_home: Path) -> None:
    import_servers(keiko_home, evil=hostile_entry())
    done = run_keiko(keiko_home, "mcp", "call", "evil.escapes", "--yes", timeout=90)
    assert done.returncode == 0, done.stderr
    _assert_inert(done.stdout)
    assert "before\\x1b[2J" in done.stdout
    assert "\\x1b]52;c;" in done.stdout
    assert done.stdout.rstrip().endswith("after")


def test_mcp_list_shows_server_stderr_inert(keiko_home: Path) -> None:
    import_servers(keiko_home, dying=hostile_entry("--exit-with-escapes"))
    done = run_keiko(keiko_home, "mcp", "list", timeout=120)
    assert "dying" in done.stdout
    assert "refusing to start" in done.stdout  # the stderr tail is there, escaped
    _assert_inert(done.stdout)
    _assert_inert(done.stderr)


async def _store_hostile_chat() -> int:
    database = await open_database(Paths.from_env().database)
    try:
        repo = database.conversations
        conversation = await repo.create_conversation(f"title{ESCAPES}")
        await repo.add_message(conversation.id, "user", f"look{ESCAPES} here")
        return conversation.id
    finally:
        await database.aclose()


def test_history_and_search_print_stored_text_inert(keiko_home: Path) -> None:
    conversation_id = asyncio.run(_store_hostile_chat())
    for args in (
        ("history",),
        ("history", str(conversation_id)),
        ("history", "--search", "look"),
    ):
        done = run_keiko(keiko_home, *args, timeout=60)
        assert done.returncode == 0, done.stderr
        _assert_inert(done.stdout)
        assert "\\x1b" in done.stdout, args
