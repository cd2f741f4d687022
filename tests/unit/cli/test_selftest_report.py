"""`keiko --selftest`'s report: a failing check is its own FAIL line with the reason and the
exit status is 1; the temporary home is removed and the environment restored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keiko_desktop.cli import selftest
from keiko_desktop.core.errors import KeikoError


def test_a_failing_check_is_reported_and_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    homes: list[str] = []

    def window() -> str:
        homes.append(os.environ["KEIKO_HOME"])
        raise KeikoError("No display plugin.", "Reinstall Keiko.")

    async def core_checks(report: object) -> None:
        assert callable(report)
        report(await selftest._atimed("model", _ok))
        report(await selftest._atimed("database", _boom))

    async def _ok() -> str:
        return "fine"

    async def _boom() -> str:
        raise RuntimeError("disk I/O error")

    monkeypatch.setenv("KEIKO_HOME", str(tmp_path / "mine"))
    monkeypatch.setattr(selftest, "_window", window)
    monkeypatch.setattr(selftest, "_core_checks", core_checks)
    assert selftest.run_selftest() == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("FAIL window ")
    assert "No display plugin. Reinstall Keiko." in lines[0]
    assert lines[1].startswith("ok   model       fine")
    assert lines[2].startswith("FAIL database ")
    assert "disk I/O error" in lines[2]
    assert err.strip() == "Self-test failed: window, database."
    assert homes
    assert homes[0] != str(tmp_path / "mine")  # a temporary home, not the user's
    assert not Path(homes[0]).exists()  # removed after
    assert os.environ["KEIKO_HOME"] == str(tmp_path / "mine")  # restored
