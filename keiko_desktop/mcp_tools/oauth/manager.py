"""``OAuthManager``: the OAuth side of every HTTP server, for the pool, the CLI and the window.

- ``auth_for(config)``: the ``httpx2.Auth`` the pool's HTTP transport is given (a fresh,
  non-interactive ``GuardedAuth`` per connection: tokens come from the keychain, a refresh is
  silent, a missing sign-in becomes ``needs sign-in`` via ``raise_if_needed``).
- ``login(config)``: the browser flow (``keiko mcp login``, Sign in): a loopback listener, the
  system browser (``webbrowser.open`` in a thread; tests inject ``opener``), an MCP connection
  with an interactive provider that runs the SDK's flow, tokens stored in the keychain.
- ``logout(config)``: the tokens and the registered client deleted from the keychain.
It implements ``core.tools.sign_in.ServerSignIn`` for Settings > Tools.
"""

from __future__ import annotations

import asyncio
import logging
import webbrowser
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import keyring
from mcp import Client
from mcp.client.auth.utils import union_scopes
from mcp.client.streamable_http import streamable_http_client

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.errors import SecretStoreError
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.core.tools.sign_in import SignInState, sign_in_needed
from keiko_desktop.mcp_tools.bounded_http import BoundedTransport
from keiko_desktop.mcp_tools.config import HttpServerConfig
from keiko_desktop.mcp_tools.oauth.auth import GuardedAuth, Refusal, build_provider
from keiko_desktop.mcp_tools.oauth.loopback import SIGN_IN_TIMEOUT, LoopbackListener, SignInError
from keiko_desktop.mcp_tools.oauth.settings import OAuthSettings
from keiko_desktop.mcp_tools.oauth.vault import FreshLogin, KeychainTokenStorage, KeychainVault
from keiko_desktop.mcp_tools.secrets import SecretStore

log = logging.getLogger(__name__)

Opener = Callable[[str], Awaitable[None]]
"""Shows the authorization URL to a person: the system browser, or a test's HTTP client."""
LOGIN_TIMEOUT = SIGN_IN_TIMEOUT + 60.0


async def system_browser(url: str) -> None:
    """``webbrowser.open`` off the loop (it may start a process, or wait for one)."""
    opened = await asyncio.to_thread(webbrowser.open, url)
    if not opened:
        log.info("no browser could be opened for the sign-in; the URL was shown instead")


@dataclass(frozen=True)
class LoginOutcome:
    server: str
    tools: int
    where: str
    """Where the tokens are kept (the keychain backend and the entry names), for the user."""
    asked: bool = True
    """False: the server never asked for a sign-in (no tokens were needed)."""


def uses_static_auth(config: HttpServerConfig) -> bool:
    return config.oauth is None and any(k.lower() == "authorization" for k in config.headers)


