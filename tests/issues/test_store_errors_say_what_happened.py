"""Regression (issue 9, item 12b): store errors that misled.

A full disk was reported as "a disk error… check it is still connected" and doctor suggested
moving the database aside; a read-only data folder and a locked database were both "quit other
Keiko windows"; while the database was locked, doctor said ✓ (it only read, and WAL readers are
never blocked). Each condition now has its own message and fix, and doctor tests the write
lock itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from keiko_desktop.cli.doctor import check_database
from keiko_desktop.core.config import Paths
from keiko_desktop.core.errors import StoreError
from keiko_desktop.store import failures, open_database
from keiko_desktop.store.database import inspect_database
from tests.helpers.cli import keiko_env
from tests.unit.store.store_helpers import run_as_nobody, seed

# ---------------------------------------------------------------------- a full disk


async def test_sqlite_full_names_the_mount_and_says_free_space(paths: Paths) -> None:
    await seed(paths.database)
    db = await open_database(paths.database)
    try:

        def cap(session: Session) -> None:
            conn = session.connection()
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL past this

        await db.write(cap)
        [c] = await db.conversations.list_conversations()
        with pytest.raises(StoreError) as caught:
            await db.conversations.add_message(c.id, "user", "x" * 2_000_000)
    finally:
        await db.aclose()
    text = str(caught.value)
    mount = str(failures.mount_point(paths.database))
    assert "full" in caught.value.message
    assert f"Free some disk space on {mount}" in caught.value.hint
    assert "connected" not in text
    assert "move" not in text.lower()


def test_a_disk_io_error_on_a_full_disk_is_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed -shm/-wal resize on a full disk comes back as SQLITE_IOERR, not SQLITE_FULL."""
    path = tmp_path / "keiko.sqlite3"
    ioerr = sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(failures, "free_space", lambda _p: 0)
    full = failures.store_error(ioerr, path)
    assert "is full" in full.message
    assert "Free some disk space on" in full.hint
    assert "connected" not in str(full)
    monkeypatch.setattr(failures, "free_space", lambda _p: 50 * 10**9)
    other = failures.store_error(ioerr, path)
    assert "disk error" in other.message  # with room left it is the disk, as before
    enospc = failures.store_error(OSError(28, "No space left on device"), path)
    assert "Free some disk space" in enospc.hint


