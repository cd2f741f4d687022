"""`keiko models`: list the models Keiko knows, add a GGUF file, pick the default."""

from __future__ import annotations

import argparse
import errno
from pathlib import Path

from keiko_desktop.cli.common import error
from keiko_desktop.core.config import Paths, load_settings, save_settings
from keiko_desktop.core.errors import KeikoError, SettingsError
from keiko_desktop.llm.registry import ModelRegistry


def run_models(args: argparse.Namespace) -> int:
    paths = Paths.from_env()
    try:
        settings = load_settings(paths)
        registry = ModelRegistry(settings)
        action = args.models_command or "list"
        if action == "add":
            info = registry.add_model(args.path)
            if info.path not in settings.extra_models:
                settings = settings.with_changes(extra_models=(*settings.extra_models, info.path))
                save_settings(paths, settings)
            print(f"Added {info.name} ({info.size_bytes / 1e6:.0f} MB): {info.path}")
            return 0
        if action == "use":
            info = registry.resolve(args.name_or_path)
            save_settings(
                paths, settings.with_changes(model=info.name if info.bundled else info.path)
            )
            print(f"Keiko now uses {info.name}.")
            return 0
        current = settings.model
        for info in registry.list_models():
            chosen = current in (info.name, info.path) or (not current and info.bundled)
            mark = "*" if chosen else " "
            kind = "bundled" if info.bundled else "added"
            size = f"{info.size_bytes / 1e6:.0f} MB"
            print(f"{mark} {info.name:<32} {size:>8}  {kind:<8} {Path(info.path)}")
        return 0
    except KeikoError as exc:
        error(exc)
        return 1
    except OSError as exc:  # the settings file or its folder: read-only, gone, disk full
        error(file_error(exc, paths.settings_file))
        return 1


def file_error(exc: OSError, fallback: Path) -> SettingsError:
    """An OSError met while reading or saving settings, as a message and a fix."""
    where = Path(exc.filename) if exc.filename else fallback
    reason = exc.strerror or exc.__class__.__name__
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        hint = f"Make {where.parent} writable for your user (or set KEIKO_HOME to another folder)."
    elif exc.errno == errno.ENOSPC:
        hint = f"Free some disk space on the disk holding {where.parent}, then try again."
    else:
        hint = f"Check {where} and its folder, then try again."
    return SettingsError(f"Cannot use the settings file {where}: {reason}.", hint)
