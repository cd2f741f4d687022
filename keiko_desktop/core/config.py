"""Settings and Paths.

Every setting is declared once, as a field of ``Settings`` made with ``setting()``: its type (the
annotation), default, section, label, description, ``Effect`` (applies at once, reloads the
model, applies at the next start) and bounds (numbers: ``minimum``..``maximum``; text:
``choices`` or a length). ``SETTINGS`` is that declaration by key. ``Settings.validate``, the
Settings dialog (ranges, choices, labels, help) and what reloads the model are read from it.

The file is ``settings.toml`` in the user config dir: a top-level ``schema_version`` and one table
per section (``[chat]``, ``[model]``, ...; ``SECTIONS``), each key under its own section.
``settings_file.py`` reads, migrates and writes it. ``KEIKO_HOME`` moves config, data and cache
under one folder. An unknown key, or a value of the wrong type or out of bounds, is a
``SettingsError`` that names the key and its section.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from keiko_desktop.core.errors import SettingsError
from keiko_desktop.core.setting_decl import KINDS
from keiko_desktop.core.setting_decl import Effect as Effect
from keiko_desktop.core.setting_decl import Section as Section
from keiko_desktop.core.setting_decl import Setting as Setting
from keiko_desktop.core.setting_decl import setting as setting

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
        """Create Keiko's folders owner-only (0700), tightening ones an older Keiko made 0755."""
        from keiko_desktop.core.private_files import private_dir

        for d in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            private_dir(d)


# ---------------------------------------------------------------------- the declaration

SECTIONS: tuple[Section, ...] = (
    Section("chat", "Chat"),
    Section("model", "Model"),
    Section("tools", "Tools"),
    Section("appearance", "Appearance"),
    Section("voice", "Voice"),
    Section("agents", "Agents"),
    Section("tasks", "Tasks"),
    Section("files", "Files"),
    Section("desktop", "Desktop"),
    Section("endpoints", "Endpoints"),
)
SECTION_NAMES: tuple[str, ...] = tuple(s.name for s in SECTIONS)

AGENT_MIDDLEWARE: tuple[str, ...] = (
    "logging",
    "tracing",
    "budget",
    "audit",
    "allowlist",
    "validation",
    "cache",
    "approval",
    "timeout",
    "timing",
)
"""Every middleware of a run, in the default order, outermost first (``core/agents/middleware``):
audit sits outside the allowlist, validation, the cache and approval so every call is
recorded, refused or not; the timeout inside approval so waiting for the user is not the tool
taking long; timing is innermost (the tool's own duration)."""