def test_doctor_reports_a_full_disk_as_full(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(seed(paths.database))
    monkeypatch.setattr(failures, "free_space", lambda _p: 4096)
    check = check_database(paths)
    assert check.level == "fail"
    assert "full" in check.detail
    assert "Free some disk space on" in check.fix
    assert "move" not in check.fix.lower()


@pytest.fixture
def small_tmpfs() -> Iterator[Path]:
    """A real 1 MB file system (root only: mount)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    folder = Path(tempfile.mkdtemp(prefix="keiko-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr!r}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        folder.rmdir()


async def test_a_really_full_disk_is_reported_as_full(small_tmpfs: Path) -> None:
    path = small_tmpfs / "keiko.sqlite3"
    db = await open_database(path)
    try:
        c = await db.conversations.create_conversation("")
        caught: StoreError | None = None
        for _ in range(100):
            try:
                await db.conversations.add_message(c.id, "user", uuid.uuid4().hex * 2000)
            except StoreError as exc:
                caught = exc
                break
    finally:
        await db.aclose()
    assert caught is not None, "a 1 MB disk took 6 MB"
    assert "full" in caught.message, str(caught)
    assert f"Free some disk space on {small_tmpfs}" in caught.hint


async def test_a_disk_full_before_the_database_opens_is_full_not_a_disk_error(
    small_tmpfs: Path,
) -> None:
    """The case the issue saw: with no byte left, SQLite's -shm/-wal work fails as "disk I/O
    error", which was reported as a disk to check ("still connected?")."""
    path = small_tmpfs / "data" / "keiko.sqlite3"
    await (await open_database(path)).aclose()
    with contextlib.suppress(OSError), (small_tmpfs / "filler").open("wb") as filler:
        while True:
            filler.write(b"\0" * 4096)
            filler.flush()

    async def write() -> None:
        db = await open_database(path)
        try:
            c = await db.conversations.create_conversation("")
            await db.conversations.add_message(c.id, "user", "hello")
        finally:
            await db.aclose()

    with pytest.raises(StoreError) as caught:
        await write()
    assert "is full" in caught.value.message, str(caught.value)
    assert f"Free some disk space on {small_tmpfs}" in caught.value.hint
    assert "connected" not in str(caught.value)
    check = check_database(Paths(small_tmpfs / "config", path.parent, small_tmpfs / "cache"))
    assert check.level == "fail"
    assert "is full" in check.detail
    assert f"Free some disk space on {small_tmpfs}" in check.fix
    assert "move" not in check.fix.lower()


# ---------------------------------------------------------------------- read-only


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside the (root-only) pytest tmp tree, so uid nobody can reach it."""
    path = Path(tempfile.mkdtemp(prefix="keiko-store-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _doctor_in(path: Path) -> tuple[str, str]:
    try:
        inspect_database(path)
    except StoreError as exc:
        return exc.message, exc.hint
    return "", ""


def _as_nobody(path: Path) -> tuple[str, str]:
    if os.geteuid() != 0:
        return _doctor_in(path)
    result = run_as_nobody(lambda: _doctor_in(path))
    assert isinstance(result, tuple), result
    assert result[0] == "returned", result
    outcome = result[1]
    assert isinstance(outcome, tuple)
    return outcome


def test_a_read_only_data_folder_names_its_permissions(shared_dir: Path) -> None:
    folder = shared_dir / "data"
    folder.mkdir()
    asyncio.run(seed(folder / "keiko.sqlite3"))
    for leftover in folder.glob("keiko.sqlite3-*"):
        leftover.unlink()
    (folder / "keiko.sqlite3").chmod(0o666)  # the file is writable: only the folder is not
    folder.chmod(0o555)
    try:
        message, hint = _as_nobody(folder / "keiko.sqlite3")
    finally:
        folder.chmod(0o755)
    assert "read-only" in message
    assert f"permissions of {folder}" in hint
    assert "Keiko window" not in message + hint


def test_a_read_only_file_names_the_file(shared_dir: Path) -> None:
    path = shared_dir / "keiko.sqlite3"
    asyncio.run(seed(path))
    path.chmod(0o444)
    message, hint = _as_nobody(path)
    assert "the file is read-only" in message
    assert f"permissions of {path}" in hint


def test_a_missing_database_in_a_read_only_folder(shared_dir: Path) -> None:
    folder = shared_dir / "data"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        message, hint = _as_nobody(folder / "keiko.sqlite3")
    finally:
        folder.chmod(0o755)
    assert "read-only" in message
    assert f"permissions of {folder}" in hint


# ---------------------------------------------------------------------- locked


def test_doctor_finds_a_write_lock_and_names_who_holds_it(keiko_home: Path) -> None:
    paths = Paths.from_env()
    asyncio.run(seed(paths.database))
    # The lock is held by a child process, so doctor (this process) can name it.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(paths.database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        check = check_database(paths)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    assert check.level == "fail"
    assert "locked" in check.detail
    assert "write lock" in check.detail
    assert f"process {holder.pid}" in check.detail
    assert "try again" in check.fix
    assert check_database(paths).level == "ok"  # and once it is let go, fine again


def test_the_lock_holder_is_found_in_proc_locks(tmp_path: Path) -> None:
    db = tmp_path / "keiko.sqlite3"
    shm = tmp_path / "keiko.sqlite3-shm"
    db.write_bytes(b"")
    shm.write_bytes(b"")
    ino_db, ino_shm = db.stat().st_ino, shm.stat().st_ino
    locks = (
        f"1: POSIX  ADVISORY  READ 111 08:01:{ino_shm} 123 123\n"  # a reader
        f"2: POSIX  ADVISORY  WRITE 4242 08:01:{ino_shm} 120 120\n"  # the WAL writer
        f"3: POSIX  ADVISORY  WRITE 5151 08:01:{ino_db} 1073741825 1073741825\n"
        f"4: FLOCK  ADVISORY  WRITE 999 08:01:{ino_db} 0 EOF\n"
    )
    assert failures.lock_holders(db, locks) == [4242, 5151]
    assert failures.lock_holders(tmp_path / "other.sqlite3", locks) == []


def test_a_locked_store_error_says_who_and_to_retry(tmp_path: Path) -> None:
    err = failures.locked_error(tmp_path / "keiko.sqlite3")
    assert "another Keiko window or `keiko` command holds a write lock" in err.message
    assert "try again" in err.hint


def test_doctor_still_says_move_aside_for_a_damaged_file(paths: Paths) -> None:
    paths.database.parent.mkdir(parents=True, exist_ok=True)
    paths.database.write_bytes(os.urandom(8192))
    check = check_database(paths)
    assert check.level == "fail"
    assert "damaged" in check.detail
    assert "Move it aside" in check.fix


def test_a_subprocess_doctor_no_longer_says_ok_while_locked(keiko_home: Path) -> None:
    """The whole command, as the issue saw it: ✓ database while another process held the lock."""
    paths = Paths.from_env()
    asyncio.run(seed(paths.database))
    other = sqlite3.connect(paths.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from keiko_desktop.cli.doctor import check_database\n"
                "from keiko_desktop.core.config import Paths\n"
                "c = check_database(Paths.from_env())\n"
                "print(c.level, c.detail, sep='|')\n",
            ],
            env=keiko_env(keiko_home),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    level, _, detail = result.stdout.strip().partition("|")
    assert level == "fail", result
    assert f"process {os.getpid()}" in detail
