"""build_tool_system: servers from mcp.json, choices written back, everything closed."""

from __future__ import annotations

import json
import sys

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.mcp_tools.config import config_path, load_config
from keiko_desktop.mcp_tools.setup import build_tool_system
from keiko_desktop.store import SqliteToolRepository, open_database
from tests.helpers.mcp_servers import MISBEHAVING
from tests.helpers.processes import gone

from .conftest import wait_status


async def test_servers_from_mcp_json_and_choices_written_back(paths: Paths, bus: EventBus) -> None:
    folder = paths.data_dir / "granted"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha")
    server = {"command": sys.executable, "args": [str(MISBEHAVING)]}
    config_path(paths).write_text(
        json.dumps(
            {
                "mcpServers": {
                    "bad": server,
                    "off": {
                        "command": sys.executable,
                        "args": [str(MISBEHAVING)],
                        "disabled": True,
                    },
                },
                "builtinServers": {
                    "files": {"folders": [str(folder)]},
                    "notes": {"disabled": True},
                },
            }
        )
    )
    database = await open_database(paths.database)
    repo = SqliteToolRepository(database)
    system = await build_tool_system(paths, bus, policies=repo, audit=repo, notes=repo)
    try:
        pool, service = system.pool, system.service
        assert await pool.wait_settled(time_limit=30)
        states = {s.name: s for s in service.servers()}
        assert states["bad"].status == "ready"
        assert (states["off"].status, states["off"].detail, states["off"].enabled) == (
            "stopped",
            "disabled",
            False,
        )
        assert states["notes"].status == "stopped"
        assert "a.txt" in (await service.call("files.list_files", {"path": str(folder)})).text
        assert not any(t.server == "off" for t in service.tools())
        pid = int((await pool.call_tool("bad", "pid", {})).text)
        await service.set_server_enabled("bad", False)
        assert gone(pid)
        assert load_config(paths).servers["bad"].disabled
        await service.set_server_enabled("off", True)
        await wait_status(pool, "off", "ready")
        assert not load_config(paths).servers["off"].disabled
        assert any(t.server == "off" for t in service.tools())
    finally:
        await system.aclose()
        await database.aclose()
    assert {s.status for s in system.service.servers()} == {"stopped"}
