"""Secrets in the system keychain (service ``keiko-desktop``), referenced from ``mcp.json``.

A value written ``${keyring:NAME}`` is replaced at server start by the keychain entry ``NAME``.
Resolved values are handed to the ``Redactor`` so they never reach a log, the DB or a dialog.
On a machine without a keychain backend every operation raises a ``SecretStoreError`` that says
how to get one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

import keyring
import keyring.errors

from keiko_desktop.core.tools.errors import SecretStoreError
from keiko_desktop.core.tools.redaction import Redactor, is_secret_key
from keiko_desktop.mcp_tools.config import ExternalServerConfig, HttpServerConfig

KEYRING_SERVICE = "keiko-desktop"
_REF = re.compile(r"\$\{keyring:([A-Za-z0-9_.\-]+)\}")

NO_BACKEND_HINT = (
    "Install and unlock a system keychain (GNOME Keyring or KWallet on Linux; macOS and Windows "
    "have one), or `pip install keyrings.alt` for a file-based store; "
    "or import with --plain-secrets to keep the values in mcp.json."
)


def reference(name: str) -> str:
    return "${keyring:" + name + "}"


def references_in(value: str) -> list[str]:
    return _REF.findall(value)


class SecretStore:
    """Get and set secrets in the keychain. Blocking: call off the loop (``to_thread``)."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def get(self, name: str) -> str:
        try:
            value = keyring.get_password(self.service, name)
        except keyring.errors.NoKeyringError:
            raise SecretStoreError(
                f"No system keychain is available to read the secret '{name}'.", NO_BACKEND_HINT
            ) from None
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(
                f"The keychain refused to read '{name}': {exc}.", "Unlock the keychain."
            ) from None
        if value is None:
            raise SecretStoreError(
                f"The secret '{name}' is not in the keychain (service '{self.service}').",
                f"Add it, e.g. `keyring set {self.service} {name}`, or re-import the server.",
            )
        return value

    def set(self, name: str, value: str) -> None:
        try:
            keyring.set_password(self.service, name, value)
        except keyring.errors.NoKeyringError:
            raise SecretStoreError(
                f"No system keychain is available to store the secret '{name}'.", NO_BACKEND_HINT
            ) from None
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(
                f"The keychain refused to store '{name}': {exc}.", "Unlock the keychain."
            ) from None

    def resolve(self, value: str, redactor: Redactor | None = None) -> str:
        """``value`` with each ``${keyring:NAME}`` replaced; the secrets go to ``redactor``."""

        def sub(match: re.Match[str]) -> str:
            secret = self.get(match.group(1))
            if redactor is not None:
                redactor.add_secret(secret)
            return secret

        return _REF.sub(sub, value)

    def resolve_map(self, values: Mapping[str, str], redactor: Redactor | None) -> dict[str, str]:
        return {k: self.resolve(v, redactor) for k, v in values.items()}


def _move(
    server: str, values: Mapping[str, str], store: SecretStore
) -> tuple[dict[str, str], list[str]]:
    out: dict[str, str] = {}
    moved: list[str] = []
    for key, value in values.items():
        if is_secret_key(key) and value and not references_in(value):
            name = f"{server}.{key}"
            store.set(name, value)
            out[key] = reference(name)
            moved.append(name)
        else:
            out[key] = value
    return out, moved


def move_secrets_to_keychain(
    server: ExternalServerConfig, store: SecretStore
) -> tuple[ExternalServerConfig, list[str]]:
    """Store secret-looking env values and headers in the keychain; return refs in their place.

    Returns the rewritten server and the keychain names used.
    """
    if isinstance(server, HttpServerConfig):
        headers, moved = _move(server.name, server.headers, store)
        return replace(server, headers=headers), moved
    env, moved = _move(server.name, server.env, store)
    return replace(server, env=env), moved


def plain_secrets(server: ExternalServerConfig) -> list[str]:
    """Keys of secret-looking values stored as plain text (not as keychain references)."""
    values = server.headers if isinstance(server, HttpServerConfig) else server.env
    return [k for k, v in values.items() if is_secret_key(k) and v and not references_in(v)]
