"""Keiko's own MCP servers, run in-process and reached through the same client path."""

from keiko_desktop.mcp_tools.builtin.clock import create_clock_server
from keiko_desktop.mcp_tools.builtin.files import GrantedFolders, create_files_server
from keiko_desktop.mcp_tools.builtin.notes import create_notes_server

__all__ = ["GrantedFolders", "create_clock_server", "create_files_server", "create_notes_server"]
