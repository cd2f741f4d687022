"""Mnemonics (Alt+letter) for generated labels, so every field of a form is one key away.

``with_mnemonic`` puts ``&`` before a letter of ``text`` that no other control on the page has
yet: a word's first letter if one is free, else any letter. Without a free letter the text is
left as it is (the field is still reached with Tab).
"""

from __future__ import annotations


def with_mnemonic(text: str, taken: set[str]) -> str:
    """``text`` with an ``&`` before its first free letter, which joins ``taken``."""
    if "&" in text:
        return text
    starts = [i for i, ch in enumerate(text) if ch.isalpha() and (i == 0 or text[i - 1] == " ")]
    rest = [i for i, ch in enumerate(text) if ch.isalpha() and i not in starts]
    for i in (*starts, *rest):
        letter = text[i].lower()
        if letter not in taken:
            taken.add(letter)
            return f"{text[:i]}&{text[i:]}"
    return text


def taken_by(texts: list[str]) -> set[str]:
    """The mnemonic letters these texts already have (``&&`` is a plain ampersand)."""
    taken = set()
    for text in texts:
        at = text.replace("&&", "").find("&")
        if at >= 0 and at + 1 < len(text.replace("&&", "")):
            taken.add(text.replace("&&", "")[at + 1].lower())
    return taken