@dataclass(frozen=True)
class Settings:
    """The user's settings: flat attributes, each declared (with its section) by ``setting()``."""

    model: str = setting(
        "model",
        "",
        "Model",
        "Model name or GGUF path; empty means the bundled default.",
        effect=Effect.RELOAD_MODEL,
        maximum=4096,
    )
    extra_models: tuple[str, ...] = setting(
        "model", (), "Added models", "GGUF files the user added by path."
    )
    temperature: float = setting(
        "chat", 0.7, "Temperature", "Sampling temperature, 0 to 2.", minimum=0.0, maximum=2.0
    )
    max_tokens: int = setting(
        "chat", 512, "Max reply length", "Longest reply, in tokens.", minimum=16, maximum=32768
    )
    context_size: int = setting(
        "model",
        4096,
        "Context size",
        "Model context window, in tokens.",
        effect=Effect.RELOAD_MODEL,
        minimum=16,
        maximum=262144,
    )
    threads: int = setting(
        "model",
        0,
        "CPU threads",
        "CPU threads for inference; 0 picks one.",
        effect=Effect.RELOAD_MODEL,
        minimum=0,
        maximum=256,
    )
    system_prompt: str = setting(
        "chat",
        "You are Keiko, a helpful, concise assistant running on the user's computer.",
        "System prompt",
        "System prompt at the start of every new chat.",
        maximum=20000,
    )
    theme: str = setting(
        "appearance",
        "system",
        "Theme",
        "system, light or dark.",
        choices=("system", "light", "dark"),
    )
    tools_in_chat: bool = setting(
        "tools",
        False,
        "Tools in chat",
        "Let the model call tools (MCP servers) in chat, when the model can. Off by default:"
        " tool steps are grammar-constrained and slow on small CPUs, and do not stream.",
    )
    tool_approval_timeout: float = setting(
        "tools",
        120.0,
        "Approval timeout",
        "Seconds to wait for an answer to a tool's approval before denying it.",
        minimum=1.0,
        maximum=3600.0,
    )
    tool_max_steps: int = setting(
        "tools",
        4,
        "Most tool calls",
        "Most tool calls the model may make for one reply.",
        minimum=1,
        maximum=32,
    )
    mcp_log_level: str = setting(
        "tools",
        "info",
        "Server log level",
        "The least severe log line a tool server sends while it works (shown on the tool"
        " call and kept in logs/mcp-NAME.log).",
        effect=Effect.RESTART,
        choices=("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"),
    )
    deleted_retention_days: int = setting(
        "chat",
        30,
        "Keep deleted chats",
        "Deleted chats are purged after this many days (0: keep them until the trash is"
        " emptied by hand).",
        effect=Effect.RESTART,
        minimum=0,
        maximum=3650,
    )
    cpu_backend: str = setting(
        "model",
        "auto",
        "CPU backend",
        "llama.cpp CPU variant: auto (probed) or a variant name shown by keiko doctor. A"
        " process loads one variant, so a change applies at the next start.",
        effect=Effect.RESTART,
        minimum=1,
        maximum=64,
    )

    model_fallbacks: tuple[str, ...] = setting(
        "model",
        (),
        "Fallback models",
        "Models tried in order when the chosen one cannot be reached (a remote endpoint is"
        " down), e.g. smollm2-135m-instruct; the reply says which model answered.",
        maximum=8,
    )
    model_download_mirror: str = setting(
        "model",
        "",
        "Download mirror",
        "Download recommended models from this Hugging Face mirror (e.g. https://hf-mirror.com)"
        " instead of https://huggingface.co; empty: Hugging Face.",
        maximum=512,
    )
    serve_port: int = setting(
        "endpoints",
        8741,
        "Serve port",
        "The port `keiko serve` listens on, on 127.0.0.1 only.",
        minimum=1024,
        maximum=65535,
    )

    agent_ram_budget_mb: int = setting(
        "agents",
        4096,
        "Models' RAM budget",
        "RAM the models of agents may take together, in MB; the least recently used is"
        " unloaded to make room.",
        minimum=256,
        maximum=1_048_576,
    )
    agent_parallel_steps: int = setting(
        "agents",
        2,
        "Steps at once",
        "Most plan steps (or batch items) that run at the same time.",
        minimum=1,
        maximum=16,
    )
    agent_token_budget: int = setting(
        "agents",
        32768,
        "Token budget per run",
        "Most tokens an agent's tool calls may use in one run before it must answer (0: no limit).",
        minimum=0,
        maximum=10_000_000,
    )
    agent_middleware: tuple[str, ...] = setting(
        "agents",
        AGENT_MIDDLEWARE,
        "Middleware order",
        "The middleware every model and tool call passes, outermost first.",
        choices=AGENT_MIDDLEWARE,
    )

    task_workers: int = setting(
        "tasks",
        2,
        "Tasks at once",
        "Most background tasks that run at the same time.",
        minimum=1,
        maximum=8,
    )
    task_timeout: float = setting(
        "tasks",
        3600.0,
        "Time limit per attempt",
        "Seconds one attempt of a task may take before it is stopped (0: no limit).",
        minimum=0.0,
        maximum=86400.0,
    )
    task_retries: int = setting(
        "tasks",
        2,
        "Retries",
        "How often a failed task is tried again, waiting longer each time.",
        minimum=0,
        maximum=10,
    )
    task_backoff: float = setting(
        "tasks",
        5.0,
        "First retry after",
        "Seconds before the first retry; each further retry waits about twice as long.",
        minimum=0.1,
        maximum=3600.0,
    )
    task_catch_up: bool = setting(
        "tasks",
        True,
        "Run missed schedules on start",
        "A scheduled run missed while Keiko was closed runs once when it starts.",
    )
    task_notify: bool = setting(
        "tasks",
        True,
        "Notify when tasks end",
        "Say when a task completes or fails.",
    )

    voice_input_device: str = setting(
        "voice",
        "",
        "Microphone",
        "The input device push-to-talk records from; empty means the system's default.",
        maximum=300,
    )
    voice_push_to_talk_key: str = setting(
        "voice",
        "Ctrl+Space",
        "Push-to-talk key",
        "Hold this key to speak, release it to send what you said (in the window; also "
        "outside it where the system allows, see below).",
        minimum=1,
        maximum=40,
    )
    voice_global_hotkey: bool = setting(
        "voice",
        True,
        "Push-to-talk outside the window",
        "The push-to-talk key works while another window has the focus. Works on X11; "
        "Wayland does not let programs grab keys, so there only the window hears it.",
    )
    voice_auto_send: bool = setting(
        "voice",
        True,
        "Send what you said",
        "After push-to-talk, send the words at once; off: they wait in the box for Enter.",
    )
    voice_cues: bool = setting(
        "voice",
        True,
        "Sound cues",
        "A short tone when recording starts and ends.",
    )
    voice_language: str = setting(
        "voice",
        "en",
        "Spoken language",
        "The language you speak, as a code (en, de, fr...); empty detects it. English-only "
        "models such as the bundled tiny.en always hear English.",
        maximum=8,
    )
    voice_whisper_model: str = setting(
        "voice",
        "",
        "Speech model",
        "A faster-whisper model folder (model.bin, config.json, tokenizer); empty means the "
        "bundled tiny.en.",
        maximum=4096,
    )
    voice_beam_size: int = setting(
        "voice",
        5,
        "Beam width",
        "How many guesses speech recognition weighs at once: higher is more accurate and slower.",
        minimum=1,
        maximum=10,
    )
    voice_vad: bool = setting(
        "voice",
        True,
        "Trim silence",
        "Voice-activity detection cuts silence before recognition.",
    )
    voice_prompt: str = setting(
        "voice",
        "",
        "Words to expect",
        "Names and terms you use often; recognition leans towards them.",
        maximum=500,
    )
    voice_read_aloud: bool = setting(
        "voice",
        False,
        "Read replies aloud",
        "Speak each reply sentence by sentence while it is written (code is not read out).",
    )
    voice_tts_voice: str = setting(
        "voice",
        "",
        "Voice",
        "A Piper voice (.onnx, with its .onnx.json beside it); empty means the bundled "
        "en_US joe voice.",
        maximum=4096,
    )
    voice_rate: float = setting(
        "voice",
        1.0,
        "Speaking rate",
        "How fast Keiko speaks: 1 is the voice's own pace, 2 twice as fast.",
        minimum=0.5,
        maximum=2.0,
    )
    voice_turn_silence: float = setting(
        "voice",
        0.9,
        "Pause that ends a turn",
        "In a voice conversation, seconds of silence after you spoke that end your turn.",
        minimum=0.3,
        maximum=5.0,
    )

    attachment_max_mb: int = setting(
        "files",
        50,
        "Largest file to attach (MB)",
        "Files bigger than this are refused when dropped, pasted or attached.",
        minimum=1,
        maximum=2048,
    )
    attachment_context_share: float = setting(
        "files",
        0.5,
        "Room for attached files",
        "The share of the model's prompt that passages of attached files may fill; the rest "
        "is the conversation.",
        minimum=0.1,
        maximum=0.9,
    )
    close_to_tray: bool = setting(
        "desktop",
        True,
        "Keep running in the tray",
        "Closing the window keeps Keiko in the system tray (where there is one), so Quick "
        "ask and tasks keep working; Quit in the tray menu ends it.",
    )
    quick_ask_hotkey: str = setting(
        "desktop",
        "Ctrl+Alt+Space",
        "Quick ask key",
        "Opens the Quick ask popup from anywhere (X11; Wayland does not let programs grab "
        "keys). Empty: no key.",
        maximum=40,
    )

    def validate(self) -> Settings:
        """Check every value against its declaration; SettingsError naming the first bad key."""
        for spec in SETTINGS.values():
            spec.check(getattr(self, spec.key))
        return self

    def effective_threads(self, cores: int | None = None) -> int:
        """Threads for inference: the setting capped at the machine's ``cores`` (default:
        ``os.cpu_count()``; more threads than cores only slows llama.cpp down, and thousands
        crash its OpenMP runtime), or, for 0, all cores up to 4 and one left free above."""
        cores = max(1, cores or os.cpu_count() or 1)
        if self.threads:
            return min(self.threads, cores)
        return cores if cores <= 4 else min(8, cores - 1)

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (coerced like the file's values) and validated."""
        return self.with_flags({key: ("", value) for key, value in changes.items()})

    def with_flags(self, changes: Mapping[str, tuple[str, Any]]) -> Settings:
        """A copy with ``changes``, key -> (flag, value), for values given on the command
        line: a bad value's error names its flag (``--max-tokens``), not settings.toml. An
        empty flag reads like ``with_changes``."""
        values = {}
        for key, (flag, value) in changes.items():
            spec = SETTINGS.get(key)
            if spec is None:
                raise SettingsError(
                    f"Unknown setting '{key}'.", f"Use one of: {', '.join(sorted(SETTINGS))}."
                )
            values[key] = spec.coerce(value, flag=flag)
        return replace(self, **values).validate()


def _declare() -> dict[str, Setting]:
    hints = typing.get_type_hints(Settings)
    out: dict[str, Setting] = {}
    for f in fields(Settings):
        kind = typing.get_origin(hints[f.name]) or hints[f.name]
        spec = Setting(key=f.name, kind=kind, default=f.default, **f.metadata["setting"])
        if spec.section not in SECTION_NAMES or kind not in KINDS:
            raise TypeError(f"setting {f.name!r}: unknown section or type")
        if spec.numeric:
            spec.bounds  # noqa: B018 (raises without a minimum and a maximum)
        spec.check(spec.default)
        out[f.name] = spec
    return out


SETTINGS: dict[str, Setting] = _declare()
"""Every setting's declaration, by key, in declaration order."""


def settings_in(section: str) -> list[Setting]:
    """The declarations of one section (none yet for the sections kept for later issues)."""
    return [spec for spec in SETTINGS.values() if spec.section == section]


def default_of(key: str) -> Any:
    """The declared default of ``key``."""
    return SETTINGS[key].default


def changed_keys(old: Settings, new: Settings) -> frozenset[str]:
    """The keys whose value differs between ``old`` and ``new``."""
    return frozenset(key for key in SETTINGS if getattr(old, key) != getattr(new, key))


def keys_with_effect(effect: Effect) -> tuple[str, ...]:
    return tuple(key for key, spec in SETTINGS.items() if spec.effect is effect)


def needs_model_reload(changed: Iterable[str]) -> bool:
    """True when one of ``changed`` is declared to reload the model."""
    return any(SETTINGS[key].effect is Effect.RELOAD_MODEL for key in changed if key in SETTINGS)


def describe() -> list[tuple[str, str, Any]]:
    """(key, description, default) for every setting, for help texts and dialogs."""
    return [(spec.key, spec.description, spec.default) for spec in SETTINGS.values()]


def load_settings(paths: Paths) -> Settings:
    """Read settings.toml (a missing file gives the defaults; an older file is migrated and
    rewritten, with a backup). See ``settings_file``."""
    from keiko_desktop.core import settings_file

    return settings_file.load_settings(paths)


def save_settings(paths: Paths, settings: Settings) -> None:
    """Write settings.toml atomically, in sections. See ``settings_file``."""
    from keiko_desktop.core import settings_file

    settings_file.save_settings(paths, settings)
