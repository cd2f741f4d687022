"""DownloadLibrary against the real local file server, through the mirror setting: a whole
download with its checksum, a resume after a cut, a damaged file, not enough disk, a full disk
mid-way, a restart (a new library resumes from downloads.json), pause, remove, the catalog."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.downloads import ModelDownloadChanged, ModelLibrary, ModelOptions
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus
from keiko_desktop.llm.downloader import open_append
from keiko_desktop.llm.model_library import DownloadLibrary
from tests.helpers.file_server import FileServer, Script

FILE_PATH = "/org/tiny-GGUF/resolve/main/tiny.Q4.gguf"
DATA = b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + os.urandom(3 * 1024 * 1024)
DIGEST = hashlib.sha256(DATA).hexdigest()


def write_catalog(folder: Path, sha256: str = "", size: int = len(DATA)) -> Path:
    path = folder / "catalog.toml"
    path.write_text(
        f"""
[[models]]
name = "bundled-one"
title = "Bundled"
parameters = "1M"
quantization = "Q4"
size_bytes = 100
ram_gb = 0.1
license = "MIT"
url = "https://huggingface.co/org/b/resolve/main/b.gguf"
sha256 = ""
bundled = true

[[models]]
name = "tiny"
title = "Tiny"
parameters = "3M"
quantization = "Q4"
size_bytes = {size}
ram_gb = 0.5
license = "MIT"
url = "https://huggingface.co{FILE_PATH}"
sha256 = "{sha256}"

