"""Test-wide fixtures: every test gets its own KEIKO_HOME (and, when it asks, an event bus on
its loop and an open database there)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import keyring
import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.store import Database, open_database
from tests.helpers.events import running_loop_bus
from tests.helpers.memory_keyring import MemoryKeyring


@pytest.fixture(scope="session", autouse=True)
def cpu_probe_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One llama.cpp CPU probe per test session, not one per KEIKO_HOME: every test (and every
    subprocess it starts) shares this cache file, so only the first model load probes."""
    from keiko_desktop.llm.cpu_backends import CACHE_ENV

    path = tmp_path_factory.mktemp("cpu-probe") / "llama-cpu.json"
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(autouse=True)
def keiko_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point KEIKO_HOME at a temp dir so no test touches the user's files."""
    home = tmp_path / "keiko-home"
    monkeypatch.setenv("KEIKO_HOME", str(home))
    return home


@pytest.fixture
def paths(keiko_home: Path) -> Paths:
    p = Paths.from_env()
    p.ensure()
    return p


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """No test touches a real keychain (and this headless box has none): an in-memory one."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
async def bus() -> EventBus:
    """A bus bound to the test's loop, as the app makes it."""
    return running_loop_bus()


@pytest.fixture
async def database(paths: Paths) -> AsyncIterator[Database]:
    """The store in the test's KEIKO_HOME, open on the test's loop."""
    db = await open_database(paths.database)
    try:
        yield db
    finally:
        await db.aclose()
