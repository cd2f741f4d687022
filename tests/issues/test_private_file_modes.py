"""Regression (issue 9, item 9): Keiko's files were readable by everyone on the machine.

The database, the logs and settings.toml were created 0644 in folders 0755 (whatever the umask
left), so any local user could read every chat. Now Keiko's folders are 0700 and its files 0600
whatever the umask, folders and files an older Keiko left looser are tightened, and the process
umask is left alone (files the user saves through tools keep their normal modes).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.logs import LOG_FILE, setup_logging
from keiko_desktop.core.settings_file import save_settings
from keiko_desktop.llm.cpu_backends import CACHE_ENV, CpuChoice, CpuConfig, save_cached
from keiko_desktop.store import open_database
from tests.helpers.cli import run_keiko


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """A usual umask (files 0644, folders 0755), restored afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def own_log_handler() -> Iterator[None]:
    """``setup_logging`` adds a handler to the root logger: take it off again."""
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes_under(home: Path) -> dict[str, str]:
    """Every folder and file under ``home`` whose mode is not owner-only, with its mode."""
    loose: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(home):
        for name in dirnames:
            if mode(Path(dirpath, name)) != 0o700:
                loose[os.path.join(dirpath, name)] = oct(mode(Path(dirpath, name)))
        for name in filenames:
            if mode(Path(dirpath, name)) != 0o600:
                loose[os.path.join(dirpath, name)] = oct(mode(Path(dirpath, name)))
    return loose


def import_file(tmp_path: Path) -> Path:
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(json.dumps({"mcpServers": {"helper": {"command": "true", "args": []}}}))
    return source


def test_the_cli_creates_everything_owner_only(keiko_home: Path, tmp_path: Path) -> None:
    history = run_keiko(keiko_home, "history")  # creates the folders, the database and the log
    assert history.returncode == 0, history.stderr
    imported = run_keiko(keiko_home, "mcp", "import", str(import_file(tmp_path)))
    assert imported.returncode == 0, imported.stderr
    paths = Paths.from_env()
    save_settings(paths, Settings())
    for expected in (paths.database, paths.settings_file, paths.log_dir / LOG_FILE):
        assert expected.is_file(), expected
    assert (paths.config_dir / "mcp.json").is_file()
    assert modes_under(keiko_home) == {}


async def test_database_wal_settings_log_and_cache_are_owner_only(
    keiko_home: Path, monkeypatch: pytest.MonkeyPatch, own_log_handler: None
) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    paths = Paths.from_env()
    paths.ensure()
    setup_logging(paths)
    logging.getLogger("keiko.test").warning("a line in the log")
    save_settings(paths, Settings())
    cache = paths.cache_dir / "llama-cpu.json"
    save_cached(cache, CpuChoice(CpuConfig.parse("builtin"), "probe", "key", (), ("builtin",)))
    database = await open_database(paths.database)
    try:
        await database.write(lambda s: s.execute(text("CREATE TABLE t (x)")))
        wal = paths.database.with_name(paths.database.name + "-wal")
        shm = paths.database.with_name(paths.database.name + "-shm")
        assert wal.exists()  # the connection is open: WAL mode keeps these beside the file
        assert (mode(wal), mode(shm)) == (0o600, 0o600)
        assert modes_under(keiko_home) == {}
    finally:
        await database.aclose()
    assert mode(cache) == 0o600
    assert mode(paths.log_dir / LOG_FILE) == 0o600
    # The umask is untouched: a file saved some other way keeps the usual mode.
    outside = keiko_home.parent / "user-file.txt"
    outside.write_text("mine")
    assert mode(outside) == 0o644


def test_an_older_keikos_loose_files_are_tightened(keiko_home: Path) -> None:
    paths = Paths.from_env()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
    (paths.log_dir / LOG_FILE).write_text("old lines\n")
    (paths.log_dir / f"{LOG_FILE}.1").write_text("older lines\n")
    paths.settings_file.write_text("schema_version = 2\n")
    for file in (paths.log_dir / LOG_FILE, paths.log_dir / f"{LOG_FILE}.1", paths.settings_file):
        file.chmod(0o644)
    assert run_keiko(keiko_home, "history").returncode == 0
    assert modes_under(keiko_home) == {}
