from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from keiko_desktop.core import settings_file
from keiko_desktop.core.config import (
    SECTIONS,
    SETTINGS,
    Effect,
    Paths,
    Setting,
    Settings,
    changed_keys,
    default_of,
    describe,
    keys_with_effect,
    load_settings,
    needs_model_reload,
    save_settings,
    settings_in,
)
from keiko_desktop.core.errors import SettingsError
from keiko_desktop.core.settings_file import SCHEMA_VERSION


def test_keiko_home_moves_every_dir(keiko_home: Path) -> None:
    paths = Paths.from_env()
    assert paths.config_dir == keiko_home / "config"
    assert paths.data_dir == keiko_home / "data"
    assert paths.cache_dir == keiko_home / "cache"
    assert paths.database.parent == paths.data_dir


def test_missing_file_gives_defaults(paths: Paths) -> None:
    assert load_settings(paths) == Settings()


def test_round_trip(paths: Paths) -> None:
    changed = Settings().with_changes(temperature=0.2, max_tokens=64, extra_models=["/m/a.gguf"])
    save_settings(paths, changed)
    loaded = load_settings(paths)
    assert loaded == changed
    assert loaded.extra_models == ("/m/a.gguf",)


def test_int_is_accepted_for_float(paths: Paths) -> None:
    paths.settings_file.write_text("temperature = 1\n")
    assert load_settings(paths).temperature == 1.0


def test_unknown_key_is_named(paths: Paths) -> None:
    paths.settings_file.write_text('temprature = 0.3\nmodel = ""\n')
    with pytest.raises(SettingsError, match="temprature") as info:
        load_settings(paths)
    assert "temperature" in info.value.hint  # the hint lists the real keys


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('max_tokens = "many"', "max_tokens"),
        ("max_tokens = true", "max_tokens"),
        ("temperature = 7.5", "temperature"),
        ('theme = "purple"', "theme"),
        ("extra_models = [1, 2]", "extra_models"),
        ("context_size = 4", "context_size"),
    ],
)
def test_mistyped_or_invalid_value_names_the_key(paths: Paths, line: str, key: str) -> None:
    paths.settings_file.write_text(line + "\n")
    with pytest.raises(SettingsError, match=key):
        load_settings(paths)


