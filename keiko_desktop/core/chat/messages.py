"""What a user's message must be, and what a tool step is stored as."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from keiko_desktop.core.errors import EmptyPromptError, KeikoError

if TYPE_CHECKING:
    from keiko_desktop.core.agents.runner import ToolStep

TOOL_RESULT_CHARS = 4_000
"""The most of a tool's result kept in its ``tool`` message (what the window shows)."""


def check_prompt(text: str) -> None:
    """Refuse a message with no text, or one that is not text at all: lone surrogates (what
    Python makes of invalid UTF-8 bytes in argv or a file) cannot be stored or tokenized."""
    if not text.strip():
        raise EmptyPromptError("The message is empty.", "Type something to send.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise KeikoError(
            f"The message is not valid text: character {exc.start + 1} is not a Unicode "
            "character (invalid UTF-8 bytes?).",
            "Send it as UTF-8 text (check the terminal's or the file's encoding).",
        ) from exc


def tool_message_content(step: ToolStep, redacted_arguments: dict[str, Any]) -> str:
    """A ``tool`` message's content: one call and its result, as JSON (secrets hidden)."""
    result = step.result
    text = result.text
    if len(text) > TOOL_RESULT_CHARS:
        text = text[:TOOL_RESULT_CHARS] + f"\n[{len(text) - TOOL_RESULT_CHARS} more characters]"
    return json.dumps(
        {
            "tool": step.name,
            "arguments": redacted_arguments,
            "result": text,
            "duration": result.duration,
            "is_error": result.is_error,
            "decision": result.decision,
        },
        ensure_ascii=False,
        default=str,
    )
