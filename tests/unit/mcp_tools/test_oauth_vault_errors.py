"""The keychain's own errors, as the OAuth vault reports them: no keychain at all, and a
keychain that refuses (locked), each a ``SecretStoreError`` naming what it was doing and to
which entry, with what to do."""

from __future__ import annotations

import keyring
import keyring.errors
import pytest
from keyring.backends import fail

from keiko_desktop.core.tools.errors import SecretStoreError
from keiko_desktop.mcp_tools.oauth.vault import KeychainVault
from keiko_desktop.mcp_tools.secrets import NO_BACKEND_HINT
from tests.helpers.memory_keyring import MemoryKeyring


class LockedKeyring(MemoryKeyring):
    """A keychain that is there but refuses every read and write."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringError("it is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringError("it is locked")


def test_no_keychain_is_one_clear_error_for_read_and_write(memory_keyring: MemoryKeyring) -> None:
    keyring.set_keyring(fail.Keyring())  # the conftest fixture puts the previous one back
    vault = KeychainVault()
    for attempt in (lambda: vault.get("oauth.a.tokens"), lambda: vault.set("oauth.a.tokens", "x")):
        with pytest.raises(SecretStoreError) as caught:
            attempt()
        assert caught.value.message == "No system keychain is available for OAuth tokens."
        assert caught.value.hint == NO_BACKEND_HINT


def test_a_refusal_names_what_and_which_entry(memory_keyring: MemoryKeyring) -> None:
    keyring.set_keyring(LockedKeyring())
    vault = KeychainVault()
    with pytest.raises(SecretStoreError) as read:
        vault.get("oauth.a.tokens")
    assert read.value.message == "The keychain refused to read 'oauth.a.tokens': it is locked."
    assert read.value.hint == "Unlock the keychain."
    with pytest.raises(SecretStoreError) as stored:
        vault.set("oauth.a.client", "{}")
    assert stored.value.message == "The keychain refused to store 'oauth.a.client': it is locked."
    assert memory_keyring.store == {}  # nothing reached the real (test) keychain either
