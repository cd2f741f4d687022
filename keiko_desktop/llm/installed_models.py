"""What the model library needs from the machine and the settings: the user's model files
(``InstalledModels``; ``SettingsModels`` keeps them in settings.toml for the CLI), the RAM a
model may fit in, free disk space and the mount a folder is on."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Protocol

from keiko_desktop.core.config import Paths
from keiko_desktop.llm.context_budget import _CGROUP_ROOT


class InstalledModels(Protocol):
    """The user's model files (``Settings.extra_models``), as the library changes them.
    Called on the event loop (the Core's ``update_settings`` publishes on the bus)."""

    def added(self) -> tuple[str, ...]: ...

    def add(self, path: str) -> None: ...

    def forget(self, path: str) -> None: ...


def with_model(paths: tuple[str, ...], path: str, keep: bool) -> tuple[str, ...]:
    """``paths`` (``Settings.extra_models``) with ``path`` kept once at the end, or left out."""
    others = tuple(p for p in paths if not same_path(p, path))
    return (*others, path) if keep else others


class SettingsModels:
    """``InstalledModels`` over settings.toml, for a process without a Core (the CLI)."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def added(self) -> tuple[str, ...]:
        from keiko_desktop.core.config import load_settings

        return load_settings(self.paths).extra_models

    def _change(self, path: str, keep: bool) -> None:
        from keiko_desktop.core.config import load_settings, save_settings

        settings = load_settings(self.paths)
        wanted = with_model(settings.extra_models, path, keep)
        if wanted != settings.extra_models:
            save_settings(self.paths, settings.with_changes(extra_models=wanted))

    def add(self, path: str) -> None:
        self._change(path, keep=True)

    def forget(self, path: str) -> None:
        self._change(path, keep=False)


def same_path(a: str, b: str) -> bool:
    """Whether two paths name the same file (after ~, made absolute, case on Windows)."""

    def norm(p: str) -> str:
        return os.path.normcase(os.path.abspath(os.path.expanduser(p)))

    return norm(a) == norm(b)


def machine_memory() -> int | None:
    """Total RAM in bytes, lowered to a cgroup v2 ``memory.max`` cap; None if unknown."""
    try:
        import psutil

        total: int | None = int(psutil.virtual_memory().total)
    except Exception:  # noqa: BLE001 - an exotic platform: every model "fits"
        total = None
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        rel = next(line[3:] for line in lines if line.startswith("0::"))
        folder = (_CGROUP_ROOT / rel.lstrip("/")).resolve()
    except (OSError, StopIteration):
        return total
    for _ in range(32):
        with contextlib.suppress(OSError, ValueError):
            limit = (folder / "memory.max").read_text().strip()
            if limit.isdigit():
                total = int(limit) if total is None else min(total, int(limit))
        if folder == _CGROUP_ROOT or _CGROUP_ROOT not in folder.parents:
            break
        folder = folder.parent
    return total


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def mount_of(folder: Path) -> Path:
    probe = folder.resolve()
    while not os.path.ismount(probe) and probe.parent != probe:
        probe = probe.parent
    return probe
