"""Settings and Paths.

Every setting is declared once, in ``SETTINGS``, with its type, default and description. The file
is TOML in the user config dir (``settings.toml``). ``KEIKO_HOME`` moves config, data and cache
under one folder. An unknown key or a value of the wrong type is a ``SettingsError`` that names
the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from keiko_desktop.core.errors import SettingsError

APP_NAME = "keiko-desktop"
SETTINGS_FILE = "settings.toml"


@dataclass(frozen=True)
class Paths:
    """Where Keiko keeps its files."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @classmethod
    def from_env(cls) -> Paths:
        home = os.environ.get("KEIKO_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(root / "config", root / "data", root / "cache")
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME)),
            Path(platformdirs.user_data_dir(APP_NAME)),
            Path(platformdirs.user_cache_dir(APP_NAME)),
        )

    @property
    def settings_file(self) -> Path:
        return self.config_dir / SETTINGS_FILE

    @property
    def database(self) -> Path:
        return self.data_dir / "keiko.sqlite3"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def ensure(self) -> None:
        for d in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)


def _meta(description: str) -> dict[str, str]:
    return {"description": description}


@dataclass(frozen=True)
class Settings:
    """The user's settings. Field metadata holds each setting's description."""

    model: str = field(
        default="", metadata=_meta("Model name or GGUF path; empty means the bundled default.")
    )
    extra_models: tuple[str, ...] = field(
        default=(), metadata=_meta("GGUF files the user added by path.")
    )
    temperature: float = field(default=0.7, metadata=_meta("Sampling temperature, 0 to 2."))
    max_tokens: int = field(default=512, metadata=_meta("Longest reply, in tokens."))
    context_size: int = field(default=4096, metadata=_meta("Model context window, in tokens."))
    threads: int = field(default=0, metadata=_meta("CPU threads for inference; 0 picks one."))
    system_prompt: str = field(
        default="You are Keiko, a helpful, concise assistant running on the user's computer.",
        metadata=_meta("System prompt at the start of every new chat."),
    )
    theme: str = field(default="system", metadata=_meta("system, light or dark."))
    tools_in_chat: bool = field(
        default=False,
        metadata=_meta(
            "Let the model call tools (MCP servers) in chat, when the model can. Off by default:"
            " tool steps are grammar-constrained and slow on small CPUs, and do not stream."
        ),
    )
    tool_approval_timeout: float = field(
        default=120.0,
        metadata=_meta("Seconds to wait for an answer to a tool's approval before denying it."),
    )
    tool_max_steps: int = field(
        default=4, metadata=_meta("Most tool calls the model may make for one reply.")
    )

    def validate(self) -> Settings:
        if not 0.0 <= self.temperature <= 2.0:
            raise SettingsError(
                f"Setting 'temperature' is {self.temperature}; it must be between 0 and 2.",
                "Edit the value in settings.toml.",
            )
        for key in ("max_tokens", "context_size"):
            if getattr(self, key) < 16:
                raise SettingsError(
                    f"Setting '{key}' is {getattr(self, key)}; it must be at least 16.",
                    "Edit the value in settings.toml.",
                )
        if self.threads < 0:
            raise SettingsError("Setting 'threads' must be 0 or more.", "Use 0 for automatic.")
        if self.tool_approval_timeout <= 0:
            raise SettingsError(
                "Setting 'tool_approval_timeout' must be more than 0 seconds.",
                "Edit the value in settings.toml.",
            )
        if self.tool_max_steps < 1:
            raise SettingsError(
                "Setting 'tool_max_steps' must be at least 1.", "Edit the value in settings.toml."
            )
        if self.theme not in ("system", "light", "dark"):
            raise SettingsError(
                f"Setting 'theme' is {self.theme!r}; use 'system', 'light' or 'dark'.",
                "Edit the value in settings.toml.",
            )
        return self

    def effective_threads(self) -> int:
        """Threads for inference: the setting, or all cores up to 4 and one left free above."""
        if self.threads:
            return self.threads
        cores = os.cpu_count() or 1
        return cores if cores <= 4 else min(8, cores - 1)

    def with_changes(self, **changes: Any) -> Settings:
        return _from_mapping({**_to_mapping(self), **changes}, source="changes")


_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


def _coerce(key: str, declared: str, value: Any, source: str) -> Any:
    if declared.startswith("tuple"):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise SettingsError(
                f"Setting '{key}' in {source} must be a list of strings, not {value!r}.",
                f"Fix or remove '{key}' in {source}.",
            )
        return tuple(value)
    want = _TYPES[declared]
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise SettingsError(
            f"Setting '{key}' in {source} must be {declared}, not {type(value).__name__} "
            f"({value!r}).",
            f"Fix or remove '{key}' in {source}.",
        )
    return value


def _from_mapping(data: dict[str, Any], source: str) -> Settings:
    declared = {f.name: str(f.type) for f in fields(Settings)}
    values = {}
    for key, value in data.items():
        if key not in declared:
            known = ", ".join(sorted(declared))
            raise SettingsError(
                f"Unknown setting '{key}' in {source}.",
                f"Remove it or use one of: {known}.",
            )
        values[key] = _coerce(key, declared[key], value, source)
    return replace(Settings(), **values).validate()


def _to_mapping(settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def describe() -> list[tuple[str, str, Any]]:
    """(key, description, default) for every setting, for help texts and dialogs."""
    defaults = Settings()
    return [
        (f.name, f.metadata["description"], getattr(defaults, f.name)) for f in fields(Settings)
    ]


def load_settings(paths: Paths) -> Settings:
    """Read settings.toml; a missing file gives the defaults."""
    path = paths.settings_file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise SettingsError(
            f"Cannot read {path}: {exc.strerror}.", "Check its permissions."
        ) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"{path} is not valid TOML: {exc}.", "Fix the file, or delete it to use the defaults."
        ) from exc
    return _from_mapping(data, source=str(path))


def save_settings(paths: Paths, settings: Settings) -> None:
    """Write settings.toml atomically, so a crash never leaves half a file."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    tmp = paths.settings_file.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(_to_mapping(settings)), encoding="utf-8")
    os.replace(tmp, paths.settings_file)
