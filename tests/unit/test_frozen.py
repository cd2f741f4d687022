"""Children of Keiko itself: ``python -m`` from source, ``keiko --run-module`` in a bundle."""

from __future__ import annotations

import subprocess
import sys

import pytest

from keiko_desktop import frozen


def test_from_source_a_child_is_python_dash_m() -> None:
    cmd = frozen.module_command("keiko_desktop.llm.cpu_probe", "scores")
    assert cmd == [sys.executable, "-m", "keiko_desktop.llm.cpu_probe", "scores"]


def test_in_a_bundle_a_child_is_the_executable_with_run_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    cmd = frozen.module_command("keiko_desktop.llm.cpu_probe", "scores")
    assert cmd == [sys.executable, "--run-module", "keiko_desktop.llm.cpu_probe", "scores"]


def test_only_keikos_child_modules_run() -> None:
    with pytest.raises(ValueError, match="os"):
        frozen.module_command("os")
    assert frozen.run_child_module(["keiko", "ask", "hi"]) is None


def test_the_entry_point_runs_a_child_module_and_refuses_others() -> None:
    """What a bundle does, through the real entry point: the probe's ``scores`` child."""
    entry = [sys.executable, "-m", "keiko_desktop", "--run-module"]
    done = subprocess.run(
        [*entry, "keiko_desktop.llm.cpu_probe", "scores"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("{")
    refused = subprocess.run(
        [*entry, "http.server"], capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 2
    assert "cannot be run" in refused.stderr
