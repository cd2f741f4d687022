"""MCP servers for tests, run as scripts with ``sys.executable``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
MISBEHAVING = HERE / "misbehaving.py"
HTTP_SERVER = HERE / "http_server.py"
HOSTILE = HERE / "hostile.py"


def hostile_entry(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """An ``mcpServers`` entry that runs the hostile server (``hostile.py``) with ``args``."""
    entry: dict[str, Any] = {"command": sys.executable, "args": [str(HOSTILE), *args]}
    if env:
        entry["env"] = env
    return entry


def write_servers_file(path: Path, **servers: dict[str, Any]) -> Path:
    """A Claude Desktop style file with these ``mcpServers``, for ``keiko mcp import``."""
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path
