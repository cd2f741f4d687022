"""``core/private_files.py``: owner-only folders and files whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keiko_desktop.core.logs import PrivateRotatingFileHandler
from keiko_desktop.core.private_files import (
    ensure_private_file,
    open_private,
    private_dir,
    tighten_file,
    write_private_bytes,
    write_private_text,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


@pytest.fixture(params=[0o022, 0o002, 0o277], ids=["umask022", "umask002", "umask277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_creates_parents_0700_and_tightens_only_the_folder(
    tmp_path: Path, umask: int
) -> None:
    made = private_dir(tmp_path / "a" / "b" / "c")
    assert made == tmp_path / "a" / "b" / "c"
    for folder in (tmp_path / "a", tmp_path / "a" / "b", made):
        assert mode(folder) == 0o700
    outer = tmp_path / "outer"
    (outer / "inner").mkdir(parents=True)
    outer.chmod(0o755)
    (outer / "inner").chmod(0o755)
    private_dir(outer / "inner")
    assert mode(outer / "inner") == 0o700
    assert mode(outer) == 0o755  # a folder above is not Keiko's to change
    (outer / "inner").chmod(0o755)
    private_dir(outer / "inner", tighten=False)
    assert mode(outer / "inner") == 0o755
    assert os.umask(umask) == umask  # never changed


def test_private_dir_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        private_dir(tmp_path / "file")


def test_open_private_creates_0600_and_tightens_on_write(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "log.txt"
    with open_private(path, "a") as fh:
        fh.write("één\n")
    assert mode(path) == 0o600
    assert path.read_text(encoding="utf-8") == "één\n"
    path.chmod(0o644)
    with open_private(path, "a") as fh:
        fh.write("twee\n")
    assert mode(path) == 0o600
    assert path.read_text(encoding="utf-8") == "één\ntwee\n"
    with open_private(path) as fh:
        assert fh.read() == "één\ntwee\n"
    with open_private(tmp_path / "bin", "xb") as out:
        out.write(b"\x00\x01")
    assert mode(tmp_path / "bin") == 0o600
    with pytest.raises(FileExistsError):
        open_private(tmp_path / "bin", "xb")
    with pytest.raises(ValueError, match="invalid mode"):
        open_private(path, "q")


def test_ensure_private_file_creates_or_tightens(tmp_path: Path, umask: int) -> None:
    path = ensure_private_file(tmp_path / "db")
    assert path.read_bytes() == b""
    assert mode(path) == 0o600
    path.write_bytes(b"keep")
    path.chmod(0o644)
    ensure_private_file(path)
    assert (mode(path), path.read_bytes()) == (0o600, b"keep")
    with pytest.raises(IsADirectoryError):
        ensure_private_file(tmp_path)
    assert not tighten_file(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


def test_write_private_text_replaces_atomically(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("old")
    path.chmod(0o644)
    write_private_text(path, "new = 1\n")
    assert path.read_text() == "new = 1\n"
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml"]  # no temp file left
    with pytest.raises(FileNotFoundError):
        write_private_bytes(tmp_path / "no-such-folder" / "x", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml"]


def test_rotated_logs_are_0600(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "keiko.log"
    (tmp_path / "keiko.log.2").write_text("from an older Keiko\n")
    (tmp_path / "keiko.log.2").chmod(0o644)
    handler = PrivateRotatingFileHandler(target, maxBytes=200, backupCount=3, encoding="utf-8")
    log = logging.getLogger("test_private_files.rotation")
    log.propagate = False
    log.addHandler(handler)
    try:
        for n in range(40):
            log.warning("line %d of the log, long enough to rotate soon", n)
    finally:
        log.removeHandler(handler)
        handler.close()
    files = sorted(tmp_path.iterdir())
    assert [p.name for p in files] == ["keiko.log", "keiko.log.1", "keiko.log.2", "keiko.log.3"]
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
