"""The SDK's OAuth providers, configured from ``OAuthSettings``, and the guard around them.

``OAuthClientProvider`` (``mcp.client.auth``) does the protocol: protected-resource metadata
(``WWW-Authenticate`` ``resource_metadata``, then the well-known URLs with and without the path),
authorization-server metadata (RFC 8414, then OpenID configuration), client ID metadata documents,
dynamic registration, PKCE (S256), the ``resource`` parameter, scope selection, step-up,
refresh. ``KeikoOAuthProvider`` adds a pre-registered client and the configured scopes.

``GuardedAuth`` wraps either provider for the two places it runs:
- in the background pool (``interactive=False``) it never lets the flow reach a browser: a 401
  (or a 403 ``insufficient_scope``) that only a person can fix is handed back as it is, and
  ``on_needed`` says why, so the server's status asks for a sign-in. A refresh still happens
  silently (the SDK refreshes before the request, with no person).
- everywhere it bounds scope step-up: at most ``MAX_STEP_UPS`` re-authorizations per server and
  process (the SDK retries once per request, but would re-authorize on every request that is
  refused again).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.auth.utils import extract_field_from_www_auth, union_scopes
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata
from mcp.shared.exceptions import MCPDeprecationWarning

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.mcp_tools.oauth.settings import OAuthSettings

MAX_STEP_UPS = 2
RESOURCE_SINCE = "2025-06-18"
"""The first protocol version whose clients send ``resource`` (RFC 8707)."""
PLACEHOLDER_REDIRECT = "http://127.0.0.1/callback"
"""The background provider never redirects (only refreshes), but the SDK needs a URI."""


class KeikoOAuthProvider(OAuthClientProvider):
    """``OAuthClientProvider`` with a pre-registered client (``fixed_client``) and configured
    scopes added to the ones the SDK selects (challenge, else resource metadata, else none)."""

    def __init__(
        self,
        *args: object,
        fixed_client: OAuthClientInformationFull | None = None,
        extra_scopes: str | None = None,
        check_redirect: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._fixed_client = fixed_client
        self._extra_scopes = extra_scopes
        self._check_redirect = check_redirect
        self.challenge: tuple[int, str | None] | None = None
        """The status and ``scope`` of the challenge being answered (``GuardedAuth`` notes it)."""

    async def _initialize(self) -> None:
        await super()._initialize()
        if self._fixed_client is not None:
            self.context.client_info = self._fixed_client
            return
        info = self.context.client_info
        redirect = self.context.client_metadata.redirect_uris
        if (
            self._check_redirect
            and info is not None
            and redirect
            and info.client_id != self.context.client_metadata_url
            and info.redirect_uris is not None
            and str(redirect[0]) not in [str(u) for u in info.redirect_uris]
        ):
            # registered for another loopback port: register again rather than be refused
            self.context.client_info = None

    def _always_resource(self) -> None:
        """The MCP spec wants ``resource`` on every authorization and token request; the SDK
        leaves it off when it has no resource metadata yet and the request carried no
        protocol-version header (a refresh before the 2025 handshake): stand in for it."""
        if not self.context.protocol_version:
            self.context.protocol_version = RESOURCE_SINCE

    async def _refresh_token(self) -> httpx2.Request:
        self._always_resource()
        return await super()._refresh_token()

    async def _perform_authorization(self) -> httpx2.Request:
        self._always_resource()
        metadata = self.context.client_metadata
        prm = self.context.protected_resource_metadata
        if (
            self.challenge is not None
            and self.challenge == (401, None)
            and (prm is None or prm.scopes_supported is None)
        ):
            # The MCP spec: the challenge's scope, else the resource's scopes_supported, else
            # none. The SDK would fall back to the authorization server's list: not that.
            metadata.scope = None
        metadata.scope = union_scopes(metadata.scope, self._extra_scopes)
        return await super()._perform_authorization()


def client_metadata(settings: OAuthSettings, redirect_uri: str) -> OAuthClientMetadata:
    return OAuthClientMetadata(
        redirect_uris=[redirect_uri],  # type: ignore[list-item]
        client_name="Keiko Desktop",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method=settings.token_endpoint_auth_method or "none",
        scope=" ".join(settings.scopes) or None,
    )


def build_provider(
    server_url: str,
    settings: OAuthSettings,
    storage: TokenStorage,
    *,
    client_secret: str | None,
    redirect_uri: str | None = None,
    redirect_handler: Callable[[str], Awaitable[None]] | None = None,
    callback_handler: Callable[[], Awaitable[AuthorizationCodeResult]] | None = None,
) -> OAuthClientProvider:
    """The SDK provider for ``settings``: client credentials, or authorization code (with a
    pre-registered client when ``client_id`` is set, else a metadata document or registration)."""
    method = settings.token_endpoint_auth_method
    if settings.grant == "client_credentials":
        assert settings.client_id is not None
        assert client_secret is not None
        cc_method: Literal["client_secret_basic", "client_secret_post"] = (
            "client_secret_post" if method == "client_secret_post" else "client_secret_basic"
        )
        with warnings.catch_warnings():  # no issuer configured: the SDK warns it is deprecated
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            return ClientCredentialsOAuthProvider(
                server_url,
                storage,
                settings.client_id,
                client_secret,
                token_endpoint_auth_method=cc_method,
                scope=" ".join(settings.scopes) or None,
                issuer=settings.issuer,
            )
    uri = redirect_uri or PLACEHOLDER_REDIRECT
    fixed = None
    if settings.client_id is not None:
        fixed = OAuthClientInformationFull(
            client_id=settings.client_id,
            client_secret=client_secret,
            redirect_uris=[uri],  # type: ignore[list-item]
            token_endpoint_auth_method=method
            or ("client_secret_basic" if client_secret else "none"),
            scope=" ".join(settings.scopes) or None,
        )
    return KeikoOAuthProvider(
        server_url,
        client_metadata(settings, uri),
        storage,
        redirect_handler,
        callback_handler,
        settings.client_metadata_url,
        fixed_client=fixed,
        extra_scopes=" ".join(settings.scopes) or None,
        check_redirect=redirect_uri is not None,
    )


@dataclass(frozen=True)
class Refusal:
    """Why the guard handed a challenge back instead of answering it."""

    why: str
    at_start: bool
    """Before any request of this connection succeeded (its start fails with it)."""
    step_up: bool
    """A 403 ``insufficient_scope``: the session is fine, one call wants more access."""
    scope: str | None
    """What the challenge asked for, if it said."""


NeededListener = Callable[[Refusal], None]


class GuardedAuth(httpx2.Auth):
    """An SDK provider that never opens a browser unasked and bounds scope step-up."""

    requires_response_body = True

    def __init__(
        self,
        inner: OAuthClientProvider,
        *,
        interactive: bool,
        needs_person: bool,
        on_needed: NeededListener,
        step_ups: list[int],
        max_step_ups: int = MAX_STEP_UPS,
    ) -> None:
        self.inner = inner
        self.interactive = interactive
        self.needs_person = needs_person
        """False for client credentials: its flow needs nobody, so it always runs."""
        self.on_needed = on_needed
        self.step_ups = step_ups
        """A one-element counter shared by every connection to this server."""
        self.max_step_ups = max_step_ups
        self.succeeded = False

    def _refusal(self, response: httpx2.Response) -> str | None:
        """Why the flow must stop here (the response goes back as it is), or None to go on."""
        if response.status_code == 401:
            if self.needs_person and not self.interactive:
                return "not signed in, or the sign-in expired"
            return None
        if response.status_code != 403:
            return None
        if extract_field_from_www_auth(response, "error") != "insufficient_scope":
            return None
        scope = one_line(extract_field_from_www_auth(response, "scope") or "", 200)
        wanted = f" (scope {scope})" if scope else ""
        if self.step_ups[0] >= self.max_step_ups:
            return f"the server still wants more access{wanted} after {self.max_step_ups} sign-ins"
        if self.needs_person and not self.interactive:
            return f"the server wants more access{wanted}"
        self.step_ups[0] += 1
        return None

    def _can_refresh(self) -> bool:
        context = self.inner.context
        return self.needs_person and context.can_refresh_token()

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        flow = self.inner.async_auth_flow(request)
        first, refreshed = True, False
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                if outgoing is request and first:
                    if response.status_code == 401 and not refreshed and self._can_refresh():
                        # The SDK refreshes only a token it knows has expired; one loaded from
                        # the keychain has no known expiry, and a server may end it early. Try
                        # the refresh token once before anyone is asked to sign in.
                        refreshed = True
                        await flow.aclose()
                        self.inner.context.token_expiry_time = 1.0  # long past
                        flow = self.inner.async_auth_flow(request)
                        outgoing = await flow.__anext__()
                        continue
                    first = False
                    if isinstance(self.inner, KeikoOAuthProvider):
                        scope = extract_field_from_www_auth(response, "scope")
                        self.inner.challenge = (response.status_code, scope)
                    why = self._refusal(response)
                    if why is not None:
                        scope = extract_field_from_www_auth(response, "scope")
                        step_up = response.status_code == 403
                        self.on_needed(Refusal(why, not self.succeeded, step_up, scope))
                        return  # httpx hands this response back to the transport
                if outgoing is request and response.status_code < 400:
                    self.succeeded = True
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()
