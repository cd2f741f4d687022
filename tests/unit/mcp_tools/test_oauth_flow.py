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


async def _signed_in(world: World) -> tuple[OAuthManager, HttpServerConfig]:
    """A manager signed in (browser flow) to ``world``'s server, and that server's config."""
    manager = _manager()
    config = _server(world)
    await manager.login(config)
    return manager, config


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
        assert outcome.tools == 2
        assert outcome.asked
        assert "MemoryKeyring" in outcome.where
        # registered dynamically, with the loopback redirect on an ephemeral port
        (registered,) = world.kinds("register")
        redirect = urlsplit(registered["redirect"])
        assert (redirect.hostname, redirect.path) == ("127.0.0.1", "/callback")
        assert redirect.port
        # PKCE S256 and the resource on the authorization and the token request
        (authorize,) = world.kinds("authorize")
        assert authorize["code_challenge_method"] == "S256"
        assert authorize["resource"] == world.mcp_url
        assert authorize["scope"] == "mcp"  # the PRM's scopes_supported (no challenge scope)
        (token,) = world.kinds("token")
        assert token["grant_type"] == "authorization_code"
        assert token["resource"] == world.mcp_url
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
    manager: OAuthManager,
    config: HttpServerConfig,
    call: str | None = None,
    protocol: str = "auto",
) -> tuple[str, str]:
    """The pool's status of ``config`` once settled (or ``call``'s result), in ``protocol``."""
    bus = EventBus(asyncio.get_running_loop())
    factory = ClientFactory(redactor=manager.redactor)
    factory.oauth = manager
    options = PoolOptions(start_timeout=20, max_restarts=0, protocol=protocol)
    pool = ServerPool(bus, factory, options)
    manager.restart = pool.restart_server
    pool.add(config)
    try:
        await pool.wait_settled(time_limit=30)
        if call is not None:
            arguments = {"a": 1, "b": 2} if call == "add" else {}
            result = await pool.call_tool(config.name, call, arguments)
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
        assert "needs sign-in" in detail
        assert "keiko mcp login remote" in detail
        assert not browser.opened
        assert not world.kinds("register")
        assert manager.sign_in_state("remote") == "signed-out"
        with pytest.raises(SignInNeededError):
            manager.raise_if_needed("remote")


@pytest.mark.parametrize(
    ("prm", "asm", "issuer_path"),
    [
        ("header", "oauth", ""),
        ("path", "oauth", ""),
        ("root", "oauth", ""),
        ("root", "openid", ""),
        ("path", "oauth", "/tenant"),
        ("header", "openid", "/tenant"),
    ],
)
async def test_metadata_variants(prm: str, asm: str, issuer_path: str) -> None:
    """Protected-resource metadata via the challenge, the well-known URL with the path suffix
    and without; authorization-server metadata via RFC 8414 and the OpenID fallbacks, at a root
    and at a path issuer."""
    with oauth_world(Variant(prm=prm, asm=asm, issuer_path=issuer_path)) as world:
        manager = _manager()
        outcome = await manager.login(_server(world))
        assert outcome.tools == 2
        (authorize,) = world.kinds("authorize")
        assert authorize["resource"] == world.mcp_url


async def test_scope_comes_from_the_challenge_before_the_metadata() -> None:
    with oauth_world(Variant(challenge_scope="mcp admin")) as world:
        await _manager().login(_server(world))
        assert world.kinds("authorize")[0]["scope"] == "mcp admin"


async def test_without_any_scope_none_is_sent() -> None:
    """No challenge scope, no PRM scopes_supported and none in the AS metadata: no scope."""
    with oauth_world(Variant(prm_scopes=None, scopes_supported=())) as world:
        await _manager().login(_server(world))
        assert "scope" not in world.kinds("authorize")[0]


async def test_a_wrong_resource_is_refused_by_the_authorization_server() -> None:
    with oauth_world(Variant(resource_override="http://127.0.0.1:1/elsewhere")) as world:
        manager = _manager()
        with pytest.raises(SignInError, match="unknown resource"):
            await manager.login(_server(world))
        assert not world.tokens


