"""Regression (issue 9, item 11): ``threads`` was bounded only by its declaration.

``threads = 100000`` reached libgomp and aborted the process; the declaration now stops it at
256, but 256 threads on 2 cores still went to llama.cpp as they were. The threads used are
capped at the machine's cores, and ``keiko doctor`` says so with the value that will be used.
"""

from __future__ import annotations

import os

import pytest

from keiko_desktop.cli.doctor import check_threads
from keiko_desktop.core.config import SETTINGS, Settings
from keiko_desktop.core.errors import SettingsError


def test_threads_above_the_cores_are_capped_at_the_cores() -> None:
    assert Settings(threads=256).effective_threads(cores=2) == 2
    assert Settings(threads=3).effective_threads(cores=2) == 2
    assert Settings(threads=2).effective_threads(cores=8) == 2


def test_the_cap_uses_the_machine_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert Settings(threads=256).effective_threads() == 2
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one core
    assert Settings(threads=256).effective_threads() == 1


def test_automatic_threads_are_unchanged() -> None:
    assert Settings(threads=0).effective_threads(cores=2) == 2
    assert Settings(threads=0).effective_threads(cores=4) == 4
    assert Settings(threads=0).effective_threads(cores=16) == 8


def test_the_declaration_stays_the_outer_limit() -> None:
    assert SETTINGS["threads"].bounds == (0, 256)
    with pytest.raises(SettingsError):
        Settings().with_changes(threads=100000)


def test_doctor_flags_threads_above_the_cores() -> None:
    check = check_threads(Settings(threads=64), cores=2)
    assert check.level == "warn"
    assert "64" in check.detail
    assert "2 cores" in check.detail
    assert "2 will be used" in check.detail
    assert "threads" in check.fix
    assert "at most 2" in check.fix
    assert check_threads(Settings(threads=2), cores=2).level == "ok"
    assert check_threads(Settings(threads=0), cores=2).level == "ok"
