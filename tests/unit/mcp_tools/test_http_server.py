"""A streamable-HTTP server on 127.0.0.1, started by the test as a subprocess."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.errors import ToolCallError, ToolTimeoutError
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.mcp_tools.config import HttpServerConfig
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.secrets import SecretStore
from tests.helpers.mcp_servers import free_port, http_server

from .conftest import wait_status


@pytest.fixture
def http_url() -> Iterator[str]:
    with http_server() as url:
        yield url


async def test_http_server_with_a_keychain_header(
    http_url: str, pool: ServerPool, bus: EventBus
) -> None:
    SecretStore().set("remote.Authorization", "Bearer s3cret-value")
    pool.add(
        HttpServerConfig("remote", http_url, {"Authorization": "${keyring:remote.Authorization}"})
    )
    await wait_status(pool, "remote", "ready")
    assert pool.server_states()[0].kind == "http"
    assert (await pool.call_tool("remote", "add", {"a": 20, "b": 22})).text == "42"
    whoami = await pool.call_tool("remote", "whoami", {})
    assert whoami.text == "Bearer s3cret-value"
    service = ToolService(pool, bus, redactor=pool.factory.redactor)
    assert service.redactor.redact_text(f"sent {whoami.text}") == "sent [redacted]"


async def test_http_call_times_out_and_the_session_survives(
    http_url: str, pool: ServerPool
) -> None:
    pool.add(HttpServerConfig("remote", http_url))
    await wait_status(pool, "remote", "ready")
    with pytest.raises(ToolTimeoutError):
        await pool.call_tool("remote", "hang", {"seconds": 30}, time_limit=0.5)
    assert (await pool.call_tool("remote", "add", {"a": 1, "b": 2})).text == "3"


async def test_unreachable_http_server_is_an_error(pool: ServerPool) -> None:
    pool.add(HttpServerConfig("gone", f"http://127.0.0.1:{free_port()}/mcp"))
    await wait_status(pool, "gone", "error")
    assert pool.connection("gone").detail
    with pytest.raises(Exception, match="gone") as info:
        await pool.call_tool("gone", "add", {"a": 1, "b": 2})
    assert not isinstance(info.value, ToolCallError) or "gone" in str(info.value)
    await asyncio.sleep(0)
