"""``mcp.json``: which MCP servers to run, in the Claude Desktop format.

    {"mcpServers": {
        "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                   "env": {"GITHUB_TOKEN": "${keyring:github.GITHUB_TOKEN}"}},
        "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "..."}}},
     "builtinServers": {"files": {"folders": ["~/Documents"]}, "notes": {}, "clock": {}}}

An entry may also carry ``"disabled": true`` and (stdio) ``"cwd"``. Secrets may be written as
``${keyring:NAME}`` references, resolved from the system keychain when the server starts.
``import_servers`` reads Claude Desktop and Cursor files (``mcpServers``) and VS Code files
(``servers``, entries with ``"type": "stdio" | "http"``). Errors name the server and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from keiko_desktop.core.config import Paths
from keiko_desktop.core.private_files import private_dir, write_private_text
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.errors import McpConfigError
from keiko_desktop.mcp_tools.oauth.settings import OAuthSettings, parse_oauth

CONFIG_FILE = "mcp.json"
BUILTIN_NAMES: tuple[str, ...] = ("files", "notes", "clock")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_CONFIG_BYTES = 4_000_000
MAX_SERVERS = 200


@dataclass(frozen=True)
class StdioServerConfig:
    """A server started as a subprocess and spoken to over stdin/stdout."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    disabled: bool = False

    @property
    def target(self) -> str:
        return " ".join([self.command, *self.args])

    @property
    def identity(self) -> str:
        """What this server is: command, arguments, the names (not values) of its env, cwd."""
        return json.dumps(["stdio", self.command, list(self.args), sorted(self.env), self.cwd])


@dataclass(frozen=True)
class HttpServerConfig:
    """A remote server over streamable HTTP."""

    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    disabled: bool = False
    oauth: OAuthSettings | None = None
    """The ``oauth`` block (``mcp_tools.oauth``); None: OAuth only if the server asks."""

    @property
    def target(self) -> str:
        return self.url

    @property
    def identity(self) -> str:
        """What this server is: its URL and the names (not values) of its headers."""
        return json.dumps(["http", self.url, sorted(self.headers)])


@dataclass(frozen=True)
class BuiltinServerConfig:
    """One of Keiko's own servers, run in-process. ``folders`` are granted to ``files``."""

    name: str
    folders: tuple[str, ...] = ()
    disabled: bool = False

    @property
    def target(self) -> str:
        return "built-in"

    @property
    def identity(self) -> str:
        return json.dumps(["builtin", self.name])


ServerConfig = StdioServerConfig | HttpServerConfig | BuiltinServerConfig
ExternalServerConfig = StdioServerConfig | HttpServerConfig


@dataclass(frozen=True)
class McpConfig:
    """Everything in ``mcp.json``."""

    servers: Mapping[str, ExternalServerConfig] = field(default_factory=dict)
    builtins: Mapping[str, BuiltinServerConfig] = field(
        default_factory=lambda: {n: BuiltinServerConfig(n) for n in BUILTIN_NAMES}
    )

    def all_servers(self) -> list[ServerConfig]:
        return [*self.builtins.values(), *self.servers.values()]

    def with_server(self, server: ServerConfig) -> McpConfig:
        if isinstance(server, BuiltinServerConfig):
            return replace(self, builtins={**self.builtins, server.name: server})
        return replace(self, servers={**self.servers, server.name: server})

    def without_server(self, name: str) -> McpConfig:
        return replace(self, servers={k: v for k, v in self.servers.items() if k != name})

    def get(self, name: str) -> ServerConfig | None:
        return self.builtins.get(name) or self.servers.get(name)


def config_path(paths: Paths) -> Path:
    return paths.config_dir / CONFIG_FILE


def _fail(source: str, server: str | None, field_name: str, problem: str) -> McpConfigError:
    where = f"Server '{server}'" if server else "The file"
    return McpConfigError(
        f"{where} in {source}: field '{field_name}' {problem}.", f"Fix '{field_name}' in {source}."
    )


