"""Fixtures for the store tests: an open database in the test's KEIKO_HOME."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.store import Database, SqliteConversationRepository, open_database
from tests.helpers.processes import SLEEPER


@pytest.fixture
def db_path(paths: Paths) -> Path:
    return paths.database


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = await open_database(db_path)
    try:
        yield database
    finally:
        await database.aclose()


@pytest.fixture
def repo(db: Database) -> SqliteConversationRepository:
    return db.conversations


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """Another live process (not a Keiko one): its pid and start time are an owner's."""
    proc = subprocess.Popen(SLEEPER)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)
