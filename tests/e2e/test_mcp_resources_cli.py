"""`keiko mcp resources|read|prompts|prompt` as a person runs them, against the real
resources test server over stdio: listings, reads (text, bytes to a file), prompts with
positional and name=value arguments, clear errors, and escaped server text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import run_keiko
from tests.helpers.mcp_servers.resources_server import configure, tiny_png


@pytest.fixture
def home(keiko_home: Path) -> Path:
    configure(keiko_home)
    return keiko_home


def test_resources_lists_resources_and_templates_escaped(home: Path) -> None:
    done = run_keiko(home, "mcp", "resources", "docs", timeout=90)
    assert done.returncode == 0, done.stderr
    assert "docs  docs://readme  Read me  (text/markdown)" in done.stdout
    assert "docs://pages/{page}  page  (template)" in done.stdout
    assert "\x1b" not in done.stdout
    assert "\u202e" not in done.stdout
    assert "\\x1b]0;pwned" in done.stdout  # shown, escaped


def test_read_text_bytes_and_errors(home: Path, tmp_path: Path) -> None:
    done = run_keiko(home, "mcp", "read", "docs", "docs://readme", timeout=90)
    assert done.returncode == 0, done.stderr
    assert "zebra manual" in done.stdout
    evil = run_keiko(home, "mcp", "read", "docs", "docs://evil", timeout=90)
    assert "before\\x1b[2Jafter" in evil.stdout
    out = tmp_path / "logo.png"
    saved = run_keiko(home, "mcp", "read", "docs", "docs://logo.png", "--out", str(out))
    assert saved.returncode == 0, saved.stderr
    assert out.read_bytes() == tiny_png()
    missing = run_keiko(home, "mcp", "read", "docs", "docs://nope", timeout=90)
    assert missing.returncode == 1
    assert "refused reading docs://nope" in missing.stderr


def test_prompts_and_running_one(home: Path) -> None:
    listed = run_keiko(home, "mcp", "prompts", timeout=90)
    assert listed.returncode == 0, listed.stderr
    assert "/docs.review topic=… [style=…]  Review a topic" in listed.stdout
    done = run_keiko(home, "mcp", "prompt", "docs", "review", "speed", "style=calm", timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "user: Please review speed in a calm way.",
        "assistant: I will look at the read-me first.",
    ]
    assert "[resource docs://pages/intro" in done.stdout
    bad = run_keiko(home, "mcp", "prompt", "docs", "review", timeout=90)
    assert bad.returncode == 2
    assert "/docs.review needs topic" in bad.stderr
    unknown = run_keiko(home, "mcp", "prompt", "docs", "nothing", timeout=90)
    assert unknown.returncode == 2
    assert "has no prompt named nothing" in unknown.stderr
