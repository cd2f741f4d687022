"""A streamable-HTTP server on 127.0.0.1, started by the test as a subprocess."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.errors import ToolCallError, ToolTimeoutError
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.mcp_tools.config import HttpServerConfig
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.secrets import SecretStore
from tests.helpers.mcp_servers import HTTP_SERVER

from .conftest import wait_status


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(HTTP_SERVER), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("the HTTP test server exited at start")
                time.sleep(0.05)
        else:
            pytest.fail("the HTTP test server did not start in 15 s")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


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
