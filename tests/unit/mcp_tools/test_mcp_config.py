"""mcp.json: parsing, validation messages, saving, importing other apps' files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.tools.errors import McpConfigError
from keiko_desktop.mcp_tools.config import (
    BuiltinServerConfig,
    HttpServerConfig,
    McpConfig,
    StdioServerConfig,
    config_path,
    import_servers,
    load_config,
    parse_config,
    save_config,
)


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_missing_file_means_only_builtins(paths: Paths) -> None:
    config = load_config(paths)
    assert config.servers == {}
    assert set(config.builtins) == {"files", "notes", "clock"}


def test_claude_desktop_format(paths: Paths) -> None:
    write(
        config_path(paths),
        {
            "mcpServers": {
                "github": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-github"],
                    "env": {"GITHUB_TOKEN": "${keyring:github.GITHUB_TOKEN}", "PORT": 8080},
                },
                "remote": {"url": "https://example.com/mcp", "headers": {"X-Team": "a"}},
                "off": {"command": "uvx", "args": ["x"], "disabled": True},
            },
            "builtinServers": {"files": {"folders": ["~/Documents"]}, "notes": {"disabled": True}},
        },
    )
    config = load_config(paths)
    github = config.servers["github"]
    assert isinstance(github, StdioServerConfig)
    assert github.args == ("-y", "@modelcontextprotocol/server-github")
    assert github.env == {"GITHUB_TOKEN": "${keyring:github.GITHUB_TOKEN}", "PORT": "8080"}
    assert config.servers["remote"] == HttpServerConfig(
        "remote", "https://example.com/mcp", {"X-Team": "a"}
    )
    assert config.servers["off"].disabled
    assert config.builtins["files"].folders == ("~/Documents",)
    assert config.builtins["notes"].disabled


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"args": ["x"]}, "Server 'bad' in .*: field 'command' is missing"),
        ({"command": "x", "args": "not-a-list"}, "field 'args' must be a list of strings"),
        ({"command": "x", "env": {"A": ["no"]}}, "field 'env.A' must be a string"),
        ({"url": "ftp://x"}, "field 'url' must be an http:// or https:// URL"),
        ({"type": "sse", "url": "http://x"}, "field 'type' is 'sse'"),
        ({"command": "x", "disabled": "yes"}, "field 'disabled' must be true or false"),
        ({"type": "http"}, "field 'url' is missing"),
    ],
)
def test_errors_name_the_server_and_the_field(entry: dict[str, object], message: str) -> None:
    with pytest.raises(McpConfigError, match=message) as info:
        parse_config({"mcpServers": {"bad": entry}}, "mcp.json")
    assert "Fix '" in info.value.hint


def test_bad_names_and_bad_json(paths: Paths) -> None:
    with pytest.raises(McpConfigError, match=r"'a\.b' .* not allowed"):
        parse_config({"mcpServers": {"a.b": {"command": "x"}}}, "mcp.json")
    with pytest.raises(McpConfigError, match="taken by a built-in"):
        parse_config({"mcpServers": {"files": {"command": "x"}}}, "mcp.json")
    config_path(paths).write_text('{"mcpServers": {"a": {"command": "x",}}}')
    with pytest.raises(McpConfigError, match=r"not valid JSON \(line 1"):
        load_config(paths)


def test_save_and_load_round_trip_with_private_permissions(paths: Paths) -> None:
    config = McpConfig(
        servers={
            "s": StdioServerConfig("s", "cmd", ("a",), {"K": "v"}, "/tmp", disabled=True),
            "h": HttpServerConfig("h", "http://127.0.0.1:1/mcp", {"Authorization": "${keyring:h}"}),
        }
    ).with_server(BuiltinServerConfig("files", ("/data",)))
    path = save_config(paths, config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(paths) == config
    assert json.loads(path.read_text())["mcpServers"]["s"]["disabled"] is True


def test_import_claude_cursor_and_vscode_files(tmp_path: Path) -> None:
    claude = write(
        tmp_path / "claude_desktop_config.json",
        {"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}},
    )
    assert import_servers(claude)["time"] == StdioServerConfig("time", "uvx", ("mcp-server-time",))
    vscode = write(
        tmp_path / "mcp.json",
        {
            "inputs": [],
            "servers": {
                "fs": {"type": "stdio", "command": "npx", "args": ["-y", "server-fs"]},
                "web": {"type": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"A": "b"}},
            },
        },
    )
    imported = import_servers(vscode)
    assert imported["fs"] == StdioServerConfig("fs", "npx", ("-y", "server-fs"))
    assert imported["web"] == HttpServerConfig("web", "http://127.0.0.1:9/mcp", {"A": "b"})
    neither = write(tmp_path / "other.json", {"something": {}})
    with pytest.raises(McpConfigError, match="neither 'mcpServers'"):
        import_servers(neither)
    with pytest.raises(McpConfigError, match="does not exist"):
        import_servers(tmp_path / "missing.json")