async def test_the_authorization_server_checks_pkce() -> None:
    """The server side of PKCE: a token request whose verifier does not hash to the challenge
    is refused (the flow above succeeds only because Keiko's verifier matches)."""
    import httpx2

    with oauth_world() as world:
        world.register("c1", None, "none", ["http://127.0.0.1/callback"])
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(b"v" * 50).digest()).decode().rstrip("=")
        )
        async with httpx2.AsyncClient() as http:
            params = {
                "client_id": "c1",
                "redirect_uri": "http://127.0.0.1:9/callback",
                "response_type": "code",
                "state": "s",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": world.mcp_url,
            }
            answer = await http.get(f"{world.issuer}/authorize", params=params)
            code = _query(answer.headers["location"])["code"]
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "c1",
                "redirect_uri": "http://127.0.0.1:9/callback",
                "code_verifier": "w" * 50,
                "resource": world.mcp_url,
            }
            refused = await http.post(f"{world.issuer}/token", data=form)
        assert refused.status_code == 400
        assert "PKCE" in refused.text


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
async def test_a_pre_registered_client_with_a_secret_from_the_keychain(
    method: str, memory_keyring: MemoryKeyring
) -> None:
    with oauth_world(Variant(dcr=False)) as world:
        world.register("keiko-pre", "pre-secret-123", method, ["http://127.0.0.1/callback"])
        memory_keyring.set_password("keiko-desktop", "remote.oauth", "pre-secret-123")
        oauth = {
            "client_id": "keiko-pre",
            "client_secret": "${keyring:remote.oauth}",
            "token_endpoint_auth_method": method,
        }
        manager = _manager()
        outcome = await manager.login(_server(world, oauth))
        assert outcome.tools == 2
        (token,) = world.kinds("token")
        if method == "client_secret_post":
            assert token["client_secret"] == "pre-secret-123"
            assert token["basic"] == "False"
        else:
            assert "client_secret" not in token
            assert token["basic"] == "True"
        assert not world.kinds("register")
        assert manager.redactor.redact_text("x pre-secret-123") == "x [redacted]"


async def test_a_client_id_metadata_document_replaces_registration() -> None:
    """The SDK uses the configured https document URL as the client_id (no registration). The
    test server does not fetch it over https (no local certificate): it trusts the URL."""
    with oauth_world(Variant(cimd=True, dcr=False)) as world:
        url = "https://keiko.example/oauth/client.json"
        await _manager().login(_server(world, {"client_metadata_url": url}))
        assert world.kinds("authorize")[0]["client_id"] == url
        assert world.kinds("token")[0]["client_id"] == url
        assert not world.kinds("register")


async def test_refresh_after_the_server_ended_the_access_token() -> None:
    with oauth_world() as world:
        manager, config = await _signed_in(world)
        world.expire_access_tokens()
        status, _text = await _pool_status(manager, config, call="add")
        assert status == "called"
        grants = [t["grant_type"] for t in world.kinds("token")]
        assert grants == ["authorization_code", "refresh_token"]
        assert len(world.kinds("authorize")) == 1  # nobody was asked again


async def test_an_expired_token_is_refreshed_before_it_is_sent() -> None:
    with oauth_world(Variant(token_ttl=1)) as world:
        manager, config = await _signed_in(world)
        await asyncio.sleep(1.2)
        assert await _pool_status(manager, config) == ("ready", "")
        assert [t["grant_type"] for t in world.kinds("token")][-1] == "refresh_token"


async def test_client_credentials_need_no_browser(memory_keyring: MemoryKeyring) -> None:
    with oauth_world(Variant(dcr=False)) as world:
        world.register("svc", "cc-secret-456", "client_secret_basic", [])
        memory_keyring.set_password("keiko-desktop", "svc.secret", "cc-secret-456")
        oauth = {
            "grant": "client_credentials",
            "client_id": "svc",
            "client_secret": "${keyring:svc.secret}",
            "issuer": world.issuer,
        }
        browser = HttpBrowser()
        manager = _manager(browser)
        config = _server(world, oauth)
        assert await _pool_status(manager, config) == ("ready", "")
        (token,) = world.kinds("token")
        assert token["grant_type"] == "client_credentials"
        assert token["basic"] == "True"
        assert token["resource"] == world.mcp_url
        assert not browser.opened


async def test_step_up_in_the_pool_asks_for_a_sign_in_with_the_wider_scope() -> None:
    with oauth_world() as world:
        browser = HttpBrowser()
        manager = _manager(browser)
        config = _server(world)
        await manager.login(config)
        with pytest.raises(SignInNeededError, match=r"more access .scope mcp admin.*login remote"):
            await _pool_status(manager, config, call="admin")
        assert len(browser.opened) == 1  # the pool opened no browser for the step-up
        assert manager.sign_in_state("remote") == "signed-out"
        await manager.login(config)  # the next sign-in asks for what the challenge wanted
        assert _query(browser.opened[-1])["scope"] == "mcp admin"
        _status, text = await _pool_status(manager, config, call="admin")
        assert text == "admin did noop"


