"""``DownloadLibrary``: the recommended models, their downloads, and per-model options
(implements ``core.downloads.ModelLibrary``).

Downloads go to ``data_dir/models``: ``<file>.part`` while running, renamed to ``<file>`` once
its size, sha256 (the catalog's, when it has one) and GGUF header check out. What is going on
is kept in ``downloads.json`` beside them (owner-only, written atomically on every status
change), so a download running when Keiko closed is resumed by ``resume_interrupted()`` at the
next start, from where its part stopped. A download starts only with the remaining bytes plus
5 % free on the disk; it fetches only from the catalog's URL (or the same path on the mirror
``Settings.model_download_mirror``), over https (http only to this machine), following at
most five redirects, and at most 1.5 times the catalog's size. A cut connection is retried a
few times (resuming); a full disk fails and keeps the part. Progress is published as
``ModelDownloadChanged`` at most ten times a second, and on every status change.

A finished file is handed to ``InstalledModels.add`` (the Core adds it to the registry and to
``Settings.extra_models``; the CLI's ``SettingsModels`` edits settings.toml); ``remove``
deletes a downloaded file and forgets it, and only forgets a file the user added.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import httpx2

from keiko_desktop.core.config import Paths
from keiko_desktop.core.downloads import (
    CatalogModel,
    DownloadState,
    DownloadStatus,
    ModelDownloadChanged,
    ModelOptions,
)
from keiko_desktop.core.errors import KeikoError, ModelLoadError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.files.types import human_size
from keiko_desktop.core.private_files import private_dir, write_private_bytes
from keiko_desktop.llm.catalog import CatalogEntry, allowed_url, download_url, load_catalog
from keiko_desktop.llm.downloader import (
    DiskFullError,
    DownloadError,
    Fetched,
    OpenPart,
    fetch,
    open_append,
    remove_quietly,
)
from keiko_desktop.llm.gguf import validate_gguf
from keiko_desktop.llm.installed_models import (
    InstalledModels,
    free_bytes,
    machine_memory,
    mount_of,
    same_path,
)
from keiko_desktop.llm.model_options import ModelOptionsStore

log = logging.getLogger(__name__)

STATE_FILE = "downloads.json"
MAX_STATE_BYTES = 1 << 20
SIZE_SLACK = 1.5
"""A file may be at most this many times the catalog's size."""
DISK_MARGIN = 0.05
MAX_REDIRECTS = 5
PROGRESS_INTERVAL = 0.1
_STATUSES = ("queued", "downloading", "paused", "verifying", "done", "failed")


