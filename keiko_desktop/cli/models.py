"""`keiko models`: list the models Keiko knows, add a GGUF file, download a recommended one,
remove one, pick the default.

Exit codes: 0 done (a model already installed is not an error), 1 failed (the message says why
and what to do), 2 bad input (a name neither the catalog nor the registry knows), 130 Ctrl+C
(a download is paused: running the same command again resumes it). Download progress goes to
stderr: one updating line on a terminal, a line per tenth otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.core.config import Paths, Settings, load_settings, save_settings
from keiko_desktop.core.errors import KeikoError, ModelLoadError, SettingsError
from keiko_desktop.core.files.types import human_size
from keiko_desktop.llm.catalog import load_catalog
from keiko_desktop.llm.registry import ModelRegistry

if TYPE_CHECKING:
    from keiko_desktop.core.downloads import DownloadState
    from keiko_desktop.core.events import EventBus
    from keiko_desktop.llm.model_library import DownloadLibrary

BAD_INPUT = 2
INTERRUPTED = 130


def run_models(args: argparse.Namespace) -> int:
    paths = Paths.from_env()
    action = args.models_command or "list"
    try:
        if action == "download":
            return _download(paths, args.name)
        settings = load_settings(paths)
        registry = ModelRegistry(settings)
        if action == "add":
            info = registry.add_model(args.path)
            if info.path not in settings.extra_models:
                settings = settings.with_changes(extra_models=(*settings.extra_models, info.path))
                save_settings(paths, settings)
            print(f"Added {info.name} ({info.size_bytes / 1e6:.0f} MB): {info.path}")
            return 0
        if action == "use":
            return _use(paths, settings, registry, args.name_or_path)
        if action == "remove":
            return _remove(paths, settings, registry, args.name_or_path)
        _list(paths, settings, registry)
        return 0
    except KeikoError as exc:
        error(exc)
        return 1
    except OSError as exc:  # the settings file or its folder: read-only, gone, disk full
        error(file_error(exc, paths.settings_file))
        return 1


def _library(
    paths: Paths, settings: Settings | None = None, bus: EventBus | None = None
) -> DownloadLibrary:
    from keiko_desktop.llm.installed_models import SettingsModels
    from keiko_desktop.llm.model_library import DownloadLibrary

    mirror = (settings or load_settings(paths)).model_download_mirror
    return DownloadLibrary(paths, SettingsModels(paths), bus=bus, mirror=lambda: mirror)


def remote_lines(paths: Paths, settings: Settings) -> list[str]:
    """The models of each configured endpoint (each asked for its list, at most 5 s), or why
    it has none; [] without endpoints."""
    from keiko_desktop.core.endpoints import endpoints_path

    if not endpoints_path(paths.config_dir).exists():
        return []
    return asyncio.run(_remote_lines(paths, settings))


async def _remote_lines(paths: Paths, settings: Settings) -> list[str]:
    from keiko_desktop.core.events import EventBus
    from keiko_desktop.core.safe_text import printable
    from keiko_desktop.llm.endpoint_manager import EndpointService

    service = EndpointService(
        paths.config_dir, ModelRegistry(settings), EventBus(asyncio.get_running_loop())
    )
    await service.load()
    lines: list[str] = []
    try:
        names = [e.name for e in service.endpoints()]
        checks = [asyncio.wait_for(service.check(name), 5.0) for name in names]
        results = await asyncio.gather(*checks, return_exceptions=True)
        for name, status in zip(names, results, strict=True):
            if isinstance(status, BaseException):
                lines.append(f"  {name}/…  (no answer within 5 s)")
                continue
            if status.state != "online":
                lines.append(f"  {name}/…  ({status.state}: {printable(status.detail)})")
            for model in status.models:
                full = f"{name}/{model}"
                mark = "*" if settings.model == full else " "
                lines.append(f"{mark} {printable(full):<40} remote    on {name}")
    finally:
        await service.aclose()
    return lines


def _list(paths: Paths, settings: Settings, registry: ModelRegistry) -> None:
    current = settings.model
    catalog = _library(paths, settings).catalog()
    by_path = {m.installed_path: m.name for m in catalog if m.installed_path}
    for info in registry.list_models():
        chosen = current in (info.name, info.path) or (not current and info.bundled)
        mark = "*" if chosen else " "
        kind = "bundled" if info.bundled else "download" if info.path in by_path else "added"
        name = by_path.get(info.path, info.name)
        size = f"{info.size_bytes / 1e6:.0f} MB"
        show(f"{mark} {name:<32} {size:>8}  {kind:<8} {Path(info.path)}")
    for line in remote_lines(paths, settings):
        show(line)
    print("\nRecommended models (`keiko models download NAME`):")
    for m in catalog:
        notes = []
        if m.installed_path:
            notes.append("installed")
        elif m.download is not None and m.download.status != "done":
            notes.append(f"{m.download.status} {m.download.fraction:.0%}")
        if not m.fits:
            notes.append(f"needs {m.ram_gb:g} GB RAM, more than here")
        size = human_size(m.size_bytes)
        show(f"  {m.name:<32} {size:>8}  {m.ram_gb:>4g} GB RAM  {m.license:<28} {', '.join(notes)}")


def _use(paths: Paths, settings: Settings, registry: ModelRegistry, wanted: str) -> int:
    installed = {m.name: m for m in _library(paths, settings).catalog() if m.installed_path}
    model = installed.get(wanted.strip().lower())
    if model is not None:
        value, name = (model.name if model.bundled else model.installed_path), model.name
    else:
        try:
            info = registry.resolve(wanted)
        except ModelLoadError as exc:
            error(exc)
            return BAD_INPUT
        value, name = (info.name if info.bundled else info.path), info.name
    save_settings(paths, settings.with_changes(model=value))
    show(f"Keiko now uses {name}.")
    return 0


def _remove(paths: Paths, settings: Settings, registry: ModelRegistry, wanted: str) -> int:
    from keiko_desktop.llm.installed_models import same_path

    library = _library(paths, settings)
    catalog = library.catalog()
    target = wanted
    if wanted.strip().lower() not in {m.name for m in catalog}:
        with contextlib.suppress(KeikoError):  # an added model by its registry name
            target = registry.resolve(wanted).path
        known = [*settings.extra_models, *(m.installed_path for m in catalog)]
        if not any(p and same_path(p, target) for p in known):
            error(
                KeikoError(
                    f"No downloaded or added model {wanted!r}.",
                    "`keiko models list` shows them; give a name or the file's path.",
                )
            )
            return BAD_INPUT
    asyncio.run(library.remove(target))
    gone = [target, *(m.installed_path for m in catalog if m.name == wanted.strip().lower())]
    if settings.model and (
        settings.model == wanted or any(p and same_path(p, settings.model) for p in gone)
    ):
        save_settings(paths, load_settings(paths).with_changes(model=""))
        print("It was the default model; Keiko now uses the bundled one.")
    show(f"Removed {wanted}.")
    return 0


# ---------------------------------------------------------------------- downloading


def _download(paths: Paths, name: str) -> int:
    entries = {e.name: e for e in load_catalog()}
    entry = entries.get(name.strip().lower())
    if entry is None:
        error(
            KeikoError(f"There is no model {name!r} in the catalog.", f"Use one of: "
                       f"{', '.join(entries)}.")
        )  # fmt: skip
        return BAD_INPUT
    return run_async(lambda: _fetch(paths, entry.name))


class _Progress:
    """Download progress on stderr: one line rewritten on a terminal, else a line a tenth."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.tenth = -1

    def __call__(self, state: DownloadState) -> None:
        if state.status not in ("downloading", "verifying"):
            return
        if state.status == "verifying":
            text = f"{state.name}: checking the file..."
        else:
            text = (
                f"{state.name}: {state.fraction:.0%}, {human_size(state.done_bytes)} of "
                f"{human_size(state.total_bytes)}"
            )
            if state.bytes_per_second > 0:
                text += f", {human_size(int(state.bytes_per_second))}/s"
        if self.tty:
            print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)
            return
        tenth = int(state.fraction * 10)
        if tenth != self.tenth or state.status == "verifying":
            self.tenth = tenth
            print(text, file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty:
            print(file=sys.stderr)


async def _fetch(paths: Paths, name: str) -> int:
    from keiko_desktop.core.downloads import ModelDownloadChanged
    from keiko_desktop.core.events import EventBus

    bus = EventBus()
    library = _library(paths, bus=bus)
    installed = next(m for m in library.catalog() if m.name == name)
    if installed.installed_path:
        show(f"{name} is already installed: {installed.installed_path}")
        return 0
    progress = _Progress()
    bus.subscribe(ModelDownloadChanged, lambda event: progress(event.state))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt
        loop.add_signal_handler(signal.SIGINT, stop.set)
    await library.download(name)
    finished = asyncio.ensure_future(library.wait(name))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({finished, stopped}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        stop.set()
    finally:
        stopped.cancel()
        progress.end()
    if stop.is_set() and not finished.done():
        finished.cancel()
        await library.pause(name)
        state = library.state(name)
        have = human_size(state.done_bytes) if state else "what was fetched"
        print(
            f"Paused {name} at {have}. Run `keiko models download {name}` to resume.",
            file=sys.stderr,
        )
        return INTERRUPTED
    state = finished.result()
    if state.status != "done":
        error(KeikoError(state.error or f"The download of {name} stopped.", state.hint))
        return 1
    show(f"Downloaded {name}: {state.path}")
    if state.error:  # done, but not added to the list
        error(state.error)
    return 0


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
