"""safe_text: the one escaping function for text that is not Keiko's."""

from __future__ import annotations

import pytest

from keiko_desktop.core.safe_text import one_line, printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),
        ("a\rb", "a\\x0db"),
        ("\x9b31m", "\\x9b31m"),  # C1 CSI
        ("\x7f", "\\x7f"),
        ("safe\u202eexe.txt", "safe\\u202eexe.txt"),  # right-to-left override
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("bad\udcffbyte", "bad\\udcffbyte"),  # what invalid UTF-8 becomes in argv
        ("line one\nline two\tend", "line one\nline two\tend"),
        ("héllo wörld — 日本語 😀", "héllo wörld — 日本語 😀"),
    ],
)
def test_printable_escapes_what_could_drive_or_disguise(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_one_line_escapes_newlines_and_cuts() -> None:
    assert one_line("a\nb\tc") == "a\\nb\\tc"
    assert one_line("x" * 50, limit=10) == "x" * 9 + "…"
    assert "\n" not in one_line("evil\nfiles.read_file [always]")
