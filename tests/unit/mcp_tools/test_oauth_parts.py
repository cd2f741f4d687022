"""The parts of OAuth on their own: the ``oauth`` block of mcp.json, the loopback listener
(state, size, time limit, closing), the keychain storage (keys, redaction)."""

from __future__ import annotations

import asyncio

import httpx2
import pytest
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from keiko_desktop.core.tools.errors import McpConfigError
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.mcp_tools.config import (
    HttpServerConfig,
    McpConfig,
    parse_config,
    parse_server,
    to_json,
)
from keiko_desktop.mcp_tools.oauth.loopback import LoopbackListener, SignInError
from keiko_desktop.mcp_tools.oauth.settings import OAuthSettings
from keiko_desktop.mcp_tools.oauth.vault import KeychainTokenStorage
from tests.helpers.memory_keyring import MemoryKeyring


def _http(oauth: object) -> HttpServerConfig:
    config = parse_server("r", {"url": "https://x.example/mcp", "oauth": oauth}, "mcp.json")
    assert isinstance(config, HttpServerConfig)
    return config


def test_the_oauth_block_round_trips() -> None:
    block = {
        "client_id": "keiko",
        "client_secret": "${keyring:r.oauth}",
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": ["read", "write"],
        "issuer": "https://auth.example",
    }
    config = _http(block)
    assert config.oauth == OAuthSettings(
        client_id="keiko",
        client_secret="${keyring:r.oauth}",
        token_endpoint_auth_method="client_secret_basic",
        scopes=("read", "write"),
        issuer="https://auth.example",
    )
    data = to_json(McpConfig(servers={"r": config}, builtins={}))
    assert data["mcpServers"]["r"]["oauth"] == block
    assert parse_config(data, "again").servers["r"] == config
    assert _http(True).oauth == OAuthSettings()
    assert (
        to_json(McpConfig(servers={"r": _http({})}, builtins={}))["mcpServers"]["r"]["oauth"]
        is True
    )
    no_block = parse_server("r", {"url": "https://x.example/mcp"}, "mcp.json")
    assert isinstance(no_block, HttpServerConfig)
    assert no_block.oauth is None


@pytest.mark.parametrize(
    ("block", "field", "words"),
    [
        (
            {"client_id": "k", "client_secret": "hunter2"},
            "oauth.client_secret",
            "keychain reference",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt"},
            "oauth.token_endpoint_auth_method",
            "one of",
        ),
        (
            {"client_id": "k", "token_endpoint_auth_method": "client_secret_post"},
            "oauth.client_secret",
            "missing",
        ),
        ({"scopes": ["ok", "has space"]}, "oauth.scopes", "scope names"),
        ({"scopes": [f"s{i}" for i in range(51)]}, "oauth.scopes", "at most 50"),
        ({"client_metadata_url": "http://x.example/c.json"}, "oauth.client_metadata_url", "https"),
        ({"client_metadata_url": "https://x.example/"}, "oauth.client_metadata_url", "path"),
        ({"grant": "password"}, "oauth.grant", "one of"),
        ({"grant": "client_credentials"}, "oauth.grant", "needs client_id"),
        ({"client_secret": "${keyring:a}"}, "oauth.client_id", "missing"),
        ({"clientId": "k"}, "oauth.clientId", "not an OAuth setting"),
        ("yes", "oauth", "must be an object"),
        ({"client_id": "x" * 600}, "oauth.client_id", "at most 500"),
    ],
)
def test_bad_oauth_blocks_name_the_field(block: object, field: str, words: str) -> None:
    with pytest.raises(McpConfigError) as caught:
        _http(block)
    assert f"Server 'r' in mcp.json: field '{field}'" in caught.value.message
    assert words in caught.value.message


async def _get(url: str, **kwargs: object) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.get(url, **kwargs)  # type: ignore[arg-type]


async def test_the_listener_refuses_a_wrong_state_and_keeps_waiting() -> None:
    async with LoopbackListener("r") as listener:
        assert listener.redirect_uri.startswith("http://127.0.0.1:")
        listener.expect("right-state")
        wrong = await _get(f"{listener.redirect_uri}?code=c&state=wrong")
        assert wrong.status_code == 400
        lost = await _get(f"http://127.0.0.1:{listener.port}/elsewhere?code=c&state=right-state")
        assert lost.status_code == 404
        ok = await _get(f"{listener.redirect_uri}?code=the-code&state=right-state")
        assert ok.status_code == 200
        assert "You can close this tab" in ok.text
        result = await listener.wait()
        assert (result.code, result.state) == ("the-code", "right-state")


async def test_the_listener_bounds_the_request() -> None:
    async with LoopbackListener("r") as listener:
        listener.expect("s")
        big = await _get(f"{listener.redirect_uri}?state=s&code=c", headers={"x-big": "y" * 40_000})
        assert big.status_code == 431
        post = await _post(listener.redirect_uri)
        assert post == 405


async def _post(url: str) -> int:
    async with httpx2.AsyncClient() as http:
        return (await http.post(url)).status_code


async def test_an_error_from_the_server_ends_the_wait_escaped() -> None:
    async with LoopbackListener("r") as listener:
        listener.expect("s")
        page = await _get(
            f"{listener.redirect_uri}?state=s&error=access_denied&error_description=no%1b[31m"
        )
        assert "could not sign in" in page.text
        with pytest.raises(SignInError, match="refused the sign-in to r: no") as caught:
            await listener.wait()
        assert "\x1b" not in caught.value.message


async def test_the_wait_is_bounded_and_closing_frees_the_port() -> None:
    listener = LoopbackListener("r", timeout=0.2)
    await listener.start()
    listener.expect("s")
    with pytest.raises(SignInError, match="within"):
        await listener.wait()
    port = listener.port
    await listener.aclose()
    with pytest.raises(httpx2.ConnectError):
        await _get(f"http://127.0.0.1:{port}/callback")


async def test_cancelling_the_wait_closes_the_listener() -> None:
    async def sign_in() -> None:
        async with LoopbackListener("r") as listener:
            ports.append(listener.port)
            listener.expect("s")
            listening.set()
            await listener.wait()

    ports: list[int] = []
    listening = asyncio.Event()
    task = asyncio.create_task(sign_in())
    await listening.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(httpx2.ConnectError):
        await _get(f"http://127.0.0.1:{ports[0]}/callback")


async def test_tokens_are_keyed_by_name_and_url_and_redacted(memory_keyring: MemoryKeyring) -> None:
    redactor = Redactor()
    first = KeychainTokenStorage("r", "https://a.example/mcp", redactor)
    await first.set_tokens(OAuthToken(access_token="access-aaaa", refresh_token="refresh-bbbb"))
    await first.set_client_info(
        OAuthClientInformationFull(client_id="cid", client_secret="sec-cccc")
    )
    assert (
        redactor.redact_text("access-aaaa refresh-bbbb sec-cccc")
        == "[redacted] [redacted] [redacted]"
    )
    moved = KeychainTokenStorage("r", "https://b.example/mcp", Redactor())
    assert await moved.get_tokens() is None
    assert await moved.get_client_info() is None
    again = Redactor()
    tokens = await KeychainTokenStorage("r", "https://a.example/mcp", again).get_tokens()
    assert tokens is not None
    assert again.redact_text("access-aaaa") == "[redacted]"
    memory_keyring.set_password("keiko-desktop", first.tokens_name, "{not json")
    assert await first.get_tokens() is None  # a damaged entry means: sign in again
    assert sorted(await first.delete_all()) == sorted([first.tokens_name, first.client_name])
    assert await first.delete_all() == []