async def _interactive_calls(
    manager: OAuthManager, config: HttpServerConfig, calls: int
) -> list[str]:
    """Calls of ``admin`` over a connection that may open the browser (as a sign-in does)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from keiko_desktop.mcp_tools.oauth.auth import GuardedAuth, build_provider
    from keiko_desktop.mcp_tools.oauth.loopback import LoopbackListener
    from keiko_desktop.mcp_tools.oauth.settings import OAuthSettings

    out: list[str] = []
    storage = manager.storage(config)
    async with LoopbackListener("remote") as listener:

        async def redirect(url: str) -> None:
            listener.expect(_query(url)["state"])
            await manager.opener(url)

        provider = build_provider(
            config.url,
            OAuthSettings(),
            storage,
            client_secret=None,
            redirect_uri=listener.redirect_uri,
            redirect_handler=redirect,
            callback_handler=listener.wait,
        )
        auth = GuardedAuth(
            provider,
            interactive=True,
            needs_person=True,
            on_needed=lambda refusal: out.append(refusal.why),
            step_ups=[0],
        )
        http = httpx2.AsyncClient(auth=auth)
        async with http, Client(streamable_http_client(config.url, http_client=http)) as client:
            for _ in range(calls):
                try:
                    result = await client.call_tool("admin", {})
                    out.append(str(result.content[0].text))  # type: ignore[union-attr]
                except Exception as exc:  # noqa: BLE001 - the refusal is what is tested
                    out.append(f"refused: {exc}")
    return out


async def test_step_up_when_signing_in_is_allowed() -> None:
    with oauth_world() as world:
        browser = HttpBrowser()
        manager = _manager(browser)
        config = _server(world)
        out = await _interactive_calls(manager, config, 1)
        assert out == ["admin did noop"]
        scopes = [_query(u).get("scope") for u in browser.opened]
        assert scopes == ["mcp", "mcp admin"]  # the union of before and the challenge


async def test_step_up_is_bounded() -> None:
    """A server that refuses whatever scope is granted is re-authorized MAX_STEP_UPS times,
    then its refusal goes back to the caller, without another browser."""
    from keiko_desktop.mcp_tools.oauth.auth import MAX_STEP_UPS

    with oauth_world(Variant(admin_never_enough=True)) as world:
        browser = HttpBrowser()
        manager = _manager(browser)
        out = await _interactive_calls(manager, _server(world), 4)
        assert len(browser.opened) == 1 + MAX_STEP_UPS
        assert len([o for o in out if o.startswith("refused")]) == 4  # every call refused
        assert (
            out.count("the server still wants more access (scope mcp admin) after 2 sign-ins") == 2
        )


async def test_the_authorization_servers_scopes_are_not_a_fallback() -> None:
    """The spec's order is the challenge, then the resource's scopes_supported, then none; the
    SDK alone would send the authorization server's scopes_supported."""
    with oauth_world(Variant(prm_scopes=None, scopes_supported=("mcp", "admin"))) as world:
        await _manager().login(_server(world))
        assert "scope" not in world.kinds("authorize")[0]


async def test_configured_scopes_are_added() -> None:
    with oauth_world() as world:
        await _manager().login(_server(world, {"scopes": ["admin"]}))
        assert world.kinds("authorize")[0]["scope"] == "mcp admin"


async def test_the_legacy_handshake_works_too() -> None:
    with oauth_world(Variant(token_ttl=1)) as world:
        manager, config = await _signed_in(world)
        await asyncio.sleep(1.2)
        assert await _pool_status(manager, config, call="add", protocol="legacy") == (
            "called",
            "3",
        )


async def test_without_a_keychain_a_server_without_oauth_still_starts() -> None:
    import keyring
    from keyring.backends import fail

    from tests.helpers.mcp_servers import http_server

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with http_server() as url:
            config = parse_server("plain", {"url": url}, "test")
            assert isinstance(config, HttpServerConfig)
            assert await _pool_status(_manager(), config) == ("ready", "")
    finally:
        keyring.set_keyring(previous)


async def test_a_session_that_loses_its_sign_in_says_so() -> None:
    """Tokens revoked while the server is ready: the refresh is refused, the call fails with
    "needs sign-in" (no browser), and the server restarts into that status."""
    from keiko_desktop.core.tools.events import McpServerStatusChanged

    with oauth_world() as world:
        browser = HttpBrowser()
        manager = _manager(browser)
        config = _server(world)
        await manager.login(config)
        bus = EventBus(asyncio.get_running_loop())
        factory = ClientFactory(redactor=manager.redactor)
        factory.oauth = manager
        pool = ServerPool(bus, factory, PoolOptions(start_timeout=20, max_restarts=0))
        manager.restart = pool.restart_server
        pool.add(config)
        try:
            await pool.wait_settled(time_limit=30)
            assert pool.connection("remote").status == "ready"
            with world.lock:
                world.tokens.clear()
                world.refresh.clear()
            errors = asyncio.Event()
            bus.subscribe(
                McpServerStatusChanged,
                lambda e: errors.set() if e.status == "error" else None,
            )
            with pytest.raises(SignInNeededError, match="login remote"):
                await pool.call_tool("remote", "add", {"a": 1, "b": 2})
            async with asyncio.timeout(20):
                await errors.wait()
            assert "needs sign-in" in pool.connection("remote").detail
            assert [t["grant_type"] for t in world.kinds("token")][-1] == "refresh_token"
            assert len(browser.opened) == 1
        finally:
            await pool.aclose()


async def test_metadata_for_another_resource_is_refused_by_keiko() -> None:
    """Protected-resource metadata naming another resource (RFC 8707/9728): the SDK stops
    before anything is sent to the authorization server."""
    with oauth_world(Variant(prm_resource="http://127.0.0.1:1/other")) as world:
        with pytest.raises(SignInError, match="does not match"):
            await _manager().login(_server(world))
        assert not world.kinds("authorize")
        assert not world.kinds("register")
