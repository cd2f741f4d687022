from __future__ import annotations

import pytest

from keiko_desktop.core.chat.titles import make_title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the capital of France?", "What is the capital of France"),
        ("hey keiko, can you explain Python decorators", "Explain Python decorators"),
        ("# Summarise\nthis text please", "Summarise"),
        ("rename my_var to **count** and _why_", "Rename my_var to count and why"),
        (
            "please write a haiku about autumn leaves falling slowly in the park",
            "Write a haiku about autumn leaves falling…",
        ),
    ],
)
def test_titles(text: str, expected: str) -> None:
    assert make_title(text) == expected


def test_long_word_is_cut() -> None:
    title = make_title("x" * 200)
    assert len(title) <= 48
    assert title.endswith("…")


def test_empty_falls_back() -> None:
    assert make_title("   ", "") == "New chat"
    assert make_title("", "Paris is the capital.") == "Paris is the capital"
