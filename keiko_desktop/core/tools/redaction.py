"""Redaction: arguments and text with secrets replaced before they reach a log, the DB or a UI.

A value is hidden when its key looks secret (token, password, secret, api_key, authorization,
credential, cookie, private_key…) or when it contains a secret the app knows (values resolved
from the keychain are registered with ``add_secret``).
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"

_SECRET_KEY = re.compile(
    r"(token|passw(or)?d|passphrase|secret|api_?key|authorization|credential|cookie"
    r"|private_?key|bearer|session_?id)",
    re.IGNORECASE,
)
_MIN_SECRET_LENGTH = 4


def is_secret_key(key: str) -> bool:
    """True for names like ``GITHUB_TOKEN``, ``api-key``, ``Authorization``, ``db_password``."""
    return bool(_SECRET_KEY.search(key.replace("-", "_")))


class Redactor:
    """Hides secret-looking keys and known secret values."""

    def __init__(self, secrets: set[str] | None = None) -> None:
        self._secrets: set[str] = set()
        for value in secrets or ():
            self.add_secret(value)

    def add_secret(self, value: str) -> None:
        """Remember ``value`` so it is hidden wherever it appears. Short values are ignored."""
        if len(value) >= _MIN_SECRET_LENGTH:
            self._secrets.add(value)

    def redact_text(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def redact(self, value: Any, key: str | None = None) -> Any:
        """A copy of ``value`` (JSON-like) with secrets replaced by ``[redacted]``."""
        if key is not None and is_secret_key(key) and value not in (None, "", {}, []):
            return REDACTED
        if isinstance(value, dict):
            return {str(k): self.redact(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact(v) for v in value]
        if isinstance(value, str):
            return self.redact_text(value)
        return value