def _strings(value: Any, source: str, server: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(source, server, name, "must be a list of strings")
    return tuple(value)


def _string_map(value: Any, source: str, server: str, name: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _fail(source, server, name, "must be an object of strings")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise _fail(source, server, f"{name}.{key}", "must be a string")
        out[str(key)] = str(item)
    return out


def _check_name(name: str, source: str) -> None:
    if not _NAME.match(name):
        raise McpConfigError(
            f"Server name {one_line(repr(name), 80)} in {source} is not allowed.",
            "Use letters, digits, '-' and '_' only (no dots or spaces), at most 64 characters.",
        )


def parse_server(name: str, entry: Any, source: str) -> ExternalServerConfig:
    """One ``mcpServers`` (or VS Code ``servers``) entry."""
    _check_name(name, source)
    if not isinstance(entry, dict):
        raise _fail(source, name, name, "must be an object with 'command' or 'url'")
    kind = entry.get("type")
    disabled = entry.get("disabled", False)
    if not isinstance(disabled, bool):
        raise _fail(source, name, "disabled", "must be true or false")
    if kind in ("sse",):
        raise _fail(source, name, "type", "is 'sse', which Keiko does not support; use 'http'")
    if kind not in (None, "stdio", "http", "streamable-http", "streamableHttp"):
        raise _fail(source, name, "type", f"is {kind!r}; use 'stdio' or 'http'")
    if "url" in entry and kind != "stdio":
        url = entry["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _fail(source, name, "url", "must be an http:// or https:// URL")
        headers = _string_map(entry.get("headers", {}), source, name, "headers")
        oauth = None
        if entry.get("oauth") not in (None, False):
            oauth = parse_oauth(entry["oauth"], lambda f, p: _fail(source, name, f, p))
        return HttpServerConfig(name, url, headers, disabled, oauth)
    if kind == "http":
        raise _fail(source, name, "url", "is missing (an http server needs a URL)")
    command = entry.get("command")
    if not isinstance(command, str) or not command.strip():
        raise _fail(source, name, "command", "is missing or empty (or give a 'url')")
    args = _strings(entry.get("args", []), source, name, "args")
    env = _string_map(entry.get("env", {}) or {}, source, name, "env")
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise _fail(source, name, "cwd", "must be a string")
    return StdioServerConfig(name, command, args, env, cwd, disabled)


def _parse_builtins(data: Any, source: str) -> dict[str, BuiltinServerConfig]:
    out = {n: BuiltinServerConfig(n) for n in BUILTIN_NAMES}
    if data is None:
        return out
    if not isinstance(data, dict):
        raise _fail(source, None, "builtinServers", "must be an object")
    for name, entry in data.items():
        if name not in BUILTIN_NAMES:
            raise _fail(source, name, "builtinServers", f"names no built-in server {BUILTIN_NAMES}")
        if not isinstance(entry, dict):
            raise _fail(source, name, "builtinServers", "must be an object")
        disabled = entry.get("disabled", False)
        if not isinstance(disabled, bool):
            raise _fail(source, name, "disabled", "must be true or false")
        folders = _strings(entry.get("folders", []), source, name, "folders")
        out[name] = BuiltinServerConfig(name, folders, disabled)
    return out


def parse_config(data: Any, source: str) -> McpConfig:
    if not isinstance(data, dict):
        raise _fail(source, None, "mcpServers", "is missing: the file must be a JSON object")
    raw = data.get("mcpServers", {})
    if not isinstance(raw, dict):
        raise _fail(source, None, "mcpServers", "must be an object of servers")
    _check_count(raw, source)
    servers = {name: parse_server(name, entry, source) for name, entry in raw.items()}
    builtins = _parse_builtins(data.get("builtinServers"), source)
    clash = sorted(set(servers) & set(builtins))
    if clash:
        raise McpConfigError(
            f"Server name '{clash[0]}' in {source} is taken by a built-in server.",
            "Rename it in mcpServers.",
        )
    return McpConfig(servers, builtins)


def _read_json(path: Path) -> Any:
    """The JSON in ``path``: read at most ``MAX_CONFIG_BYTES`` (``/dev/zero`` ends, it does
    not fill memory), nested at most as deep as Python's parser copes with."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise McpConfigError(f"{path} does not exist.", "Check the path.") from None
    except IsADirectoryError:
        raise McpConfigError(f"{path} is a folder, not a file.", "Pick a JSON file.") from None
    except OSError as exc:
        raise McpConfigError(
            f"Cannot read {path}: {exc.strerror}.", "Check its permissions."
        ) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise McpConfigError(
            f"{path} is larger than {MAX_CONFIG_BYTES // 1_000_000} MB; it is not an MCP "
            "config file.",
            "Pick a claude_desktop_config.json or an mcp.json file.",
        )
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise McpConfigError(
            f"{path} is not UTF-8 text (byte {exc.start}).", "Save it as UTF-8 JSON."
        ) from None
    except json.JSONDecodeError as exc:
        raise McpConfigError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
            "Fix the JSON, for example a missing comma or quote.",
        ) from None
    except RecursionError:
        raise McpConfigError(
            f"{path} is nested too deeply to be an MCP config file.",
            "Pick a claude_desktop_config.json or an mcp.json file.",
        ) from None


def load_config(paths: Paths) -> McpConfig:
    """Read ``mcp.json``; a missing file means only the built-in servers."""
    path = config_path(paths)
    if not path.exists():
        return McpConfig()
    return parse_config(_read_json(path), str(path))


def to_json(config: McpConfig) -> dict[str, Any]:
    servers: dict[str, Any] = {}
    for name, server in config.servers.items():
        entry: dict[str, Any]
        if isinstance(server, HttpServerConfig):
            entry = {"url": server.url}
            if server.headers:
                entry["headers"] = dict(server.headers)
            if server.oauth is not None:
                entry["oauth"] = server.oauth.to_json() or True
        else:
            entry = {"command": server.command, "args": list(server.args)}
            if server.env:
                entry["env"] = dict(server.env)
            if server.cwd:
                entry["cwd"] = server.cwd
        if server.disabled:
            entry["disabled"] = True
        servers[name] = entry
    builtins: dict[str, Any] = {}
    for name, builtin in config.builtins.items():
        b: dict[str, Any] = {}
        if builtin.folders:
            b["folders"] = list(builtin.folders)
        if builtin.disabled:
            b["disabled"] = True
        builtins[name] = b
    return {"mcpServers": servers, "builtinServers": builtins}


def save_config(paths: Paths, config: McpConfig) -> Path:
    """Write ``mcp.json`` atomically (owner-only permissions: it may hold headers)."""
    path = config_path(paths)
    private_dir(path.parent)
    write_private_text(path, json.dumps(to_json(config), indent=2, ensure_ascii=False) + "\n")
    return path


def import_servers(path: Path) -> dict[str, ExternalServerConfig]:
    """Servers from a Claude Desktop, Cursor (``mcpServers``) or VS Code (``servers``) file."""
    data = _read_json(path)
    source = str(path)
    if not isinstance(data, dict):
        raise _fail(source, None, "mcpServers", "is missing: the file must be a JSON object")
    if "mcpServers" in data:
        raw = data["mcpServers"]
    elif "servers" in data:
        raw = data["servers"]
    else:
        raise McpConfigError(
            f"{path} has neither 'mcpServers' (Claude Desktop, Cursor) nor 'servers' (VS Code).",
            "Pick a claude_desktop_config.json or an mcp.json file.",
        )
    if not isinstance(raw, dict):
        raise _fail(source, None, "servers", "must be an object of servers")
    _check_count(raw, source)
    return {name: parse_server(name, entry, source) for name, entry in raw.items()}


def _check_count(raw: dict[str, Any], source: str) -> None:
    if len(raw) > MAX_SERVERS:
        raise McpConfigError(
            f"{source} lists {len(raw)} servers; Keiko runs at most {MAX_SERVERS}.",
            "Keep the servers you use and remove the rest.",
        )
