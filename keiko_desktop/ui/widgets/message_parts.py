"""Pieces of a message's display: its numbers, a stored tool call into its card, a stored error
as text."""

from __future__ import annotations

import json
from typing import Any

from keiko_desktop.core.ports import StoredMessage
from keiko_desktop.ui.widgets.tool_card import ToolCard


def meta_text(message: StoredMessage) -> str:
    """``model · 42.0 tok/s · 3.1 s · 120 tokens`` for what is known of a reply."""
    parts: list[str] = []
    if message.model:
        parts.append(message.model)
    if message.tokens_per_second:
        parts.append(f"{message.tokens_per_second:.1f} tok/s")
    if message.duration:
        parts.append(f"{message.duration:.1f} s")
    if message.completion_tokens:
        parts.append(f"{message.completion_tokens} tokens")
    return " · ".join(parts)


def show_tool_call(card: ToolCard, content: str) -> None:
    """Fill ``card`` from a stored ``tool`` message (JSON); unreadable content shows as text."""
    try:
        data: Any = json.loads(content)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        card.set_call("tool", {})
        card.set_result(content, is_error=False, duration=None, decision="")
        return
    arguments = data.get("arguments")
    card.set_call(str(data.get("tool") or "tool"), arguments if isinstance(arguments, dict) else {})
    duration = data.get("duration")
    card.set_result(
        str(data.get("result") or ""),
        is_error=bool(data.get("is_error")),
        duration=float(duration) if isinstance(duration, int | float) else None,
        decision=str(data.get("decision") or "auto"),
    )


def error_text(error: str | None) -> str:
    """A stored error (``message\\n  → hint``) as two plain lines."""
    if not error:
        return "The reply failed. Try again, or pick another model in Settings (Ctrl+,)."
    message, _, hint = error.partition("\n")
    hint = hint.strip().lstrip("→").strip()
    return f"{message}\n{hint}" if hint else message
