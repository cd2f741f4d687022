"""Tokens and registered clients in the system keychain: the SDK's ``TokenStorage`` per server.

Entries live in the keychain service of ``SecretStore`` under ``oauth.<server>.<url-hash>.tokens``
and ``.client``: keyed by the server's name *and* URL, so a server whose URL changed never gets
the old server's tokens. Never in the database or a log: every token read or written is handed
to the ``Redactor``. Keychain calls block, so each runs in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import TypeVar

import keyring
import keyring.errors
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import ValidationError

from keiko_desktop.core.tools.errors import SecretStoreError
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.mcp_tools.secrets import KEYRING_SERVICE, NO_BACKEND_HINT

MAX_ENTRY_CHARS = 64_000
T = TypeVar("T")


def entry_prefix(server: str, url: str) -> str:
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return f"oauth.{server}.{digest}"


class KeychainVault:
    """Blocking get/set/delete of one keychain entry, with the app's errors."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def get(self, name: str) -> str | None:
        return _keychain("read", name, lambda: keyring.get_password(self.service, name))

    def set(self, name: str, value: str) -> None:
        _keychain("store", name, lambda: keyring.set_password(self.service, name, value))

    def delete(self, name: str) -> bool:
        """True when there was an entry to delete."""
        if self.get(name) is None:
            return False
        try:
            keyring.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(
                f"The keychain refused to delete '{name}': {exc}.", "Unlock the keychain."
            ) from None
        return True


def _keychain(verb: str, name: str, call: Callable[[], T]) -> T:
    """``call()``, with the keychain's errors as ``SecretStoreError`` (``verb``: what it did
    to the entry ``name``, for the message)."""
    try:
        return call()
    except keyring.errors.NoKeyringError:
        raise SecretStoreError(
            "No system keychain is available for OAuth tokens.", NO_BACKEND_HINT
        ) from None
    except keyring.errors.KeyringError as exc:
        raise SecretStoreError(
            f"The keychain refused to {verb} '{name}': {exc}.", "Unlock the keychain."
        ) from None


class KeychainTokenStorage:
    """``mcp.client.auth.TokenStorage`` for one server (name + URL) in the keychain."""

    def __init__(
        self, server: str, url: str, redactor: Redactor, vault: KeychainVault | None = None
    ) -> None:
        self.server = server
        self.prefix = entry_prefix(server, url)
        self.redactor = redactor
        self.vault = vault or KeychainVault()

    @property
    def tokens_name(self) -> str:
        return f"{self.prefix}.tokens"

    @property
    def client_name(self) -> str:
        return f"{self.prefix}.client"

    def _hide(self, tokens: OAuthToken) -> None:
        self.redactor.add_secret(tokens.access_token)
        if tokens.refresh_token:
            self.redactor.add_secret(tokens.refresh_token)

    async def get_tokens(self) -> OAuthToken | None:
        raw = await asyncio.to_thread(self.vault.get, self.tokens_name)
        if raw is None or len(raw) > MAX_ENTRY_CHARS:
            return None
        try:
            tokens = OAuthToken.model_validate_json(raw)
        except ValidationError:
            return None  # a damaged entry: sign in again
        self._hide(tokens)
        return tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self._hide(tokens)
        await asyncio.to_thread(self.vault.set, self.tokens_name, tokens.model_dump_json())

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        raw = await asyncio.to_thread(self.vault.get, self.client_name)
        if raw is None or len(raw) > MAX_ENTRY_CHARS:
            return None
        try:
            info = OAuthClientInformationFull.model_validate_json(raw)
        except ValidationError:
            return None
        if info.client_secret:
            self.redactor.add_secret(info.client_secret)
        return info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        if client_info.client_secret:
            self.redactor.add_secret(client_info.client_secret)
        await asyncio.to_thread(self.vault.set, self.client_name, client_info.model_dump_json())

    async def has_tokens(self) -> bool:
        return await asyncio.to_thread(self.vault.get, self.tokens_name) is not None

    async def delete_tokens(self) -> bool:
        return await asyncio.to_thread(self.vault.delete, self.tokens_name)

    async def delete_all(self) -> list[str]:
        """Forget the tokens and the registered client; the names of what was deleted."""
        deleted: list[str] = []
        for name in (self.tokens_name, self.client_name):
            if await asyncio.to_thread(self.vault.delete, name):
                deleted.append(name)
        return deleted


class FreshLogin:
    """A storage that hides the stored tokens (a login asks for new ones) but keeps writes and
    the registered client: an explicit sign-in always runs the browser flow."""

    def __init__(self, inner: KeychainTokenStorage) -> None:
        self.inner = inner
        self._fresh: OAuthToken | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self._fresh

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self._fresh = tokens
        await self.inner.set_tokens(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return await self.inner.get_client_info()

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        await self.inner.set_client_info(client_info)
