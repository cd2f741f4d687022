"""`keiko doctor`: check each part and give a one-line fix for every problem."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from keiko_desktop.core.config import Paths, Settings, load_settings
from keiko_desktop.core.errors import KeikoError

if TYPE_CHECKING:
    from keiko_desktop.core.ports import ModelInfo

Level = Literal["ok", "warn", "fail"]
_MARK = {"ok": "✓", "warn": "!", "fail": "✗"}


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    fix: str = ""


def check_settings(paths: Paths) -> Check:
    try:
        load_settings(paths)
    except KeikoError as exc:
        return Check("settings", "fail", exc.message, exc.hint)
    where = paths.settings_file
    return Check("settings", "ok", f"{where}" + ("" if where.exists() else " (defaults)"))


def check_database(paths: Paths) -> Check:
    """The database: permissions, a write lock someone holds, damage, free disk space."""
    from keiko_desktop.store.database import inspect_database

    path = paths.database
    try:
        count = inspect_database(path)
    except KeikoError as exc:
        return Check("database", "fail", exc.message, exc.hint)
    if not path.exists():
        return Check("database", "ok", f"{path} (created on first use)")
    return Check("database", "ok", f"{path} ({count} messages)")


def check_tasks(paths: Paths) -> Check:
    """Background tasks waiting or running, and which process runs them (read-only)."""
    import sqlite3

    from keiko_desktop.store.owners import owner_alive

    path = paths.database
    if not path.exists():
        return Check("tasks", "ok", "none yet")
    try:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, timeout=2)
        try:
            counts = dict(conn.execute("SELECT status, count(*) FROM tasks GROUP BY status"))
            lease = conn.execute(
                "SELECT role, owner_pid, owner_started, owner_token, expires_at FROM task_lease"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return Check("tasks", "ok", "none yet")  # an older database: no tasks table
    waiting, running = counts.get("pending", 0), counts.get("running", 0)
    summary = f"{waiting} pending, {running} running"
    holder = None
    if lease is not None and owner_alive(
        lease[1], lease[2], None if lease[1] == os.getpid() else lease[3]
    ):
        holder = "keiko tasks worker" if lease[0] == "worker" else "the Keiko window"
        holder = f"{holder} (pid {lease[1]})"
    if holder is not None:
        return Check("tasks", "ok", f"{summary}; run by {holder}")
    if waiting or running:
        return Check(
            "tasks",
            "warn",
            f"{summary}, and no process runs them",
            "Open Keiko, or run `keiko tasks worker`.",
        )
    return Check("tasks", "ok", summary)


def check_models(paths: Paths) -> list[Check]:
    from keiko_desktop.llm.registry import ModelRegistry

    try:
        settings = load_settings(paths)
    except KeikoError:
        settings = None
    registry = ModelRegistry(settings or Settings())
    checks: list[Check] = []
    model: ModelInfo | None = None
    try:
        model = default = registry.default_model()
        checks.append(
            Check("bundled model", "ok", f"{default.name} ({default.size_bytes / 1e6:.0f} MB)")
        )
    except KeikoError as exc:
        checks.append(Check("bundled model", "fail", exc.message, exc.hint))
    if settings is not None and settings.model:
        try:
            model = chosen = registry.resolve(settings.model)
            checks.append(Check("chosen model", "ok", f"{chosen.name}: {chosen.path}"))
        except KeikoError as exc:
            model = None
            checks.append(Check("chosen model", "fail", exc.message, exc.hint))
    if settings is not None:
        checks.append(check_threads(settings))
        if model is not None and model.backend == "llama.cpp":
            checks.append(check_context(settings, model))
    return checks


def check_threads(settings: Settings, cores: int | None = None) -> Check:
    """The ``threads`` setting against this machine's cores."""
    cores = cores or os.cpu_count() or 1
    used = settings.effective_threads(cores)
    if settings.threads > cores:
        return Check(
            "threads",
            "warn",
            f"threads = {settings.threads}, but this machine has {cores} cores: {used} will "
            "be used",
            f"Set 'threads' under [model] in settings.toml to 0 (automatic) or at most {cores}.",
        )
    chosen = "automatic" if not settings.threads else "the setting"
    return Check("threads", "ok", f"{used} of {cores} cores ({chosen})")


def check_context(settings: Settings, model: ModelInfo, available_ram: int | None = None) -> Check:
    """``context_size`` against the model's trained context and the RAM its KV cache needs:
    the context a load would use, and why, computed as the load computes it."""
    from keiko_desktop.llm.llama_backend import plan_for

    plan = plan_for(model.path, settings.context_size, available_ram)
    if not plan.lowered:
        trained = f" (trained for {plan.trained})" if plan.trained else ""
        return Check("context", "ok", f"{plan.n_ctx} tokens for {model.name}{trained}")
    return Check(
        "context",
        "warn",
        f"context_size = {settings.context_size} is too large for {model.name} here: "
        f"{plan.n_ctx} will be used ({plan.reason})",
        f"Set 'context_size' under [model] in settings.toml to at most {plan.n_ctx}.",
    )


