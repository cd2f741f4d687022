"""Endpoint API keys in the system keychain (service ``keiko-desktop``), never in a file.

Blocking (the keychain may ask the desktop): call these off the event loop. Without a keychain
backend, saving a key is a ``SettingsError`` that says how to get one; reading one gives None
with the reason logged (the endpoint then answers 401, and the user sees that).
"""

from __future__ import annotations

import logging

import keyring
import keyring.errors

from keiko_desktop.core.endpoints import endpoint_key_name
from keiko_desktop.core.errors import SettingsError

log = logging.getLogger(__name__)

SERVICE = "keiko-desktop"
NO_KEYCHAIN_HINT = (
    "Install and unlock a system keychain (GNOME Keyring or KWallet on Linux; macOS and Windows "
    "have one), or `pip install keyrings.alt` for a file-based one; then add the endpoint again."
)
MAX_KEY_LENGTH = 8192


def read_key(name: str) -> str | None:
    """Endpoint ``name``'s API key, or None (none stored, or no keychain)."""
    try:
        return keyring.get_password(SERVICE, endpoint_key_name(name))
    except keyring.errors.KeyringError as exc:
        log.warning("cannot read the API key of endpoint %s: %s", name, type(exc).__name__)
        return None


def store_key(name: str, key: str) -> None:
    """Keep ``key`` for endpoint ``name``; SettingsError when it is malformed or cannot be kept."""
    if not key or len(key) > MAX_KEY_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise SettingsError(
            f"The API key for {name} is not usable (empty, too long, or with control characters).",
            "Copy the key again, without spaces or line breaks.",
        )
    try:
        keyring.set_password(SERVICE, endpoint_key_name(name), key)
    except keyring.errors.NoKeyringError:
        raise SettingsError(
            f"No system keychain is available to keep the API key of {name}.", NO_KEYCHAIN_HINT
        ) from None
    except keyring.errors.KeyringError as exc:
        raise SettingsError(
            f"The keychain refused to keep the API key of {name} ({type(exc).__name__}).",
            "Unlock the keychain and try again.",
        ) from None


def forget_key(name: str) -> None:
    """Delete endpoint ``name``'s key, if the keychain has one."""
    try:
        keyring.delete_password(SERVICE, endpoint_key_name(name))
    except keyring.errors.PasswordDeleteError:
        return
    except keyring.errors.KeyringError as exc:
        log.warning("cannot delete the API key of endpoint %s: %s", name, type(exc).__name__)
