"""AttachmentService over the real extractor, a real SQLite file and real files: copies by
hash, refusals before reading, nothing half-stored on any failure or cancel, and the sweep."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.files.service import AttachmentService, display_name
from keiko_desktop.core.files.types import AttachmentError, Extracted, FileKind
from keiko_desktop.documents import DocumentExtractor
from keiko_desktop.store import Database
from keiko_desktop.store.attachments import SqliteAttachmentRepository
from tests.helpers.documents import (
    make_binary,
    make_encrypted_pdf,
    make_gguf,
    make_pdf,
    make_text,
    page_text,
    png_bytes,
)
from tests.helpers.loop_gaps import loop_gaps

MB = 1024 * 1024


class Holder:
    def __init__(self) -> None:
        self.settings = Settings()


@pytest.fixture
def holder() -> Holder:
    return Holder()


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    return tmp_path / "keiko-home" / "data" / "files"


def _service(
    database: Database, bus: EventBus, holder: Holder, files_dir: Path, extractor: object = None
) -> AttachmentService:
    return AttachmentService(
        SqliteAttachmentRepository(database),
        extractor or DocumentExtractor(),  # type: ignore[arg-type]
        files_dir,
        lambda: holder.settings,
        bus,
    )


@pytest.fixture
def service(
    database: Database, bus: EventBus, holder: Holder, files_dir: Path
) -> AttachmentService:
    return _service(database, bus, holder, files_dir)


async def _rows(database: Database) -> tuple[int, int, int]:
    def run(session: object) -> tuple[int, int, int]:
        return tuple(  # type: ignore[return-value]
            session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # type: ignore[attr-defined]
            for t in ("attachments", "chunks", "attachment_pages")
        )

    return await database.read(run)  # type: ignore[arg-type]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _stored_files(files_dir: Path) -> list[str]:
    if not files_dir.exists():
        return []
    return sorted(str(p.relative_to(files_dir)) for p in files_dir.rglob("*") if p.is_file())


async def test_ingest_copies_by_hash_privately_and_reports_progress_on_the_loop(
    service: AttachmentService, database: Database, files_dir: Path, tmp_path: Path
) -> None:
    source = make_text(tmp_path / "notes.md", "# Owls\n\nOwls hunt at night.\n\nThey are quiet.")
    seen: list[tuple[float, bool]] = []
    loop_thread = threading.get_ident()

    info = await service.ingest(
        source, progress=lambda f: seen.append((f, threading.get_ident() == loop_thread))
    )
    assert (info.name, info.kind, info.mime, info.size) == (
        "notes.md",
        "markdown",
        "text/markdown",
        source.stat().st_size,
    )
    assert info.chunks >= 1
    assert info.chars > 0
    assert info.pages == 1
    copy = service.stored_path(info)
    assert copy == files_dir / info.sha256[:2] / info.sha256
    assert copy.read_bytes() == source.read_bytes()
    assert _mode(copy) == 0o600
    assert _mode(files_dir) == 0o700
    assert _mode(copy.parent) == 0o700
    assert _stored_files(files_dir) == [f"{info.sha256[:2]}/{info.sha256}"]  # no .part left
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert any(0 < f <= 0.3 for f in fractions)
    assert all(on_loop for _, on_loop in seen)
    pages = await service.pages(info.id)
    assert "Owls hunt at night." in pages[0].text

    # The same bytes under another name: the same attachment, no second copy.
    twin = make_text(tmp_path / "copy-of-notes.md", source.read_text())
    assert (await service.ingest(twin)).id == info.id
    assert await _rows(database) == (1, info.chunks, 1)
    assert len(_stored_files(files_dir)) == 1


async def test_a_pdf_keeps_its_pages(service: AttachmentService, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "report.pdf", [page_text(n) for n in range(1, 4)])
    info = await service.ingest(pdf)
    assert (info.kind, info.pages) == ("pdf", 3)
    pages = await service.pages(info.id)
    assert [p.page for p in pages] == [1, 2, 3]
    assert "pagemarker2" in pages[1].text
    found = await service.repo.search([info.id], '"pagemarker3"', 5)
    assert [p.chunk.page for p in found] == [3]
    assert found[0].label == "[report.pdf, p. 3]"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nothing-here.txt", "nothing-here.txt is not there"),
        (lambda d: (d / "folder").mkdir() or d / "folder", "folder is a folder"),
        (lambda d: make_binary(d / "blob.bin"), "blob.bin looks like a binary file"),
        (lambda d: make_gguf(d / "tiny.gguf"), "tiny.gguf is a model file"),
        (lambda d: make_binary(d / "song.mp3"), "song.mp3 is audio"),
        (lambda d: make_encrypted_pdf(d / "locked.pdf"), "locked.pdf is password-protected"),
    ],
)
async def test_bad_files_are_refused_clearly_and_leave_nothing(
    service: AttachmentService,
    database: Database,
    files_dir: Path,
    tmp_path: Path,
    make: Callable[[Path], Path],
    message: str,
) -> None:
    path = make(tmp_path)
    with pytest.raises(AttachmentError) as caught:
        await service.ingest(path)
    assert message in caught.value.message
    assert caught.value.hint
    assert await _rows(database) == (0, 0, 0)
    assert _stored_files(files_dir) == []


async def test_a_file_over_the_limit_is_refused_before_it_is_read(
    service: AttachmentService, holder: Holder, files_dir: Path, tmp_path: Path
) -> None:
    holder.settings = replace(holder.settings, attachment_max_mb=1)
    big = make_text(tmp_path / "big.txt", "word " * (MB // 4))  # 1.25 MB
    with pytest.raises(AttachmentError) as caught:
        await service.ingest(big)
    assert "big.txt is 1.2 MB, over the 1 MB limit" in caught.value.message
    assert "attachment_max_mb" in caught.value.hint
    assert _stored_files(files_dir) == []
    with pytest.raises(AttachmentError, match="over the 1 MB limit"):
        await service.ingest_bytes(b"x" * (MB + 1), "pasted.txt")


class GatedExtractor:
    """The real extractor, held at its start until released (to cancel an ingest mid-way)."""

    def __init__(self) -> None:
        self.real = DocumentExtractor()
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def classify(self, path: Path) -> FileKind:
        return self.real.classify(path)

    def extract(self, path: Path, kind: FileKind, **kwargs: object) -> Extracted:
        self.started.set()
        try:
            cancelled = kwargs["cancelled"]
            while not self.release.wait(0.01):
                if cancelled():  # type: ignore[operator]
                    raise AttachmentError("cancelled", "")
            return self.real.extract(path, kind, **kwargs)  # type: ignore[arg-type]
        finally:
            self.finished.set()


async def test_cancelling_an_ingest_stops_its_thread_and_leaves_nothing(
    database: Database, bus: EventBus, holder: Holder, files_dir: Path, tmp_path: Path
) -> None:
    gated = GatedExtractor()
    service = _service(database, bus, holder, files_dir, gated)
    source = make_text(tmp_path / "a.txt", "Some text to attach.")
    task = asyncio.ensure_future(service.ingest(source))
    assert await asyncio.to_thread(gated.started.wait, 5)
    assert any(name.endswith(".part") for name in _names(files_dir))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gated.finished.is_set()  # the thread was told and waited for
    assert _stored_files(files_dir) == []
    assert await _rows(database) == (0, 0, 0)


async def test_a_copy_that_cannot_be_placed_takes_its_row_back(
    service: AttachmentService,
    database: Database,
    files_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_room(part: Path, sha: str, known: bool) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service, "_place", no_room)
    with pytest.raises(AttachmentError, match="could not be stored: No space left") as caught:
        await service.ingest(make_text(tmp_path / "a.txt", "text"))
    assert caught.value.hint
    assert await _rows(database) == (0, 0, 0)
    assert _stored_files(files_dir) == []


async def test_a_failing_store_leaves_no_part_file(
    service: AttachmentService, files_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keiko_desktop.core.errors import StoreError

    async def locked(*args: object) -> None:
        raise StoreError("The database is locked.", "Try again.")

    monkeypatch.setattr(service.repo, "add", locked)
    with pytest.raises(StoreError):
        await service.ingest(make_text(tmp_path / "a.txt", "text"))
    assert _stored_files(files_dir) == []


async def test_ingest_bytes_stores_a_pasted_image_and_cleans_up(
    service: AttachmentService, files_dir: Path
) -> None:
    info = await service.ingest_bytes(png_bytes(), "../../Screenshot\x07.png")
    assert (info.name, info.kind, info.mime, info.pages, info.chunks) == (
        "Screenshot .png",
        "image",
        "image/png",
        0,
        0,
    )
    assert service.stored_path(info).read_bytes() == png_bytes()
    assert _names(files_dir) == [info.sha256[:2]]  # no temp folder left


def test_display_names_are_one_bounded_line() -> None:
    assert display_name("a/b\\c.txt") == "c.txt"
    assert display_name("\n\t ") == "pasted"
    long = display_name("x" * 400 + ".pdf")
    assert len(long) == 255
    assert long.endswith(".pdf")


async def test_discard_removes_an_unlinked_attachment_and_keeps_a_linked_one(
    service: AttachmentService, database: Database, files_dir: Path, tmp_path: Path
) -> None:
    loose = await service.ingest(make_text(tmp_path / "loose.txt", "loose"))
    kept = await service.ingest(make_text(tmp_path / "kept.txt", "kept"))
    chat = await database.conversations.create_conversation("c")
    message = await database.conversations.add_message(chat.id, "user", "see")
    await service.link(message.id, [kept.id])

    assert await service.discard(loose.id) is True
    assert not service.stored_path(loose).exists()
    assert await service.discard(kept.id) is False
    assert service.stored_path(kept).exists()
    assert [i.id for i in await service.for_message(message.id)] == [kept.id]
    assert [i.id for i in await service.for_conversation(chat.id)] == [kept.id]


async def test_sweep_removes_leftovers_and_old_unlinked_attachments_only(
    service: AttachmentService, database: Database, files_dir: Path, tmp_path: Path
) -> None:
    old = await service.ingest(make_text(tmp_path / "old.txt", "old and unlinked"))
    young = await service.ingest(make_text(tmp_path / "young.txt", "young and unlinked"))
    linked = await service.ingest(make_text(tmp_path / "linked.txt", "old but linked"))
    chat = await database.conversations.create_conversation("c")
    message = await database.conversations.add_message(chat.id, "user", "see")
    await service.link(message.id, [linked.id])
    await database.write(
        lambda s: s.execute(
            text("UPDATE attachments SET created_at = '2020-01-01 00:00:00' WHERE id IN (:a, :b)"),
            {"a": old.id, "b": linked.id},
        )
    )
    stale_part = files_dir / "123-dead.part"
    stale_part.write_bytes(b"half")
    os.utime(stale_part, (time.time() - 7200, time.time() - 7200))
    fresh_part = files_dir / "456-busy.part"  # another process may be writing it
    fresh_part.write_bytes(b"busy")
    orphan = files_dir / ("c" * 2) / ("c" * 64)
    orphan.parent.mkdir()
    orphan.write_bytes(b"no row names me")

    assert await service.sweep() == 3  # the stale part, the old attachment, the orphan
    assert not stale_part.exists()
    assert fresh_part.exists()
    assert not orphan.exists()
    assert await service.repo.get(old.id) is None
    assert not service.stored_path(old).exists()
    for kept in (young, linked):
        assert await service.repo.get(kept.id) is not None
        assert service.stored_path(kept).exists()
    assert await service.sweep() == 0


async def test_sweep_never_raises(
    service: AttachmentService, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await database.aclose()
    with caplog.at_level(logging.ERROR):
        assert await service.sweep() == 0
    assert "could not sweep" in caplog.text


async def test_ingesting_a_long_pdf_keeps_the_loop_running(
    service: AttachmentService, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "long.pdf", [page_text(n, 30) for n in range(1, 61)])
    async with loop_gaps() as gaps:
        info = await service.ingest(pdf)
    assert info.pages == 60
    assert gaps.longest < 0.1, f"the loop stalled {gaps.longest * 1000:.0f} ms"