class DownloadLibrary:
    """See the module docstring. ``free_space``, ``opener`` and ``transport`` are for tests
    (a full disk, a failing write, a scripted server)."""

    def __init__(
        self,
        paths: Paths,
        installed: InstalledModels,
        *,
        bus: EventBus | None = None,
        mirror: Callable[[], str] = lambda: "",
        catalog_path: Path | None = None,
        locate_bundled: Callable[[], Path] | None = None,
        options: ModelOptionsStore | None = None,
        free_space: Callable[[Path], int] = free_bytes,
        opener: OpenPart = open_append,
        transport: httpx2.AsyncBaseTransport | None = None,
        retries: int = 3,
        retry_delay: float = 2.0,
    ) -> None:
        self.folder = paths.data_dir / "models"
        self.state_file = self.folder / STATE_FILE
        self._installed = installed
        self._bus = bus
        self._mirror = mirror
        self._entries = {e.name: e for e in load_catalog(catalog_path)}
        self._locate_bundled = locate_bundled
        self._options = options or ModelOptionsStore(paths.config_dir)
        self._free_space = free_space
        self._opener = opener
        self._transport = transport
        self._retries = retries
        self._retry_delay = retry_delay
        self._states: dict[str, DownloadState] = {}
        self._digests: dict[str, str] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._published: dict[str, float] = {}
        self._save_lock = asyncio.Lock()
        self._gpu_offload: bool | None = None
        self._load_state()  # a small bounded file, like settings.toml

    # ------------------------------------------------------------------ state file
    def _load_state(self) -> None:
        try:
            with self.state_file.open("rb") as f:
                raw = f.read(MAX_STATE_BYTES + 1)
            items = json.loads(raw.decode("utf-8"))["downloads"] if raw else []
            if len(raw) > MAX_STATE_BYTES or not isinstance(items, list):
                raise ValueError("too large or not a list")
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s: %s", self.state_file, exc)
            return
        for item in items[:64]:
            state = self._parse_item(item)
            if state is not None:
                self._states[state.name] = state

    def _parse_item(self, item: object) -> DownloadState | None:
        """One entry of the state file, or None when it is not one this library could have
        written (an unknown model, a path outside the models folder, a bad field)."""
        if not isinstance(item, dict):
            return None
        entry = self._entries.get(str(item.get("name")))
        status: DownloadStatus = item.get("status")  # type: ignore[assignment]  # checked next
        if entry is None or entry.bundled or status not in _STATUSES:
            return None
        final = self._final(entry)
        if item.get("path") != str(final) or not isinstance(item.get("url"), str):
            return None
        total = item.get("total_bytes")
        total = total if isinstance(total, int) and 0 < total <= entry.size_bytes * 2 else 0
        digest = item.get("sha256")
        if isinstance(digest, str) and len(digest) == 64:
            self._digests[entry.name] = digest
        if status == "verifying":  # closed while checking: the part is whole, fetch resumes
            status = "downloading"
        done = total if status == "done" else _size(self._part(entry))
        return DownloadState(
            entry.name,
            item["url"],
            str(final),
            total or entry.size_bytes,
            done,
            status,
            error=str(item.get("error", ""))[:2000],
            hint=str(item.get("hint", ""))[:2000],
        )

    async def _save(self) -> None:
        async with self._save_lock:
            items = []
            for state in self._states.values():
                row: dict[str, Any] = asdict(state)
                row.pop("bytes_per_second", None)
                row["sha256"] = self._digests.get(state.name, "")
                items.append(row)
            data = json.dumps({"version": 1, "downloads": items}, indent=1).encode()
            await asyncio.to_thread(self._write_state, data)

    def _write_state(self, data: bytes) -> None:
        private_dir(self.folder)
        write_private_bytes(self.state_file, data)

    # ------------------------------------------------------------------ what is known
    def _final(self, entry: CatalogEntry) -> Path:
        return self.folder / entry.filename

    def _part(self, entry: CatalogEntry) -> Path:
        return self.folder / f"{entry.filename}.part"

    def _entry(self, name: str) -> CatalogEntry:
        entry = self._entries.get(name.strip().lower())
        if entry is None:
            raise DownloadError(
                f"There is no model {name!r} in the catalog.",
                f"Use one of: {', '.join(self._entries)}.",
            )
        return entry

    def _bundled_path(self) -> str:
        from keiko_desktop.llm.registry import locate_bundled_model

        try:
            return str((self._locate_bundled or locate_bundled_model)())
        except ModelLoadError:
            return ""

    def catalog(self) -> list[CatalogModel]:
        memory = machine_memory()
        out = []
        for e in self._entries.values():
            final = self._final(e)
            installed = self._bundled_path() if e.bundled else str(final) if final.is_file() else ""
            out.append(
                CatalogModel(
                    name=e.name,
                    title=e.title,
                    parameters=e.parameters,
                    quantization=e.quantization,
                    size_bytes=e.size_bytes,
                    ram_gb=e.ram_gb,
                    license=e.license,
                    description=e.description,
                    bundled=e.bundled,
                    fits=memory is None or e.ram_gb * 1e9 <= memory,
                    installed_path=installed,
                    download=self._states.get(e.name),
                )
            )
        return out

    def downloads(self) -> list[DownloadState]:
        return list(self._states.values())

    def state(self, name: str) -> DownloadState | None:
        return self._states.get(name.strip().lower())

    def sha256(self, name: str) -> str:
        """The digest a finished download of ``name`` had ("" when not known)."""
        return self._digests.get(name.strip().lower(), "")

    @property
    def gpu_offload(self) -> bool:
        """Whether llama.cpp here has a GPU backend (asked on first use: imports llama_cpp)."""
        if self._gpu_offload is None:
            from keiko_desktop.llm.llama_backend import gpu_offload_supported

            self._gpu_offload = gpu_offload_supported()
        return self._gpu_offload

    @gpu_offload.setter
    def gpu_offload(self, value: bool) -> None:
        self._gpu_offload = value

    def options(self, model: str) -> ModelOptions:
        return self._options.get(model)

    def set_options(self, model: str, options: ModelOptions) -> None:
        self._options.set(model, options)

    # ------------------------------------------------------------------ events
    def _update(self, name: str, *, force: bool = False, **changes: Any) -> DownloadState:
        old = self._states[name]
        state = replace(old, **changes)
        self._states[name] = state
        now = time.monotonic()
        changed = force or state.status != old.status
        if self._bus is not None and (
            changed or now - self._published.get(name, 0.0) >= PROGRESS_INTERVAL
        ):
            self._published[name] = now
            self._bus.publish(ModelDownloadChanged(state))
        return state

    # ------------------------------------------------------------------ downloading
    async def download(self, name: str) -> DownloadState:
        entry = self._entry(name)
        if entry.bundled:
            raise DownloadError(f"{entry.name} is bundled with Keiko; it needs no download.")
        running = self._tasks.get(entry.name)
        if running is not None and not running.done():
            return self._states[entry.name]
        final, part = self._final(entry), self._part(entry)
        if await asyncio.to_thread(final.is_file):
            raise DownloadError(
                f"{entry.name} is already installed: {final}.",
                f"Use it with `keiko models use {entry.name}`.",
            )
        url = download_url(entry, self._mirror())
        await asyncio.to_thread(private_dir, self.folder)
        have = await asyncio.to_thread(_size, part)
        known = self._states.get(entry.name)
        total = known.total_bytes if known is not None and known.total_bytes else entry.size_bytes
        need = int(max(0, total - have) * (1 + DISK_MARGIN))
        free = await asyncio.to_thread(self._free_space, self.folder)
        if free < need:
            mount = await asyncio.to_thread(mount_of, self.folder)
            raise DownloadError(
                f"Not enough free space on {mount}: {human_size(free)} free, "
                f"{human_size(need)} needed.",
                "Free some disk space, then download again.",
            )
        self._states[entry.name] = DownloadState(
            entry.name, url, str(final), total, have, "downloading"
        )
        self._update(entry.name, force=True)
        await self._save()
        self._tasks[entry.name] = asyncio.create_task(
            self._run(entry, url), name=f"download-{entry.name}"
        )
        return self._states[entry.name]

    def _client(self) -> httpx2.AsyncClient:
        async def check(request: httpx2.Request) -> None:  # every request, redirects too
            if not allowed_url(str(request.url)):
                raise DownloadError(
                    f"Refusing to download from {request.url.copy_with(query=None)}: only "
                    "https addresses (or http on this machine) are allowed.",
                    "Check the download mirror setting.",
                )

        return httpx2.AsyncClient(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx2.Timeout(30.0, read=60.0),
            event_hooks={"request": [check]},
            headers={"User-Agent": "keiko-desktop"},
            transport=self._transport,
        )

    async def _fetch(self, entry: CatalogEntry, url: str) -> Fetched:
        """Fetch the part, retrying (resuming) a cut or refused connection a few times."""
        name = entry.name
        started, start_size = time.monotonic(), self._states[name].done_bytes

        def progress(done: int, total: int) -> None:
            elapsed = time.monotonic() - started
            rate = (done - start_size) / elapsed if elapsed > 0 else 0.0
            self._update(name, done_bytes=done, total_bytes=total, bytes_per_second=rate)

        attempt = 0
        while True:
            try:
                async with self._client() as client:
                    return await fetch(
                        client,
                        url,
                        self._part(entry),
                        max_bytes=int(entry.size_bytes * SIZE_SLACK),
                        on_progress=progress,
                        opener=self._opener,
                    )
            except httpx2.TooManyRedirects as exc:
                raise DownloadError(
                    f"The server redirected the download of {entry.name} too often.",
                    "Check the download mirror setting.",
                ) from exc
            except DiskFullError:
                raise
            except DownloadError as exc:
                if not exc.retry or attempt >= self._retries:
                    raise
                attempt += 1
                log.info("%s: %s; retry %d", name, exc.message, attempt)
                await asyncio.sleep(self._retry_delay * attempt)

    async def _run(self, entry: CatalogEntry, url: str) -> None:
        name, part, final = entry.name, self._part(entry), self._final(entry)
        try:
            result = await self._fetch(entry, url)
            self._update(
                name, status="verifying", done_bytes=result.total, total_bytes=result.total
            )
            if entry.sha256 and result.sha256 != entry.sha256:
                await asyncio.to_thread(remove_quietly, part)
                raise DownloadError(
                    f"The download of {name} is damaged (checksum mismatch).",
                    "Download it again; if it keeps failing, try another mirror.",
                )
            try:
                await asyncio.to_thread(validate_gguf, part)
            except ModelLoadError as exc:
                await asyncio.to_thread(remove_quietly, part)
                reason = exc.message.replace(str(part), "the file").rstrip(".")
                raise DownloadError(
                    f"The download of {name} is not a usable GGUF model file ({reason}).",
                    "Check the download mirror setting, then download it again.",
                ) from exc
            await asyncio.to_thread(os.replace, part, final)
            self._digests[name] = result.sha256
            note = ""
            try:
                self._installed.add(str(final))
            except (KeikoError, OSError) as exc:
                log.warning("%s downloaded but not added to the models: %s", name, exc)
                note = f"Downloaded, but not added to the model list: {exc}"
            self._update(name, status="done", error=note, hint="", bytes_per_second=0.0)
        except asyncio.CancelledError:
            raise  # pause() or aclose(): the state says what happens next
        except (KeikoError, OSError) as exc:
            if isinstance(exc, KeikoError):
                message, hint = exc.message, exc.hint
            else:
                message = f"The download of {name} failed: {exc.strerror or exc}."
                hint = "Check the models folder and the disk, then download again."
            self._update(name, status="failed", error=message, hint=hint, bytes_per_second=0.0)
        finally:
            self._tasks.pop(name, None)
        await self._save()

    async def wait(self, name: str) -> DownloadState:
        """Until the download of ``name`` stops (done, failed, paused); its state."""
        task = self._tasks.get(name.strip().lower())
        if task is not None:
            await asyncio.wait([task])
        return self._states[name.strip().lower()]

    async def _stop(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def pause(self, name: str) -> None:
        entry = self._entry(name)
        state = self._states.get(entry.name)
        if state is None or state.status == "done":
            raise DownloadError(f"No download of {entry.name} to pause.")
        await self._stop(entry.name)
        done = await asyncio.to_thread(_size, self._part(entry))
        self._update(entry.name, status="paused", done_bytes=done, bytes_per_second=0.0)
        await self._save()

    async def resume_interrupted(self) -> list[str]:
        resumed = []
        for state in list(self._states.values()):
            if state.status != "downloading" or state.name in self._tasks:
                continue
            try:
                await self.download(state.name)
                resumed.append(state.name)
            except KeikoError as exc:
                self._update(state.name, status="failed", error=exc.message, hint=exc.hint)
                await self._save()
        return resumed

    async def remove(self, name_or_path: str) -> None:
        wanted = name_or_path.strip()
        entry = self._entries.get(wanted.lower()) or next(
            (e for e in self._entries.values() if same_path(str(self._final(e)), wanted)), None
        )
        if entry is not None and entry.bundled:
            raise DownloadError(
                f"{entry.name} is bundled with Keiko and cannot be removed.",
                "Pick another model with `keiko models use NAME` instead.",
            )
        if entry is not None:
            final, part = self._final(entry), self._part(entry)
            if entry.name not in self._states and not await asyncio.to_thread(
                lambda: final.exists() or part.exists()
            ):
                raise DownloadError(f"{entry.name} is not downloaded.")
            await self._stop(entry.name)
            await asyncio.to_thread(remove_quietly, part)
            await asyncio.to_thread(remove_quietly, final)
            self._states.pop(entry.name, None)
            self._digests.pop(entry.name, None)
            await self._save()
            self._installed.forget(str(final))
            return
        added = self._installed.added()
        match = next((p for p in added if same_path(p, wanted)), None)
        if match is None:
            raise DownloadError(
                f"No downloaded or added model {wanted!r}.",
                "`keiko models list` shows them; give a catalog name or the file's path.",
            )
        self._installed.forget(match)  # the user's file stays

    async def aclose(self) -> None:
        """Stop every download; each stays ``downloading`` in the state file, so the next
        start resumes it."""
        for name in list(self._tasks):
            await self._stop(name)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
