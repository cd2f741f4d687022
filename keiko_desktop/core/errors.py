"""Errors the core raises. Each carries a message a user can act on."""

from __future__ import annotations


class KeikoError(Exception):
    """Base of every error Keiko reports to the user.

    ``hint`` is one line that says what to do about it.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  → {self.hint}" if self.hint else self.message


class SettingsError(KeikoError):
    """The settings file is unreadable, or a key is unknown or of the wrong type."""


class ModelLoadError(KeikoError):
    """A model file is missing, truncated or not a GGUF file."""


class GenerationError(KeikoError):
    """The model failed while producing a reply."""


class StoreError(KeikoError):
    """The database cannot be opened or written (read-only, locked, full, corrupt)."""


class EmptyPromptError(KeikoError):
    """A message with no text was sent."""


class ModelUnavailableError(GenerationError):
    """The model could not be reached before it wrote anything (a remote endpoint refused the
    connection, timed out, was overloaded or failed); a fallback model may answer instead."""


class ReplyInterruptedError(GenerationError):
    """The reply was cut off mid-stream (a remote stream ended early); the text so far is kept
    and the reply is stored ``interrupted`` with this message."""