def test_broken_toml_is_a_clear_error(paths: Paths) -> None:
    paths.settings_file.write_text("model = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(paths)


def test_describe_covers_every_setting() -> None:
    keys = {key for key, _, _ in describe()}
    assert keys == set(Settings.__dataclass_fields__)
    assert all(description for _, description, _ in describe())


def test_save_is_atomic_and_leaves_no_temp(paths: Paths) -> None:
    save_settings(paths, Settings())
    assert [p.name for p in paths.config_dir.iterdir()] == ["settings.toml"]


# ---------------------------------------------------------------------- the declaration


def _bad_values(spec: Setting) -> list[Any]:
    """Values each declared bound must refuse (wrong type first)."""
    wrong_type: Any = "text" if spec.kind is not str else 5
    bad: list[Any] = [wrong_type]
    if spec.numeric:
        low, high = spec.bounds
        step = 1 if spec.kind is int else 0.01
        bad += [spec.kind(low - step), spec.kind(high + step)]
    if spec.choices and spec.kind is tuple:  # a list of choices: an unknown one, or one twice
        bad += [("not-" + spec.choices[0],), (spec.choices[0], spec.choices[0])]
    elif spec.choices:
        bad.append("not-" + spec.choices[0])
    if spec.kind is str and spec.maximum is not None:
        bad.append("x" * (int(spec.maximum) + 1))
    if spec.kind is str and spec.minimum:
        bad.append("")
    return bad


def _good_values(spec: Setting) -> list[Any]:
    """Values at each declared bound, which must pass."""
    if spec.numeric:
        return [spec.kind(b) for b in spec.bounds]
    if spec.choices and spec.kind is tuple:  # any of them, in any order
        return [(), spec.choices, tuple(reversed(spec.choices))]
    if spec.choices:
        return list(spec.choices)
    if spec.kind is str:
        return ["x" * int(spec.maximum or 40), "x" * int(spec.minimum or 0)]
    if spec.kind is bool:
        return [True, False]
    return [(), ("/m/a.gguf", "/m/b.gguf")]


@pytest.mark.parametrize("key", list(SETTINGS))
def test_validate_follows_each_declared_bound(key: str) -> None:
    spec = SETTINGS[key]
    for value in _good_values(spec):
        assert getattr(replace(Settings(), **{key: value}).validate(), key) == value
    for value in _bad_values(spec):
        with pytest.raises(SettingsError, match=rf"'{key}' in \[{spec.section}\]"):
            replace(Settings(), **{key: value}).validate()
        with pytest.raises(SettingsError, match=key):
            Settings().with_changes(**{key: value})


def test_every_setting_is_declared_with_a_section_label_and_bounds() -> None:
    section_names = {s.name for s in SECTIONS}
    assert {"chat", "model", "tools", "voice", "agents", "tasks", "endpoints"} <= section_names
    assert list(SETTINGS) == list(Settings.__dataclass_fields__)
    for spec in SETTINGS.values():
        assert spec.section in section_names
        assert spec.label
        assert spec.description
        assert getattr(Settings(), spec.key) == spec.default
        if spec.numeric:
            low, high = spec.bounds
            assert low <= spec.default <= high
    assert [s.key for s in settings_in("endpoints")] == ["serve_port"]
    assert all(s.key.startswith("voice_") for s in settings_in("voice"))


def test_new_settings_are_declared() -> None:
    retention = SETTINGS["deleted_retention_days"]
    assert (retention.section, retention.kind, retention.default) == ("chat", int, 30)
    assert retention.bounds == (0, 3650)
    backend = SETTINGS["cpu_backend"]
    assert (backend.section, backend.kind, backend.default) == ("model", str, "auto")
    assert backend.effect is Effect.RESTART  # a process loads one llama.cpp CPU variant


def test_tool_defaults_come_from_the_declaration() -> None:
    from keiko_desktop.core.agents.runner import DEFAULT_MAX_STEPS
    from keiko_desktop.core.tools.approvals import DEFAULT_APPROVAL_TIMEOUT

    assert DEFAULT_APPROVAL_TIMEOUT == default_of("tool_approval_timeout") == 120.0
    assert DEFAULT_MAX_STEPS == default_of("tool_max_steps") == 4


def test_what_reloads_the_model_is_declared() -> None:
    reloading = set(keys_with_effect(Effect.RELOAD_MODEL))
    assert reloading == {"model", "context_size", "threads"}
    for key in SETTINGS:
        assert needs_model_reload({key}) is (key in reloading)
    assert not needs_model_reload(set())
    old = Settings()
    assert changed_keys(old, old.with_changes(temperature=0.1, threads=2)) == {
        "temperature",
        "threads",
    }


# ---------------------------------------------------------------------- the file


def test_file_has_schema_version_and_sections(paths: Paths) -> None:
    save_settings(paths, Settings().with_changes(temperature=0.2))
    data = tomllib.loads(paths.settings_file.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["chat"]["temperature"] == 0.2
    assert set(data) == {"schema_version"} | {s.section for s in SETTINGS.values()}
    for spec in SETTINGS.values():
        assert spec.key in data[spec.section]


OLD_FLAT_FILE = """\
model = "/models/Qwen.gguf"
extra_models = ["/models/Qwen.gguf", "/models/Other.gguf"]
temperature = 1
max_tokens = 200
context_size = 2048
threads = 3
system_prompt = "Answer in one sentence."
theme = "dark"
tools_in_chat = true
tool_approval_timeout = 30.0
tool_max_steps = 2
"""


def test_old_flat_file_is_migrated_keeping_every_value(paths: Paths) -> None:
    paths.settings_file.write_text(OLD_FLAT_FILE)
    flat = tomllib.loads(OLD_FLAT_FILE)

    loaded = load_settings(paths)

    for key, value in flat.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(loaded, key) == expected, key
    assert loaded.deleted_retention_days == default_of("deleted_retention_days")
    backup = paths.config_dir / "settings.toml.bak"
    assert backup.read_text() == OLD_FLAT_FILE  # the old file, byte for byte
    data = tomllib.loads(paths.settings_file.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert set(data) - {"schema_version"} <= {s.name for s in SECTIONS}
    for key, value in flat.items():
        assert data[SETTINGS[key].section][key] == value, key
    assert all(isinstance(v, dict) for k, v in data.items() if k != "schema_version")
    assert load_settings(paths) == loaded  # the new file reads the same
    assert sorted(p.name for p in paths.config_dir.iterdir()) == [
        "settings.toml",
        "settings.toml.bak",
    ]  # no second backup


def test_migration_never_overwrites_an_earlier_backup(paths: Paths) -> None:
    (paths.config_dir / "settings.toml.bak").write_text("mine")
    paths.settings_file.write_text("temperature = 0.3\n")
    assert load_settings(paths).temperature == 0.3
    assert (paths.config_dir / "settings.toml.bak").read_text() == "mine"
    assert (paths.config_dir / "settings.toml.bak.1").read_text() == "temperature = 0.3\n"


def test_a_bad_old_file_is_not_rewritten(paths: Paths) -> None:
    paths.settings_file.write_text("temprature = 0.3\n")
    with pytest.raises(SettingsError, match="temprature"):
        load_settings(paths)
    assert paths.settings_file.read_text() == "temprature = 0.3\n"
    assert not (paths.config_dir / "settings.toml.bak").exists()


def test_settings_load_when_the_migrated_file_cannot_be_written(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(settings_file, "_write", refuse)
    paths.settings_file.write_text("max_tokens = 99\n")
    assert load_settings(paths).max_tokens == 99
    assert paths.settings_file.read_text() == "max_tokens = 99\n"
    assert "could not rewrite" in caplog.text


def test_a_failed_save_is_a_settings_error(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(settings_file.os, "replace", full)
    with pytest.raises(SettingsError, match="Cannot save"):
        save_settings(paths, Settings())


@pytest.mark.parametrize(
    ("text", "named", "hint"),
    [
        ("[chat]\ntemprature = 0.3\n", r"'temprature' in \[chat\]", "temperature"),
        ("[chat]\ncontext_size = 512\n", r"'context_size' in \[chat\]", "[model]"),
        ("[voice]\nvoice = 'amy'\n", r"'voice' in \[voice\]", "voice_tts_voice"),
        ("[endpoints]\nurl = 'x'\n", r"'url' in \[endpoints\]", "serve_port"),
        ("[colour]\ntheme = 'dark'\n", r"section \[colour\]", "appearance"),
        ("temperature = 0.3\n", "'temperature'", "[chat]"),
        ('[chat]\nmax_tokens = "many"\n', r"'max_tokens' in \[chat\]", "[chat]"),
        ("[appearance]\ntheme = 'purple'\n", r"'theme' in \[appearance\]", "theme"),
    ],
)
def test_unknown_misplaced_or_bad_key_in_a_section_is_named(
    paths: Paths, text: str, named: str, hint: str
) -> None:
    paths.settings_file.write_text(f"schema_version = {SCHEMA_VERSION}\n" + text)
    with pytest.raises(SettingsError, match=named) as info:
        load_settings(paths)
    assert hint in info.value.hint


def test_a_file_from_a_newer_keiko_is_refused(paths: Paths) -> None:
    paths.settings_file.write_text(f"schema_version = {SCHEMA_VERSION + 1}\n")
    with pytest.raises(SettingsError, match="newer Keiko"):
        load_settings(paths)
