"""The optional ``oauth`` block of an HTTP server in ``mcp.json``.

    "remote": {"url": "https://example.com/mcp",
               "oauth": {"client_id": "keiko", "client_secret": "${keyring:remote.oauth}",
                         "token_endpoint_auth_method": "client_secret_basic",
                         "scopes": ["read", "write"], "grant": "authorization_code"}}

Every field is optional: without ``client_id`` Keiko registers itself (dynamic client
registration) or uses ``client_metadata_url`` (a client ID metadata document) where the
authorization server supports it. ``client_secret`` may only be a keychain reference, never the
secret itself. Errors name the server and the field, like the rest of ``config``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

from keiko_desktop.core.tools.errors import McpConfigError

AuthMethod = Literal["none", "client_secret_post", "client_secret_basic"]
Grant = Literal["authorization_code", "client_credentials"]
AUTH_METHODS: tuple[str, ...] = ("none", "client_secret_post", "client_secret_basic")
GRANTS: tuple[str, ...] = ("authorization_code", "client_credentials")
MAX_SCOPES = 50
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,200}$")  # RFC 6749 §3.3 scope-token
_KEYCHAIN_REF = re.compile(r"^\$\{keyring:[A-Za-z0-9_.\-]+\}$")
_FIELDS = (
    "client_id",
    "client_secret",
    "token_endpoint_auth_method",
    "scopes",
    "client_metadata_url",
    "grant",
    "issuer",
)


@dataclass(frozen=True)
class OAuthSettings:
    """How Keiko authenticates to one server's authorization server."""

    client_id: str | None = None
    client_secret: str | None = None
    """A ``${keyring:NAME}`` reference, resolved when the secret is needed."""
    token_endpoint_auth_method: AuthMethod | None = None
    scopes: tuple[str, ...] = ()
    client_metadata_url: str | None = None
    grant: Grant = "authorization_code"
    issuer: str | None = None
    """The authorization server a pre-registered client belongs to (client credentials: its
    secret is only ever sent there)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if name == "grant" and value == "authorization_code":
                continue
            if value:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out


Fail = Callable[[str, str], McpConfigError]


def _text(entry: dict[str, Any], key: str, fail: Fail, limit: int = 2000) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise fail(f"oauth.{key}", f"must be a non-empty string of at most {limit} characters")
    return value


def parse_oauth(value: Any, fail: Fail) -> OAuthSettings:
    """The ``oauth`` block; ``fail(field, problem)`` builds the error naming the server."""
    if value is True or value == {}:
        return OAuthSettings()
    if not isinstance(value, dict):
        raise fail("oauth", "must be an object (or true)")
    unknown = sorted(set(value) - set(_FIELDS))
    if unknown:
        raise fail(f"oauth.{unknown[0]}", f"is not an OAuth setting; use one of {_FIELDS}")
    client_id = _text(value, "client_id", fail, 500)
    secret = _text(value, "client_secret", fail, 200)
    if secret is not None and not _KEYCHAIN_REF.match(secret):
        raise fail(
            "oauth.client_secret",
            "must be a keychain reference like ${keyring:NAME}, never the secret itself "
            "(store it with `keyring set keiko-desktop NAME`)",
        )
    method = value.get("token_endpoint_auth_method")
    if method is not None and method not in AUTH_METHODS:
        raise fail("oauth.token_endpoint_auth_method", f"must be one of {AUTH_METHODS}")
    if method in ("client_secret_post", "client_secret_basic") and secret is None:
        raise fail("oauth.client_secret", f"is missing ({method} needs a client secret)")
    scopes_raw = value.get("scopes", [])
    if isinstance(scopes_raw, str):
        scopes_raw = scopes_raw.split()
    if (
        not isinstance(scopes_raw, list)
        or len(scopes_raw) > MAX_SCOPES
        or not all(isinstance(s, str) and _SCOPE.match(s) for s in scopes_raw)
    ):
        raise fail("oauth.scopes", f"must be a list of at most {MAX_SCOPES} scope names")
    metadata_url = _text(value, "client_metadata_url", fail)
    if metadata_url is not None:
        parsed = urlparse(metadata_url)
        if parsed.scheme != "https" or parsed.path in ("", "/"):
            raise fail(
                "oauth.client_metadata_url", "must be an https:// URL with a path (RFC CIMD)"
            )
    grant = value.get("grant", "authorization_code")
    if grant not in GRANTS:
        raise fail("oauth.grant", f"must be one of {GRANTS}")
    if grant == "client_credentials" and (client_id is None or secret is None):
        raise fail("oauth.grant", "is client_credentials, which needs client_id and client_secret")
    issuer = _text(value, "issuer", fail)
    if issuer is not None and not issuer.startswith(("http://", "https://")):
        raise fail("oauth.issuer", "must be the authorization server's http(s) URL")
    if secret is not None and client_id is None:
        raise fail("oauth.client_id", "is missing (a client_secret belongs to a client_id)")
    return OAuthSettings(
        client_id=client_id,
        client_secret=secret,
        token_endpoint_auth_method=method,
        scopes=tuple(dict.fromkeys(scopes_raw)),
        client_metadata_url=metadata_url,
        grant=grant,
        issuer=issuer,
    )
