"""Text that came from outside Keiko (a tool server, a file, a model, a stored message), made
safe to show.

``printable`` is the one escaping function every place that shows such text uses: the CLI
before it prints, the window before it puts text in a label or a dialog. Control characters
(ESC and the rest of C0, DEL, C1), Unicode format characters (bidi overrides, zero-width
characters) and lone surrogates become visible escapes such as ``\\x1b`` or ``\\u202e``, so
such text can neither drive a terminal (clear the screen, set the title, write the clipboard
with OSC 52, hide a line with ``\\r``) nor disguise itself. Newlines and tabs are kept unless
asked otherwise; ``one_line`` also escapes them, for names and single-line fields.
"""

from __future__ import annotations

import re
import unicodedata

_KEPT = frozenset("\n\t")
# Characters that are never shown raw: C0 (but \n \t), DEL, C1, line/paragraph separators,
# and the format characters that reorder or hide text.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _is_unsafe(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with every control or format character shown as an escape.

    With ``newlines`` (the default) ``\\n`` and ``\\t`` stay as they are; ``\\r`` never does.
    """
    if not text:
        return text
    out = _UNSAFE.sub(lambda m: _escape(m.group()), text)
    if not newlines:
        out = out.replace("\n", "\\n").replace("\t", "\\t")
    if out.isascii():
        return out
    # Other format characters (Cf) the regex does not list, e.g. newer Unicode additions.
    return "".join(
        _escape(c) if not c.isascii() and _is_unsafe(c) and c not in _KEPT else c for c in out
    )


def one_line(text: str, limit: int = 200) -> str:
    """``text`` escaped onto one line and cut to about ``limit`` characters."""
    out = printable(text, newlines=False)
    if len(out) > limit:
        return out[: max(1, limit - 1)] + "…"
    return out
