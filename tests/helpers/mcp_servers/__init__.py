"""MCP servers for tests, run as scripts with ``sys.executable``."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
MISBEHAVING = HERE / "misbehaving.py"
HTTP_SERVER = HERE / "http_server.py"
