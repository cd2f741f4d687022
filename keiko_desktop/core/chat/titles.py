"""Short conversation titles made from the first exchange."""

from __future__ import annotations

import re

_FILLER = re.compile(
    r"^(please|hey|hi|hello|keiko|can you|could you|would you|i want you to|tell me)[\s,!:]+",
    re.IGNORECASE,
)


def make_title(
    user_text: str, reply_text: str = "", max_words: int = 7, max_chars: int = 48
) -> str:
    """A title from the user's first message (the reply is used only if that has no words)."""
    source = user_text.strip() or reply_text.strip()
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    line = re.sub(r"[`*#>\[\]]|(?<!\w)_+|_+(?!\w)", "", line)  # markdown, not snake_case
    previous = None
    while previous != line:
        previous, line = line, _FILLER.sub("", line).strip()
    words = line.split()
    if not words:
        return "New chat"
    title = " ".join(words[:max_words]).rstrip(" ?.!,:;")
    if len(title) > max_chars:
        title = title[: max_chars - 1].rstrip() + "…"
    elif len(words) > max_words:
        title += "…"
    return title[0].upper() + title[1:]
