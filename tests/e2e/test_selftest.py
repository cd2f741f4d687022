"""`keiko --selftest` as a real subprocess: every check passes with the bundled models, one line
each, and the user's own home is not touched (the checks run in a temporary one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import run_keiko

pytestmark = pytest.mark.model

CHECKS = ("window", "model", "database", "mcp tool", "transcribe", "synthesise")


def test_every_check_passes_in_a_temporary_home(keiko_home: Path) -> None:
    done = run_keiko(keiko_home, "--selftest", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    names = [line[5:16].strip() for line in lines if line.startswith(("ok  ", "FAIL"))]
    assert names == list(CHECKS)
    assert all(line.startswith("ok  ") for line in lines[: len(CHECKS)]), done.stdout
    assert "quick brown fox" in done.stdout.lower()  # the bundled WAV was heard
    assert lines[-1] == f"Self-test passed: {len(CHECKS)} checks."
    assert not keiko_home.exists() or not any(keiko_home.rglob("*"))  # nothing of the user's
