from __future__ import annotations

from pathlib import Path

import pytest

from keiko_desktop.core.config import Paths, Settings, describe, load_settings, save_settings
from keiko_desktop.core.errors import SettingsError


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
