"""Redaction: arguments and text with secrets replaced before they reach a log, the DB or a UI.

A value is hidden when its key looks secret (token, password, secret, api_key, authorization,
credential, cookie, private_key…) or when it contains a secret the app knows (values resolved
from the keychain are registered with ``add_secret``).
"""

from __future__ import annotations

import logging
import re
import traceback
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
        # Longest first; replaced whole (never mutated) so other threads (a server's stderr
        # copier, logging) can read it while the loop adds a secret.
        self._secrets: tuple[str, ...] = ()
        for value in secrets or ():
            self.add_secret(value)

    def add_secret(self, value: str) -> None:
        """Remember ``value`` so it is hidden wherever it appears. Short values are ignored."""
        if len(value) >= _MIN_SECRET_LENGTH and value not in self._secrets:
            self._secrets = tuple(sorted({*self._secrets, value}, key=len, reverse=True))

    def redact_text(self, text: str) -> str:
        for secret in self._secrets:
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


class RedactingFilter(logging.Filter):
    """Hides the redactor's secrets in every record a handler writes (message and traceback)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken format string: logging reports it itself
        redacted = self.redactor.redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redactor.redact_text(record.exc_text)
        return True


def redact_logs(redactor: Redactor, logger: logging.Logger | None = None) -> None:
    """Put a ``RedactingFilter`` for ``redactor`` on every handler of ``logger`` (the root)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(
            isinstance(f, RedactingFilter) and f.redactor is redactor for f in handler.filters
        ):
            handler.addFilter(RedactingFilter(redactor))


def stop_redacting_logs(redactor: Redactor, logger: logging.Logger | None = None) -> None:
    """Take ``redactor``'s filters off again (its tool system closed)."""
    for handler in (logger or logging.getLogger()).handlers:
        for f in list(handler.filters):
            if isinstance(f, RedactingFilter) and f.redactor is redactor:
                handler.removeFilter(f)
