"""The built-in servers, reached through the pool's in-memory client path."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.models import ToolResult
from keiko_desktop.mcp_tools.config import BuiltinServerConfig
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.setup import builtin_factories
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.store import SqliteToolRepository, open_database

from .conftest import FAST, wait_status


def granted_real(path: Path) -> str:
    return os.path.realpath(path)


@pytest.fixture
def granted(tmp_path: Path) -> Path:
    root = tmp_path / "granted"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_text("Hello world\nsecond line mentions KIWI\n")
    (root / "sub" / "deep.md").write_text("# Deep\nthe kiwi is a bird\n")
    (root / "big.txt").write_text("0123456789" * 30_000)
    (root / "blob.bin").write_bytes(b"\x00\x01binary")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret kiwi\n")
    os.symlink(outside / "secret.txt", root / "link-to-secret.txt")
    os.symlink(outside, root / "link-to-outside")
    os.symlink(root / "hello.txt", root / "inner-link.txt")
    return root


@pytest.fixture
async def files_pool(bus: EventBus, granted: Path) -> AsyncIterator[ServerPool]:
    options = replace(FAST, max_result_chars=100_000)
    pool = ServerPool(bus, ClientFactory(builtins=builtin_factories(None)), options)
    pool.add(BuiltinServerConfig("files", folders=(str(granted),)))
    pool.add(BuiltinServerConfig("clock"))
    try:
        await wait_status(pool, "files", "ready")
        await wait_status(pool, "clock", "ready")
        yield pool
    finally:
        await pool.aclose()


async def files(pool: ServerPool, tool: str, **arguments: object) -> ToolResult:
    return await pool.call_tool("files", tool, dict(arguments))


async def test_files_tools_are_builtins_and_only_writing_is_not_read_only(
    files_pool: ServerPool,
) -> None:
    specs = {t.name: t for t in files_pool.list_tools("files")}
    assert set(specs) == {"list_files", "read_file", "search_text", "write_file"}
    assert all(s.builtin for s in specs.values())
    assert {name for name, s in specs.items() if not s.read_only} == {"write_file"}
    assert files_pool.server_states()[0].kind == "builtin"


async def test_read_and_list_inside_the_granted_folder(
    files_pool: ServerPool, granted: Path
) -> None:
    assert (await files(files_pool, "read_file", path="hello.txt")).text.startswith("Hello world")
    absolute = await files(files_pool, "read_file", path=str(granted / "sub" / "deep.md"))
    assert "kiwi is a bird" in absolute.text
    inner = await files(files_pool, "read_file", path="inner-link.txt")
    assert inner.text.startswith("Hello world")  # a link that stays inside is fine
    listing = (await files(files_pool, "list_files", path=str(granted))).text
    assert "sub/" in listing
    assert "hello.txt" in listing
    assert "link-to-outside -> (link outside the granted folders, not followed)" in listing
    roots = (await files(files_pool, "list_files")).text
    assert str(granted_real(granted)) in roots


@pytest.mark.parametrize(
    "path",
    [
        "../outside/secret.txt",
        "sub/../../outside/secret.txt",
        "link-to-secret.txt",
        "link-to-outside/secret.txt",
        "/etc/passwd",
    ],
)
async def test_traversal_and_symlink_escapes_are_refused(files_pool: ServerPool, path: str) -> None:
    result = await files(files_pool, "read_file", path=path)
    assert result.is_error
    assert "outside the granted folders" in result.text
    assert "top secret" not in result.text


async def test_listing_an_escaping_folder_is_refused(files_pool: ServerPool) -> None:
    result = await files(files_pool, "list_files", path="link-to-outside")
    assert result.is_error
    assert "outside the granted folders" in result.text


async def test_search_finds_text_but_never_follows_links_out(files_pool: ServerPool) -> None:
    result = await files(files_pool, "search_text", query="kiwi")
    assert "hello.txt:2: second line mentions KIWI" in result.text
    assert "deep.md:2: the kiwi is a bird" in result.text
    assert "top secret" not in result.text
    refused = await files(files_pool, "search_text", query="kiwi", path="../outside")
    assert refused.is_error


async def test_big_files_are_truncated_with_a_note(files_pool: ServerPool) -> None:
    first = await files(files_pool, "read_file", path="big.txt")
    assert "[truncated: showed bytes 0-50000 of 300000" in first.text
    assert "offset=50000" in first.text
    last = await files(files_pool, "read_file", path="big.txt", offset=250_000)
    assert "truncated" not in last.text
    assert len(last.text) == 50_000


async def test_binary_files_are_refused(files_pool: ServerPool) -> None:
    result = await files(files_pool, "read_file", path="blob.bin")
    assert result.is_error
    assert "binary file" in result.text


async def test_no_granted_folder_says_how_to_grant(bus: EventBus) -> None:
    pool = ServerPool(bus, ClientFactory(builtins=builtin_factories(None)), FAST)
    pool.add(BuiltinServerConfig("files"))
    try:
        await wait_status(pool, "files", "ready")
        result = await pool.call_tool("files", "read_file", {"path": "x"})
        assert result.is_error
        assert "No folder is granted" in result.text
    finally:
        await pool.aclose()


async def test_clock_tools(files_pool: ServerPool) -> None:
    async def clock(tool: str, **arguments: object) -> ToolResult:
        return await files_pool.call_tool("clock", tool, dict(arguments))

    now = await clock("now", timezone="Europe/Paris")
    assert now.structured["timezone"] == "Europe/Paris"
    moved = await clock("add_to_date", date="2024-01-31", months=1)
    assert moved.structured["date"] == "2024-02-29"  # clamped to the month's end, leap year
    back = await clock("add_to_date", date="2024-03-01T10:00", days=-1, hours=2)
    assert back.structured["datetime"].startswith("2024-02-29T12:00")
    converted = await clock(
        "convert_time", time="2024-07-01T12:00", from_timezone="UTC", to_timezone="Asia/Tokyo"
    )
    assert converted.structured["datetime"] == "2024-07-01T21:00:00+09:00"
    diff = await clock("date_difference", start="2024-01-01", end="2024-03-01")
    assert diff.structured["days"] == 60
    bad = await clock("now", timezone="Mars/Olympus_Mons")
    assert bad.is_error
    assert "IANA name" in bad.text


async def test_notes_round_trip_through_the_store(bus: EventBus, tmp_path: Path) -> None:
    database = await open_database(tmp_path / "notes.sqlite3")
    repo = SqliteToolRepository(database)
    pool = ServerPool(bus, ClientFactory(builtins=builtin_factories(repo)), FAST)
    pool.add(BuiltinServerConfig("notes"))
    try:
        await wait_status(pool, "notes", "ready")
        specs = {t.name: t for t in pool.list_tools("notes")}
        assert not specs["create_note"].read_only
        assert specs["search_notes"].read_only
        created = await pool.call_tool(
            "notes", "create_note", {"title": "Groceries", "body": "kiwi, 100% rye bread"}
        )
        assert created.text.startswith("Saved note #1")
        await pool.call_tool("notes", "create_note", {"title": "Birds", "body": "the kiwi"})
        found = await pool.call_tool("notes", "search_notes", {"query": "kiwi rye"})
        assert "#1 Groceries" in found.text
        assert "Birds" not in found.text
        percent = await pool.call_tool("notes", "search_notes", {"query": "100%"})
        assert "Groceries" in percent.text
        read = await pool.call_tool("notes", "read_note", {"note_id": 2})
        assert read.text == "# Birds\n\nthe kiwi"
        missing = await pool.call_tool("notes", "read_note", {"note_id": 99})
        assert missing.is_error
        assert (await repo.get_note(1)) is not None
    finally:
        await pool.aclose()
        await database.aclose()
