"""Test-wide fixtures: every test gets its own KEIKO_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from keiko_desktop.core.config import Paths


@pytest.fixture(autouse=True)
def keiko_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point KEIKO_HOME at a temp dir so no test touches the user's files."""
    home = tmp_path / "keiko-home"
    monkeypatch.setenv("KEIKO_HOME", str(home))
    return home


@pytest.fixture
def paths(keiko_home: Path) -> Paths:
    p = Paths.from_env()
    p.ensure()
    return p