def check_llama_cpu(paths: Paths, reprobe: bool = False) -> Check:
    """The llama.cpp CPU configuration: the probe's choice (probing now if none is cached)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return Check(
            "llama.cpp CPU", "fail", "llama-cpp-python is not installed", "Run `make run`."
        )
    from keiko_desktop.app import llama_cpu
    from keiko_desktop.llm.cpu_backends import activate
    from keiko_desktop.llm.registry import locate_bundled_model

    try:
        settings = load_settings(paths)
        model = str(locate_bundled_model())
    except KeikoError as exc:
        return Check("llama.cpp CPU", "warn", f"cannot probe: {exc.message}", exc.hint)
    planner = llama_cpu(paths, lambda: settings)  # the same planner the app loads models with
    choice = planner.choose(model, settings.effective_threads(), reprobe=reprobe)
    tried = "; ".join(f"{o.config}: {o.detail}" for o in choice.outcomes)
    detail = choice.describe() + (f"; probe tried {tried}" if tried else "")
    try:
        from keiko_desktop.llm.llama_logging import quiet_llama

        quiet_llama()  # llama.cpp's own lines go to the log, not between the checks
        activate(choice.config)
    except OSError as exc:
        return Check("llama.cpp CPU", "fail", f"{detail}; {exc}", "Run `keiko doctor --probe`.")
    if choice.source == "fallback" or choice.note:
        return Check(
            "llama.cpp CPU",
            "warn",
            detail,
            "Run `keiko doctor --probe`; set Settings > Model > CPU backend to override.",
        )
    return Check("llama.cpp CPU", "ok", detail)


def check_llama() -> Check:
    if importlib.util.find_spec("llama_cpp") is None:
        return Check("llama.cpp", "fail", "llama-cpp-python is not installed", "Run `make run`.")
    try:
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
    except Exception as exc:  # noqa: BLE001 - a broken native build shows up as anything
        return Check(
            "llama.cpp",
            "fail",
            f"cannot load llama-cpp-python: {exc}",
            "pip install --force-reinstall --no-binary llama-cpp-python llama-cpp-python",
        )
    version = importlib.metadata.version("llama-cpp-python")
    features = " ".join(part for part in info.split("|") if "= 1" in part).strip()
    return Check("llama.cpp", "ok", f"llama-cpp-python {version}; {features[:120]}")


def check_keyring() -> Check:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - a broken keyring config raises anything
        return Check("keyring", "fail", f"keyring unusable: {exc}", "Reinstall with `make run`.")
    if isinstance(backend, fail.Keyring):
        return Check(
            "keyring",
            "warn",
            "no keychain backend: API keys and secret headers cannot be saved",
            "Install and unlock GNOME Keyring or KWallet (Secret Service), then restart Keiko.",
        )
    return Check("keyring", "ok", type(backend).__module__ + "." + type(backend).__name__)


def check_display() -> Check:
    if sys.platform != "linux":
        return Check("display", "ok", sys.platform)
    names = [v for v in ("WAYLAND_DISPLAY", "DISPLAY") if os.environ.get(v)]
    if names:
        return Check("display", "ok", ", ".join(f"{v}={os.environ[v]}" for v in names))
    return Check(
        "display",
        "warn",
        "no display: the window cannot open (the CLI works)",
        "Run from a desktop session, or under `xvfb-run keiko`.",
    )


def check_audio() -> Check:
    if sys.platform != "linux":
        return Check("audio", "ok", sys.platform)
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}"))
    servers = [p for p in (runtime / "pulse" / "native", runtime / "pipewire-0") if p.exists()]
    snd = Path("/dev/snd")
    pcms = sorted(p.name for p in snd.glob("pcm*")) if snd.exists() else []
    if servers or pcms or os.environ.get("PULSE_SERVER"):
        return Check("audio", "ok", ", ".join([str(s) for s in servers] + pcms[:4]))
    return Check(
        "audio",
        "warn",
        "no sound device or sound server: push-to-talk and spoken replies are off",
        "Connect a microphone/speaker and start PipeWire or PulseAudio.",
    )


def check_voice(settings: Settings | None = None) -> list[Check]:
    """Speech (``cli/doctor_voice.py``): the engines and their models, the microphone and the
    speaker as the mic button sees them, and push-to-talk outside the window."""
    from keiko_desktop.cli.doctor_voice import voice_checks

    return voice_checks(settings)


def check_tray(display: Check) -> Check:
    if display.level != "ok":
        return Check("tray", "warn", "no display, so no tray", "Quick Ask works from the window.")
    try:
        from keiko_desktop.ui.system_checks import tray_available

        available = tray_available()
    except Exception as exc:  # noqa: BLE001 - Qt failing to start is itself the finding
        return Check("tray", "warn", f"cannot ask Qt about the tray: {exc}", "Run `keiko` to see.")
    if available:
        return Check("tray", "ok", "a system tray is available")
    return Check(
        "tray",
        "warn",
        "no system tray host: the tray icon is hidden",
        "Enable a tray (e.g. GNOME's AppIndicator extension); the window works without one.",
    )


def run_checks(reprobe: bool = False) -> list[Check]:
    paths = Paths.from_env()
    display = check_display()
    return [
        Check("python", "ok", sys.version.split()[0]),
        check_settings(paths),
        check_database(paths),
        check_tasks(paths),
        *check_models(paths),
        check_llama_cpu(paths, reprobe),
        check_llama(),
        check_keyring(),
        display,
        check_audio(),
        *check_voice(),
        check_tray(display),
    ]


def run_doctor(args: argparse.Namespace) -> int:
    checks = run_checks(reprobe=getattr(args, "probe", False))
    if args.json:
        print(json.dumps([asdict(c) for c in checks]))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            print(f"{_MARK[c.level]} {c.name:<{width}}  {c.detail}")
            if c.fix:
                print(f"  {'':<{width}}  fix: {c.fix}")
    return 1 if any(c.level == "fail" for c in checks) else 0
