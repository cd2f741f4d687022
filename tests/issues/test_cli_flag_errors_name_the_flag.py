"""Regression (issue 9, item 12a): a bad command-line value blamed settings.toml.

``keiko ask --max-tokens 8 hi`` said "Fix 'max_tokens' under [chat] in settings.toml", though
the value came from the flag. The error now names the flag and how to give it; a bad value in
the file still names the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keiko_desktop.core.config import SETTINGS, Settings
from keiko_desktop.core.errors import SettingsError
from tests.helpers.cli import run_keiko, write_settings


def test_a_flag_value_out_of_range_names_the_flag(keiko_home: Path) -> None:
    result = run_keiko(keiko_home, "ask", "--max-tokens", "8", "hello", timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "--max-tokens" in result.stderr
    assert "16" in result.stderr
    assert "32768" in result.stderr
    assert "settings.toml" not in result.stderr


def test_a_temperature_flag_names_the_flag(keiko_home: Path) -> None:
    result = run_keiko(keiko_home, "ask", "--temperature", "5", "hello", timeout=60)
    assert result.returncode == 1
    assert "--temperature" in result.stderr
    assert "settings.toml" not in result.stderr


def test_the_same_value_in_the_file_still_names_the_file(keiko_home: Path) -> None:
    write_settings(keiko_home, schema_version=2, chat={"max_tokens": 8})
    result = run_keiko(keiko_home, "ask", "hello", timeout=60)
    assert result.returncode == 1
    assert "settings.toml" in result.stderr
    assert "--max-tokens" not in result.stderr


def test_check_phrases_the_hint_for_a_flag_or_for_the_file() -> None:
    spec = SETTINGS["max_tokens"]
    with pytest.raises(SettingsError) as flag:
        spec.check(8, flag="--max-tokens")
    assert "--max-tokens" in flag.value.message
    assert "--max-tokens" in flag.value.hint
    assert "leave it out" in flag.value.hint
    assert "settings.toml" not in str(flag.value)
    with pytest.raises(SettingsError) as file:
        spec.check(8, "settings.toml")
    assert "'max_tokens' in [chat]" in file.value.message
    assert "settings.toml" in file.value.hint
    assert Settings().with_flags({"max_tokens": ("--max-tokens", 64)}).max_tokens == 64
