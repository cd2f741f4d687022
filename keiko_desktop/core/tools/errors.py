"""Errors of tool use. Each says what happened and what to do."""

from __future__ import annotations

from keiko_desktop.core.errors import KeikoError


class ToolError(KeikoError):
    """Base of every tool-use error."""


class ToolNotFoundError(ToolError):
    """No ready, enabled server offers a tool of that name."""


class ServerUnavailableError(ToolError):
    """The server is starting, stopped, disabled or failed."""


class ToolTimeoutError(ToolError):
    """The server did not answer a call in time. The server itself keeps running."""


class ToolCallError(ToolError):
    """The call failed in transport or protocol (not a tool's own error result)."""


class McpConfigError(ToolError):
    """``mcp.json`` (or a file being imported) is unreadable or has a wrong field."""


class SecretStoreError(ToolError):
    """A secret cannot be read from or written to the system keychain."""
