"""OAuth against a local authorization server and a real bearer-protected MCP server
(tests/helpers/oauth_server.py): sign-in through the real loopback listener, metadata variants,
PKCE and the resource checked by the server, registration and pre-registered clients, step-up
with its limit, refresh, client credentials, and the pool's "needs sign-in" status."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.core.tools.sign_in import SignInNeededError
from keiko_desktop.mcp_tools.config import HttpServerConfig, parse_server
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.oauth.loopback import SignInError
from keiko_desktop.mcp_tools.oauth.manager import OAuthManager
from keiko_desktop.mcp_tools.oauth.vault import entry_prefix
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.oauth_browser import HttpBrowser
from tests.helpers.oauth_server import Variant, World, oauth_world


def _server(world: World, oauth: object = None, name: str = "remote") -> HttpServerConfig:
    entry: dict[str, object] = {"url": world.mcp_url}
    if oauth is not None:
        entry["oauth"] = oauth
    config = parse_server(name, entry, "test")
    assert isinstance(config, HttpServerConfig)
    return config


def _manager(browser: HttpBrowser | None = None) -> OAuthManager:
    return OAuthManager(Redactor(), opener=browser or HttpBrowser())


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_sign_in_with_registration_stores_tokens_in_the_keychain(
    memory_keyring: MemoryKeyring,
) -> None:
    with oauth_world(Variant(prm="header")) as world:
        browser = HttpBrowser()
        manager = _manager(browser)
        config = _server(world)
        outcome = await manager.login(config)
        assert outcome.tools == 2 and outcome.asked
        assert "MemoryKeyring" in outcome.where
        # registered dynamically, with the loopback redirect on an ephemeral port
        (registered,) = world.kinds("register")
        redirect = urlsplit(registered["redirect"])
        assert (redirect.hostname, redirect.path) == ("127.0.0.1", "/callback") and redirect.port
        # PKCE S256 and the resource on the authorization and the token request
        (authorize,) = world.kinds("authorize")
        assert authorize["code_challenge_method"] == "S256"
        assert authorize["resource"] == world.mcp_url
        assert authorize["scope"] == "mcp"  # the PRM's scopes_supported (no challenge scope)
        (token,) = world.kinds("token")
        assert token["grant_type"] == "authorization_code" and token["resource"] == world.mcp_url
        verifier = token["code_verifier"]
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        assert digest.decode().rstrip("=") == authorize["code_challenge"]
        assert "You can close this tab" in browser.pages[-1]
        # tokens and client in the keychain, keyed by name and URL
        prefix = entry_prefix("remote", world.mcp_url)
        names = {name for (_service, name) in memory_keyring.store}
        assert names == {f"{prefix}.tokens", f"{prefix}.client"}
        stored = memory_keyring.store[("keiko-desktop", f"{prefix}.tokens")]
        assert any(t in stored for t in world.tokens)
        # the background pool uses them without a browser
        opened = len(browser.opened)
        assert await _pool_status(manager, config) == ("ready", "")
        assert len(browser.opened) == opened
        # logout removes both
        deleted = await manager.logout(config)
        assert sorted(deleted) == sorted(names)
        assert not memory_keyring.store


async def _pool_status(
    manager: OAuthManager, config: HttpServerConfig, call: str | None = None
) -> tuple[str, str]:
    bus = EventBus(asyncio.get_running_loop())
    factory = ClientFactory(redactor=manager.redactor)
    factory.oauth = manager
    pool = ServerPool(bus, factory, PoolOptions(start_timeout=20, max_restarts=0))
    manager.restart = pool.restart_server
    pool.add(config)
    try:
        await pool.wait_settled(time_limit=30)
        if call is not None:
            result = await pool.call_tool(config.name, call, {})
            return ("called", result.text)
        connection = pool.connection(config.name)
        return (connection.status, connection.detail)
    finally:
        await pool.aclose()


async def test_the_pool_says_needs_sign_in_and_opens_no_browser() -> None:
    with oauth_world() as world:
        browser = HttpBrowser()
        manager = _manager(browser)
        status, detail = await _pool_status(manager, _server(world))
        assert status == "error"
        assert "needs sign-in" in detail and "keiko mcp login remote" in detail
        assert not browser.opened and not world.kinds("register")
        assert manager.sign_in_state("remote") == "signed-out"
        with pytest.raises(SignInNeededError):
            manager.raise_if_needed("remote")
