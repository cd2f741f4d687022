"""Redaction, the registry and the middleware onion's configurable order."""

from __future__ import annotations

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.errors import ToolNotFoundError
from keiko_desktop.core.tools.events import McpServerStatusChanged, McpToolsChanged
from keiko_desktop.core.tools.middleware import (
    NextStep,
    ToolCallContext,
    build_pipeline,
)
from keiko_desktop.core.tools.models import ToolCall, ToolResult, ToolSpec
from keiko_desktop.core.tools.redaction import REDACTED, Redactor, is_secret_key
from keiko_desktop.core.tools.registry import ToolRegistry


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "GITHUB_TOKEN",
        "password",
        "db-passwd",
        "client_secret",
        "api_key",
        "apiKey",
        "X-Api-Key",
        "Authorization",
        "aws_credentials",
        "private_key",
        "Cookie",
    ],
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["path", "author", "query", "text", "timezone", "keys"])
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_nested_values_and_known_secrets() -> None:
    redactor = Redactor({"s3cr3t-value", "abc"})  # too short to be remembered: "abc"
    data = {
        "headers": {"Authorization": "Bearer x", "Accept": "json"},
        "items": [{"password": "p"}, "see s3cr3t-value here", "abc"],
        "empty_token": "",
        "count": 3,
    }
    assert redactor.redact(data) == {
        "headers": {"Authorization": REDACTED, "Accept": "json"},
        "items": [{"password": REDACTED}, f"see {REDACTED} here", "abc"],
        "empty_token": "",
        "count": 3,
    }
    assert data["headers"]["Authorization"] == "Bearer x"  # type: ignore[index]  # a copy


async def test_registry_follows_the_bus(bus: EventBus) -> None:
    registry = ToolRegistry(bus)
    tools = (ToolSpec("gh", "create_issue"), ToolSpec("gh", "list.issues"))
    bus.publish(McpToolsChanged("gh", tools))
    assert [t.qualified_name for t in registry.tools()] == ["gh.create_issue", "gh.list.issues"]
    assert registry.get("gh.list.issues").name == "list.issues"  # the first dot splits
    registry.set_enabled("gh", False)
    assert registry.tools() == []
    assert len(registry.tools(include_disabled=True)) == 2
    registry.set_enabled("gh", True)
    bus.publish(McpServerStatusChanged("gh", "error", "the server exited"))
    assert registry.tools() == []
    with pytest.raises(ToolNotFoundError, match="not ready"):
        registry.get("gh.create_issue")


def _recorder(name: str, trail: list[str]) -> object:
    async def middleware(ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        trail.append(f"{name}>")
        result = await call_next(ctx)
        trail.append(f"<{name}")
        return result

    return middleware


async def test_pipeline_order_is_configuration() -> None:
    trail: list[str] = []
    available = {n: _recorder(n, trail) for n in ("a", "b", "c")}

    async def terminal(ctx: ToolCallContext) -> ToolResult:
        trail.append("tool")
        return ToolResult("ok")

    ctx = ToolCallContext(ToolCall("s", "t"), ToolSpec("s", "t"), {})
    await build_pipeline(["c", "a"], available, terminal)(ctx)  # type: ignore[arg-type]
    assert trail == ["c>", "a>", "tool", "<a", "<c"]
    with pytest.raises(ValueError, match="unknown tool middleware"):
        build_pipeline(["a", "nope"], available, terminal)  # type: ignore[arg-type]