class OAuthManager:
    """OAuth for the HTTP servers of one tool system (or one CLI command)."""

    def __init__(
        self,
        redactor: Redactor,
        *,
        secrets: SecretStore | None = None,
        vault: KeychainVault | None = None,
        opener: Opener | None = None,
        sign_in_timeout: float = SIGN_IN_TIMEOUT,
    ) -> None:
        self.redactor = redactor
        self.secrets = secrets or SecretStore()
        self.vault = vault or KeychainVault(self.secrets.service)
        self.opener = opener or system_browser
        self.sign_in_timeout = sign_in_timeout
        self.restart: Callable[[str], Coroutine[Any, Any, None]] | None = None
        """Restarts a server of the pool (set by ``setup``): after a sign-in, sign-out, or a
        session that lost its sign-in."""
        self._configs: dict[str, HttpServerConfig] = {}
        self._needed: dict[str, str] = {}
        self._signed_in: set[str] = set()
        self._step_ups: dict[str, list[int]] = {}
        self._restarts: set[asyncio.Task[None]] = set()
        self._wanted: dict[str, str] = {}
        """Scopes a server's step-up challenge asked for, added to the next sign-in."""

    # ------------------------------------------------------------------ the pool
    def storage(self, config: HttpServerConfig) -> KeychainTokenStorage:
        return KeychainTokenStorage(config.name, config.url, self.redactor, self.vault)

    async def _client_secret(self, settings: OAuthSettings) -> str | None:
        if settings.client_secret is None:
            return None
        return await asyncio.to_thread(self.secrets.resolve, settings.client_secret, self.redactor)

    async def auth_for(self, config: HttpServerConfig) -> httpx2.Auth | None:
        """The background auth of one connection to ``config`` (None: the server has a static
        Authorization header instead)."""
        self._configs[config.name] = config
        if uses_static_auth(config):
            return None
        self._needed.pop(config.name, None)
        settings = config.oauth or OAuthSettings()
        storage = self.storage(config)
        try:
            if await storage.get_tokens() is not None:
                self._signed_in.add(config.name)
        except SecretStoreError as exc:
            if config.oauth is not None:
                raise
            # no keychain: a server that never asks for OAuth must still work
            log.info("no OAuth for %s: %s", config.name, exc.message)
            return None
        provider = build_provider(
            config.url, settings, storage, client_secret=await self._client_secret(settings)
        )
        return GuardedAuth(
            provider,
            interactive=False,
            needs_person=settings.grant != "client_credentials",
            on_needed=lambda refusal: self._on_needed(config.name, refusal),
            step_ups=self._step_ups.setdefault(config.name, [0]),
        )

    def _on_needed(self, server: str, refusal: Refusal) -> None:
        log.info("MCP server %s needs a sign-in: %s", server, refusal.why)
        if refusal.step_up and refusal.scope:  # the next sign-in asks for it too
            self._wanted[server] = union_scopes(self._wanted.get(server), refusal.scope) or ""
        first = server not in self._needed
        self._needed[server] = refusal.why
        self._signed_in.discard(server)
        if first and not refusal.at_start and not refusal.step_up and self.restart is not None:
            # a running session lost its sign-in: restart it so its status says so
            task = asyncio.get_running_loop().create_task(self.restart(server))
            self._restarts.add(task)
            task.add_done_callback(self._restarts.discard)

    def raise_if_needed(self, server: str) -> None:
        """Raise ``SignInNeededError`` if ``server`` failed because nobody is signed in."""
        why = self._needed.get(server)
        if why is not None:
            raise sign_in_needed(server, why)

    # ------------------------------------------------------------------ ServerSignIn
    def sign_in_state(self, server: str) -> SignInState | None:
        config = self._configs.get(server)
        if config is None or uses_static_auth(config):
            return None
        if server in self._needed:
            return "signed-out"
        if server in self._signed_in:
            return "signed-in"
        return "signed-out" if config.oauth is not None else None

    def _config(self, server: str) -> HttpServerConfig:
        config = self._configs.get(server)
        if config is None:
            raise KeikoError(
                f"'{one_line(server, 64)}' is not a remote (HTTP) server Keiko knows.",
                "Only servers with a URL in mcp.json sign in.",
            )
        return config

    async def sign_in(self, server: str) -> None:
        await self.login(self._config(server))
        if self.restart is not None:
            await self.restart(server)

    async def sign_out(self, server: str) -> None:
        await self.logout(self._config(server))
        if self.restart is not None:
            await self.restart(server)

    # ------------------------------------------------------------------ login / logout
    async def login(
        self, config: HttpServerConfig, show_url: Callable[[str], None] | None = None
    ) -> LoginOutcome:
        """Sign in to ``config`` now (a browser for the authorization code grant). Raises
        ``KeikoError`` saying what failed."""
        self._configs[config.name] = config
        if uses_static_auth(config):
            raise KeikoError(
                f"'{config.name}' sends its own Authorization header; it does not use OAuth.",
                'Remove the header from mcp.json (or add an "oauth" block) to sign in instead.',
            )
        settings = config.oauth or OAuthSettings()
        storage = self.storage(config)
        fresh = FreshLogin(storage)
        secret = await self._client_secret(settings)
        port = _registered_port(await storage.get_client_info())
        async with LoopbackListener(config.name, port, self.sign_in_timeout) as listener:

            async def redirect(url: str) -> None:
                state = parse_qs(urlsplit(url).query).get("state", [""])[0]
                listener.expect(state)
                if show_url is not None:
                    show_url(url)
                await self.opener(url)

            wanted = self._wanted.get(config.name)
            if wanted:
                scopes = union_scopes(" ".join(settings.scopes), wanted) or ""
                settings = replace(settings, scopes=tuple(scopes.split()))
            provider = build_provider(
                config.url,
                settings,
                fresh,
                client_secret=secret,
                redirect_uri=listener.redirect_uri,
                redirect_handler=redirect,
                callback_handler=listener.wait,
            )
            refused: list[str] = []
            auth = GuardedAuth(
                provider,
                interactive=True,
                needs_person=settings.grant != "client_credentials",
                on_needed=lambda refusal: refused.append(refusal.why),
                step_ups=self._step_ups.setdefault(config.name, [0]),
            )
            tools = await self._connect(config, auth, refused)
        asked = fresh._fresh is not None
        self._needed.pop(config.name, None)
        self._wanted.pop(config.name, None)
        self._step_ups[config.name] = [0]
        if asked:
            self._signed_in.add(config.name)
        backend = type(keyring.get_keyring()).__name__
        where = (
            f"the system keychain ({backend}, service '{self.vault.service}', "
            f"entries {storage.tokens_name} and {storage.client_name})"
        )
        return LoginOutcome(config.name, tools, where, asked)

    async def _connect(
        self, config: HttpServerConfig, auth: httpx2.Auth, refused: list[str]
    ) -> int:
        http = httpx2.AsyncClient(
            auth=auth, timeout=httpx2.Timeout(30.0, read=300.0), transport=BoundedTransport()
        )
        try:
            async with asyncio.timeout(LOGIN_TIMEOUT), http:
                client = Client(streamable_http_client(config.url, http_client=http), cache=None)
                async with client:
                    return len((await client.list_tools()).tools)
        except KeikoError:
            raise
        except BaseException as exc:
            inner = _innermost(exc)
            if isinstance(inner, KeikoError):
                raise inner from None
            if isinstance(exc, asyncio.CancelledError):
                raise
            why = refused[0] if refused else f"{type(inner).__name__}: {inner}"
            text = one_line(self.redactor.redact_text(why), 300)
            raise SignInError(
                f"Signing in to {config.name} failed: {text}.",
                "Check the server's URL and its OAuth settings in mcp.json, then try again.",
            ) from None

    async def logout(self, config: HttpServerConfig) -> list[str]:
        """Delete ``config``'s tokens and registered client; the keychain names deleted."""
        self._configs[config.name] = config
        deleted = await self.storage(config).delete_all()
        self._signed_in.discard(config.name)
        self._step_ups[config.name] = [0]
        return deleted


def _registered_port(info: object) -> int:
    """The loopback port a stored registration was made for (0: any)."""
    uris = getattr(info, "redirect_uris", None) or []
    for uri in uris:
        parts = urlsplit(str(uri))
        if parts.hostname == "127.0.0.1" and parts.port:
            return parts.port
    return 0


def _innermost(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
