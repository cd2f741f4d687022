"""MCP servers as tools: config and import, the server pool, built-in servers.

Named ``mcp_tools`` so it never shadows the ``mcp`` SDK. Implements ``core.tools.ports``.
"""

from keiko_desktop.mcp_tools.config import (
    BuiltinServerConfig,
    HttpServerConfig,
    McpConfig,
    StdioServerConfig,
    import_servers,
    load_config,
    save_config,
)
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.setup import ToolSystem, build_tool_system

__all__ = [
    "BuiltinServerConfig",
    "HttpServerConfig",
    "McpConfig",
    "PoolOptions",
    "ServerPool",
    "StdioServerConfig",
    "ToolSystem",
    "build_tool_system",
    "import_servers",
    "load_config",
    "save_config",
]
