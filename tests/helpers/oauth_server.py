"""A local OAuth authorization server and a bearer-protected streamable-HTTP MCP server, one
uvicorn app on 127.0.0.1 in a thread of the test (``oauth_world(...)`` yields its ``World``).

The authorization server is written for the tests, not taken from the SDK, so every variant the
client must cope with can be chosen (``Variant``): where the protected-resource metadata is
(``WWW-Authenticate`` ``resource_metadata``, the well-known URL with the path suffix, or without),
where the authorization-server metadata is (RFC 8414 or OpenID configuration, at a root or a
path issuer), dynamic registration on or off, client ID metadata documents. It checks what a
real one checks: PKCE S256 (the verifier must hash to the challenge), the ``resource`` (RFC 8707)
on the authorization and token requests, the redirect URI, the client's authentication
(none, client_secret_post, client_secret_basic); it issues expiring access tokens and rotating
refresh tokens, and client credentials. The MCP server (``MCPServer``) accepts only its tokens,
for its resource, and its ``admin`` tool only with the ``admin`` scope (403 ``insufficient_scope``:
step-up). ``World.events`` records each authorize and token request for the test to check.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import uvicorn
from mcp.server.mcpserver import MCPServer

from tests.helpers.mcp_servers import free_port


@dataclass
class Variant:
    prm: str = "header"
    """``header`` (only at the URL of the challenge), ``path`` (well-known + /mcp) or ``root``."""
    asm: str = "oauth"
    """``oauth`` (RFC 8414) or ``openid`` (OpenID configuration only)."""
    issuer_path: str = ""
    """e.g. ``/tenant``: a path issuer (path-aware discovery)."""
    dcr: bool = True
    cimd: bool = False
    challenge_scope: str | None = None
    """The ``scope`` of the 401 challenge (None: none in the challenge)."""
    scopes_supported: tuple[str, ...] = ("mcp", "admin")
    prm_scopes: tuple[str, ...] | None = ("mcp",)
    token_ttl: int = 3600
    resource_override: str | None = None
    """The resource the AS accepts, when it is not the MCP URL (a wrong one is refused)."""
    prm_resource: str | None = None
    """The resource the metadata names, when it is not the MCP URL (the client must refuse)."""
    admin_never_enough: bool = False
    """The admin tool answers insufficient_scope whatever the token (the step-up limit)."""


@dataclass
class Client:
    client_id: str
    secret: str | None
    method: str
    redirect_uris: list[str]


@dataclass
class World:
    variant: Variant
    port: int
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def issuer(self) -> str:
        return f"{self.base}{self.variant.issuer_path}" if self.variant.issuer_path else self.base

    @property
    def resource(self) -> str:
        return self.variant.resource_override or self.mcp_url

    def register(
        self, client_id: str, secret: str | None, method: str, redirect_uris: list[str]
    ) -> None:
        self.clients[client_id] = Client(client_id, secret, method, redirect_uris)

    def kinds(self, kind: str) -> list[dict[str, str]]:
        return [e for k, e in self.events if k == kind]

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token["expires_at"] = 0.0


def _mcp_server() -> MCPServer:
    server = MCPServer("protected", log_level="WARNING")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def admin(action: str = "noop") -> str:
        """Needs the admin scope."""
        return f"admin did {action}"

    return server


class App:
    """The ASGI app: OAuth endpoints, metadata, and the MCP app behind a bearer check."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.mcp = _mcp_server().streamable_http_app(json_response=True)

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.mcp(scope, receive, send)
            return
        path: str = scope["path"]
        body = b""
        if scope["method"] == "POST":
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        answer = self.route(
            scope["method"], path, scope.get("query_string", b"").decode(), headers, body
        )
        if answer is not None:
            await self._send(send, *answer)
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.mcp(scope, replay, send)

    async def _send(self, send: Any, status: int, headers: dict[str, str], body: bytes) -> None:
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    # ------------------------------------------------------------------ routing
    def route(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        w, v = self.world, self.world.variant
        ip = v.issuer_path
        if method == "GET" and path == self._prm_path():
            return _json(200, self._prm())
        if method == "GET" and path == self._asm_path():
            return _json(200, self._asm())
        if path == f"{ip}/authorize" and method == "GET":
            return self.authorize({k: x[0] for k, x in parse_qs(query).items()})
        if path == f"{ip}/token" and method == "POST":
            form = {k: x[0] for k, x in parse_qs(body.decode()).items()}
            return self.token(form, headers)
        if path == f"{ip}/register" and method == "POST" and v.dcr:
            return self.register(json.loads(body or b"{}"))
        if path.startswith("/mcp"):
            return self.guard(headers, body)
        if path.startswith("/.well-known/") or path in (f"{ip}/register",):
            return _json(404, {"error": "not_found"})
        del w
        return None

    def _prm_path(self) -> str:
        return {
            "header": "/custom/resource-metadata",
            "path": "/.well-known/oauth-protected-resource/mcp",
            "root": "/.well-known/oauth-protected-resource",
        }[self.world.variant.prm]

    def _asm_path(self) -> str:
        v = self.world.variant
        if v.asm == "oauth":
            return f"/.well-known/oauth-authorization-server{v.issuer_path}"
        if v.issuer_path:
            return f"{v.issuer_path}/.well-known/openid-configuration"
        return "/.well-known/openid-configuration"

    def _prm(self) -> dict[str, Any]:
        prm: dict[str, Any] = {
            "resource": self.world.variant.prm_resource or self.world.mcp_url,
            "authorization_servers": [self.world.issuer],
        }
        if self.world.variant.prm_scopes is not None:
            prm["scopes_supported"] = list(self.world.variant.prm_scopes)
        return prm

    def _asm(self) -> dict[str, Any]:
        w, v = self.world, self.world.variant
        meta: dict[str, Any] = {
            "issuer": w.issuer,
            "authorization_endpoint": f"{w.issuer}/authorize",
            "token_endpoint": f"{w.issuer}/token",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "none",
                "client_secret_post",
                "client_secret_basic",
            ],
            "scopes_supported": list(v.scopes_supported),
        }
        if v.dcr:
            meta["registration_endpoint"] = f"{w.issuer}/register"
        if v.cimd:
            meta["client_id_metadata_document_supported"] = True
        return meta

    # ------------------------------------------------------------------ the AS
    def register(self, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        method = data.get("token_endpoint_auth_method") or "client_secret_basic"
        client_id = "dcr-" + secrets.token_hex(6)
        secret = None if method == "none" else secrets.token_urlsafe(16)
        uris = [str(u) for u in data.get("redirect_uris") or []]
        with self.world.lock:
            self.world.register(client_id, secret, method, uris)
            self.world.events.append(
                ("register", {"client_id": client_id, "redirect": " ".join(uris)})
            )
        out = {**data, "client_id": client_id, "token_endpoint_auth_method": method}
        if secret:
            out["client_secret"] = secret
        return _json(201, out)

    def authorize(self, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        w = self.world
        with w.lock:
            w.events.append(("authorize", dict(q)))
        client = w.clients.get(q.get("client_id", ""))
        if client is None and w.variant.cimd and q.get("client_id", "").startswith("https://"):
            # a real AS fetches the metadata document over https; here the test's one is known
            client = Client(q["client_id"], None, "none", [q.get("redirect_uri", "")])
        if client is None:
            return _json(400, {"error": "invalid_client"})
        redirect = q.get("redirect_uri", "")
        if not _redirect_allowed(redirect, client.redirect_uris):
            return _json(400, {"error": "invalid_request", "error_description": "redirect_uri"})
        state = q.get("state", "")

        def back(**params: str) -> tuple[int, dict[str, str], bytes]:
            return 302, {"location": f"{redirect}?{urlencode({**params, 'state': state})}"}, b""

        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return back(error="invalid_request", error_description="PKCE S256 is required")
        if q.get("resource") != w.resource:
            return back(error="invalid_target", error_description="unknown resource")
        code = secrets.token_urlsafe(16)
        with w.lock:
            w.codes[code] = {
                "client_id": client.client_id,
                "challenge": q["code_challenge"],
                "redirect_uri": redirect,
                "resource": q.get("resource"),
                "scope": q.get("scope", ""),
            }
        return back(code=code)

    def _client_auth(self, form: dict[str, str], headers: dict[str, str]) -> Client | None:
        w = self.world
        basic = headers.get("authorization", "")
        if basic.startswith("Basic "):
            raw = base64.b64decode(basic[6:]).decode()
            cid, _, secret = raw.partition(":")
            client = w.clients.get(unquote(cid))
            ok = client is not None and client.method == "client_secret_basic"
            return client if ok and client.secret == unquote(secret) else None
        cid = form.get("client_id", "")
        client = w.clients.get(cid)
        if client is None and w.variant.cimd and cid.startswith("https://"):
            return Client(cid, None, "none", [])
        if client is None:
            return None
        if client.method == "client_secret_post":
            return client if form.get("client_secret") == client.secret else None
        return client if client.method == "none" and "client_secret" not in form else None

    def token(
        self, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        w = self.world
        with w.lock:
            w.events.append(
                (
                    "token",
                    {**form, "basic": str(headers.get("authorization", "").startswith("Basic "))},
                )
            )
        client = self._client_auth(form, headers)
        if client is None:
            return _json(401, {"error": "invalid_client"})
        if form.get("resource") != w.resource:
            return _json(400, {"error": "invalid_target", "error_description": "wrong resource"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with w.lock:
                code = w.codes.pop(form.get("code", ""), None)
            if code is None or code["client_id"] != client.client_id:
                return _json(400, {"error": "invalid_grant"})
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if digest.decode().rstrip("=") != code["challenge"]:
                return _json(
                    400,
                    {"error": "invalid_grant", "error_description": "PKCE verifier does not match"},
                )
            if form.get("redirect_uri") != code["redirect_uri"]:
                return _json(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
            return self._issue(client.client_id, code["scope"], refresh=True)
        if grant == "refresh_token":
            with w.lock:
                old = w.refresh.pop(form.get("refresh_token", ""), None)
            if old is None or old["client_id"] != client.client_id:
                return _json(400, {"error": "invalid_grant"})
            return self._issue(client.client_id, old["scope"], refresh=True)
        if grant == "client_credentials":
            if client.secret is None:
                return _json(401, {"error": "invalid_client"})
            return self._issue(client.client_id, form.get("scope", ""), refresh=False)
        return _json(400, {"error": "unsupported_grant_type"})

    def _issue(
        self, client_id: str, scope: str, refresh: bool
    ) -> tuple[int, dict[str, str], bytes]:
        w = self.world
        access = "at-" + secrets.token_urlsafe(16)
        out: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": w.variant.token_ttl,
            "scope": scope,
        }
        with w.lock:
            w.tokens[access] = {
                "client_id": client_id,
                "scope": scope,
                "resource": w.resource,
                "expires_at": time.time() + w.variant.token_ttl,
            }
            if refresh:
                rt = "rt-" + secrets.token_urlsafe(16)
                w.refresh[rt] = {"client_id": client_id, "scope": scope}
                out["refresh_token"] = rt
        return _json(200, out)

    # ------------------------------------------------------------------ the RS
    def guard(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        w, v = self.world, self.world.variant
        auth = headers.get("authorization", "")
        token = w.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if token is None or token["expires_at"] < time.time() or token["resource"] != w.mcp_url:
            parts = ['Bearer error="invalid_token"']
            if v.prm == "header":
                parts.append(f'resource_metadata="{w.base}/custom/resource-metadata"')
            if v.challenge_scope:
                parts.append(f'scope="{v.challenge_scope}"')
            return _json(401, {"error": "invalid_token"}, {"www-authenticate": ", ".join(parts)})
        try:
            message = json.loads(body) if body else {}
        except ValueError:
            message = {}
        if isinstance(message, dict) and message.get("method") == "tools/call":
            name = (message.get("params") or {}).get("name")
            if name == "admin" and ("admin" not in token["scope"].split() or v.admin_never_enough):
                challenge = 'Bearer error="insufficient_scope", scope="mcp admin"'
                with w.lock:
                    w.events.append(("insufficient_scope", {"scope": token["scope"]}))
                return _json(403, {"error": "insufficient_scope"}, {"www-authenticate": challenge})
        return None


def _redirect_allowed(redirect: str, registered: list[str]) -> bool:
    """Exact match, or (RFC 8252 §7.3) a registered portless loopback URI with any port."""
    if redirect in registered:
        return True
    parts = urlsplit(redirect)
    for uri in registered:
        reg = urlsplit(uri)
        loopback = reg.hostname == "127.0.0.1" == parts.hostname and reg.port is None
        if loopback and (reg.path, reg.scheme) == (parts.path, parts.scheme):
            return True
    return False


def _json(
    status: int, data: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"content-type": "application/json", **(headers or {})},
        json.dumps(data).encode(),
    )


@contextlib.contextmanager
def oauth_world(variant: Variant | None = None) -> Iterator[World]:
    """The authorization and MCP server running on a free port for the ``with`` block."""
    world = World(variant or Variant(), free_port())
    config = uvicorn.Config(
        App(world), host="127.0.0.1", port=world.port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="oauth-world", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the OAuth test server did not start")
        time.sleep(0.02)
    try:
        yield world
    finally:
        server.should_exit = True
        thread.join(10)