[[models]]
name = "huge"
title = "Huge"
parameters = "1T"
quantization = "Q4"
size_bytes = 1000
ram_gb = 100000.0
license = "MIT"
url = "https://huggingface.co/org/h/resolve/main/h.gguf"
sha256 = ""
"""
    )
    return path


class Installed:
    """InstalledModels in memory, recording what the library asked."""

    def __init__(self, *paths: str) -> None:
        self.paths = list(paths)

    def added(self) -> tuple[str, ...]:
        return tuple(self.paths)

    def add(self, path: str) -> None:
        self.paths.append(path)

    def forget(self, path: str) -> None:
        self.paths = [p for p in self.paths if p != path]


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as s:
        s.add(FILE_PATH, DATA)
        yield s


def library(
    paths: Paths, server: FileServer, installed: Installed | None = None, **kw: Any
) -> DownloadLibrary:
    catalog = write_catalog(paths.cache_dir, kw.pop("sha256", ""))
    kw.setdefault("retry_delay", 0.01)
    return DownloadLibrary(
        paths,
        installed or Installed(),
        mirror=lambda: server.base,
        catalog_path=catalog,
        locate_bundled=lambda: paths.cache_dir / "b.gguf",
        **kw,
    )


def test_it_implements_the_port(paths: Paths, server: FileServer) -> None:
    lib: ModelLibrary = library(paths, server)
    assert lib.gpu_offload in (True, False)


async def test_download_verifies_installs_and_publishes_progress(
    paths: Paths, server: FileServer
) -> None:
    bus = EventBus()
    events: list[ModelDownloadChanged] = []
    bus.subscribe(ModelDownloadChanged, events.append)
    installed = Installed()
    lib = library(paths, server, installed, bus=bus, sha256=DIGEST)
    started = await lib.download("tiny")
    assert started.status == "downloading"
    assert started.url == server.url(FILE_PATH)  # the mirror replaced huggingface.co
    state = await lib.wait("tiny")
    assert state.status == "done", state.error
    final = paths.data_dir / "models" / "tiny.Q4.gguf"
    assert final.read_bytes() == DATA
    assert not final.with_name("tiny.Q4.gguf.part").exists()
    assert installed.paths == [str(final)]
    statuses = [e.state.status for e in events]
    assert statuses[0] == "downloading"
    assert statuses[-2:] == ["verifying", "done"]
    saved = json.loads((paths.data_dir / "models" / "downloads.json").read_text())
    assert saved["downloads"][0]["sha256"] == DIGEST
    assert saved["downloads"][0]["status"] == "done"
    assert oct((paths.data_dir / "models" / "downloads.json").stat().st_mode & 0o777) == "0o600"
    tiny = next(m for m in lib.catalog() if m.name == "tiny")
    assert tiny.installed_path == str(final)
    with pytest.raises(KeikoError, match="already installed"):
        await lib.download("tiny")


async def test_an_unknown_checksum_is_recorded(paths: Paths, server: FileServer) -> None:
    lib = library(paths, server)
    await lib.download("tiny")
    assert (await lib.wait("tiny")).status == "done"
    assert lib.sha256("tiny") == DIGEST


async def test_a_cut_is_retried_and_resumes_where_it_stopped(
    paths: Paths, server: FileServer
) -> None:
    server.script(FILE_PATH, Script(cut_after=1_200_000))
    lib = library(paths, server, sha256=DIGEST)
    await lib.download("tiny")
    state = await lib.wait("tiny")
    assert state.status == "done", state.error
    first, resumed = server.log[-2:]
    assert first.range is None
    assert first.body_bytes == 1_200_000
    assert resumed.status == 206
    assert resumed.range == "bytes=1200000-"
    assert resumed.body_bytes == len(DATA) - 1_200_000 < len(DATA)
    assert (paths.data_dir / "models" / "tiny.Q4.gguf").read_bytes() == DATA


async def test_a_damaged_download_is_deleted_and_fails(paths: Paths, server: FileServer) -> None:
    server.script(FILE_PATH, Script(corrupt=True))
    installed = Installed()
    lib = library(paths, server, installed, sha256=DIGEST)
    await lib.download("tiny")
    state = await lib.wait("tiny")
    assert state.status == "failed"
    assert state.error == "The download of tiny is damaged (checksum mismatch)."
    assert not any((paths.data_dir / "models").glob("tiny.Q4.gguf*"))
    assert installed.paths == []


async def test_a_file_that_is_not_gguf_is_refused(paths: Paths, server: FileServer) -> None:
    server.add(FILE_PATH, b"<html>not a model</html>" * 100)
    lib = library(paths, server)
    await lib.download("tiny")
    state = await lib.wait("tiny")
    assert state.status == "failed"
    assert "not a usable GGUF model file" in state.error


async def test_not_enough_free_space_refuses_to_start(paths: Paths, server: FileServer) -> None:
    lib = library(paths, server, free_space=lambda _folder: len(DATA))  # the 5 % margin is short
    with pytest.raises(KeikoError) as refused:
        await lib.download("tiny")
    assert refused.value.message.startswith("Not enough free space on /")
    assert "3.0 MB free, 3.2 MB needed." in refused.value.message
    assert server.log == []


async def test_a_full_disk_mid_way_fails_and_keeps_the_part_for_later(
    paths: Paths, server: FileServer
) -> None:
    room = 2_000_000

    def full(path: Path) -> BinaryIO:
        real = open_append(path)

        class Writer:
            def write(self, data: bytes) -> int:
                nonlocal room
                if len(data) > room:
                    real.write(data[:room])
                    room = 0
                    raise OSError(errno.ENOSPC, "No space left on device", str(path))
                room -= len(data)
                return real.write(data)

            def close(self) -> None:
                real.close()

        return Writer()  # type: ignore[return-value]

    lib = library(paths, server, opener=full, sha256=DIGEST)
    await lib.download("tiny")
    state = await lib.wait("tiny")
    assert state.status == "failed"
    assert state.error.startswith("The disk is full")
    part = paths.data_dir / "models" / "tiny.Q4.gguf.part"
    assert part.stat().st_size == 2_000_000
    fresh = library(paths, server, sha256=DIGEST)  # space freed
    await fresh.download("tiny")
    assert (await fresh.wait("tiny")).status == "done"
    assert server.log[-1].range == "bytes=2000000-"


async def test_a_new_library_resumes_an_interrupted_download(
    paths: Paths, server: FileServer
) -> None:
    server.script(FILE_PATH, Script(delay=0.05))
    lib = library(paths, server, sha256=DIGEST)
    await lib.download("tiny")
    part = paths.data_dir / "models" / "tiny.Q4.gguf.part"
    for _ in range(200):
        await asyncio.sleep(0.05)
        if part.exists() and part.stat().st_size >= 1 << 20:
            break
    await lib.aclose()  # Keiko closes mid-download
    kept = part.stat().st_size
    assert 0 < kept < len(DATA)
    server.script(FILE_PATH, Script())
    again = library(paths, server, sha256=DIGEST)
    assert again.downloads()[0].status == "downloading"
    assert again.downloads()[0].done_bytes == kept
    assert await again.resume_interrupted() == ["tiny"]
    assert (await again.wait("tiny")).status == "done"
    # The first request may be logged last (its handler ends after the client left).
    assert [s.range for s in server.log if s.range] == [f"bytes={kept}-"]
    assert (paths.data_dir / "models" / "tiny.Q4.gguf").read_bytes() == DATA


async def test_pause_keeps_the_part_and_is_not_resumed_at_start(
    paths: Paths, server: FileServer
) -> None:
    server.script(FILE_PATH, Script(delay=0.05))
    lib = library(paths, server)
    await lib.download("tiny")
    await asyncio.sleep(0.3)
    await lib.pause("tiny")
    state = lib.state("tiny")
    assert state is not None
    assert state.status == "paused"
    assert state.done_bytes == (paths.data_dir / "models" / "tiny.Q4.gguf.part").stat().st_size
    again = library(paths, server)
    assert await again.resume_interrupted() == []
    assert again.downloads()[0].status == "paused"


async def test_remove_deletes_a_download_but_only_forgets_an_added_file(
    paths: Paths, server: FileServer, tmp_path: Path
) -> None:
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(DATA)
    installed = Installed(str(mine))
    lib = library(paths, server, installed)
    await lib.download("tiny")
    await lib.wait("tiny")
    final = paths.data_dir / "models" / "tiny.Q4.gguf"
    assert str(final) in installed.paths
    await lib.remove("tiny")
    assert not final.exists()
    assert installed.paths == [str(mine)]
    assert lib.downloads() == []
    await lib.remove(str(mine))
    assert mine.exists()
    assert installed.paths == []
    with pytest.raises(KeikoError, match="bundled"):
        await lib.remove("bundled-one")
    with pytest.raises(KeikoError, match="not downloaded"):
        await lib.remove("tiny")
    with pytest.raises(KeikoError, match="No downloaded or added model"):
        await lib.remove(str(tmp_path / "other.gguf"))


async def test_a_mirror_that_redirects_elsewhere_over_http_is_refused(
    paths: Paths, server: FileServer
) -> None:
    server.script(FILE_PATH, Script(redirect_to="http://example.com/tiny.gguf"))
    lib = library(paths, server)
    await lib.download("tiny")
    state = await lib.wait("tiny")
    assert state.status == "failed"
    assert "Refusing to download from http://example.com/tiny.gguf" in state.error


async def test_unknown_and_bundled_names_are_refused(paths: Paths, server: FileServer) -> None:
    lib = library(paths, server)
    with pytest.raises(KeikoError, match="no model 'nope'") as unknown:
        await lib.download("nope")
    assert "tiny" in unknown.value.hint
    with pytest.raises(KeikoError, match="bundled"):
        await lib.download("bundled-one")


def test_catalog_marks_what_fits_and_what_is_installed(paths: Paths, server: FileServer) -> None:
    (paths.cache_dir / "b.gguf").write_bytes(DATA)
    models = {m.name: m for m in library(paths, server).catalog()}
    assert models["tiny"].fits
    assert not models["huge"].fits
    assert models["bundled-one"].installed_path == str(paths.cache_dir / "b.gguf")
    assert models["tiny"].installed_path == ""


def test_options_are_kept_per_model(paths: Paths, server: FileServer) -> None:
    lib = library(paths, server)
    lib.set_options("tiny", ModelOptions(context_length=2048, threads=2))
    assert library(paths, server).options("tiny") == ModelOptions(context_length=2048, threads=2)
    assert lib.options("other") == ModelOptions()


def test_a_tampered_state_file_is_not_trusted(paths: Paths, server: FileServer) -> None:
    folder = paths.data_dir / "models"
    folder.mkdir(parents=True)
    rows = [
        {"name": "tiny", "url": "x", "path": "/etc/passwd", "status": "downloading"},
        {"name": "nope", "url": "x", "path": str(folder / "n.gguf"), "status": "done"},
        {"name": "tiny", "url": "x", "path": str(folder / "tiny.Q4.gguf"), "status": "weird"},
    ]
    (folder / "downloads.json").write_text(json.dumps({"downloads": rows}))
    assert library(paths, server).downloads() == []
    (folder / "downloads.json").write_text("{not json")
    assert library(paths, server).downloads() == []
