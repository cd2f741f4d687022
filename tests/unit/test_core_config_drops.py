"""What a dropped MCP config or folder does (``Core.import_mcp_config``, ``Core.grant_folder``):
mcp.json changes, and a running tool system follows at once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.mcp_tools.config import config_path, load_config
from keiko_desktop.mcp_tools.config_changes import grant_folder, import_config_file
from tests.helpers.mcp_servers import MISBEHAVING


def claude_config(path: Path, **servers: dict[str, object]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def test_import_adds_new_servers_and_skips_known_ones(paths: Paths, tmp_path: Path) -> None:
    source = claude_config(
        tmp_path / "claude_desktop_config.json",
        one={"command": "one-server"},
        two={"command": "two-server", "args": ["--x"]},
    )
    first = import_config_file(paths, source)
    assert first.added_names == ["one", "two"]
    again = import_config_file(paths, source)
    assert (again.added_names, again.skipped) == ([], ["one", "two"])
    assert set(load_config(paths).servers) == {"one", "two"}


def test_import_of_a_file_without_servers_says_so(paths: Paths, tmp_path: Path) -> None:
    source = tmp_path / "other.json"
    source.write_text('{"editor": {}}')
    with pytest.raises(KeikoError, match="mcpServers"):
        import_config_file(paths, source)
    assert not config_path(paths).exists()


def test_grant_folder_adds_it_once(paths: Paths, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    new = grant_folder(paths, folder)
    assert new is not None
    assert new.folders == (str(folder.resolve()),)
    assert grant_folder(paths, folder) is None
    assert load_config(paths).builtins["files"].folders == (str(folder.resolve()),)
    with pytest.raises(KeikoError, match="not a folder"):
        grant_folder(paths, tmp_path / "missing")


async def test_running_tools_follow_a_drop(paths: Paths, tmp_path: Path) -> None:
    folder = tmp_path / "granted"
    folder.mkdir()
    (folder / "report.txt").write_text("quarterly numbers")
    source = claude_config(
        tmp_path / "claude_desktop_config.json",
        bad={"command": sys.executable, "args": [str(MISBEHAVING)]},
    )
    core = await build_core(paths, Settings(), start_model=False, start_tools=True)
    try:
        tools = await core.wait_tools(settle=30)
        assert tools is not None
        assert await core.grant_folder(folder)
        assert not await core.grant_folder(folder)
        assert core.tool_system is not None
        await core.tool_system.pool.wait_settled(time_limit=30)
        listing = await tools.call("files.list_files", {"path": str(folder)})
        assert "report.txt" in listing.text, listing.text
        assert await core.import_mcp_config(source) == ["bad"]
        await core.tool_system.pool.wait_settled(time_limit=30)
        assert "bad.pid" in {t.qualified_name for t in tools.tools()}
    finally:
        await core.aclose()
