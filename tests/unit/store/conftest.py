"""Fixtures for the store tests: an open database in the test's KEIKO_HOME."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.store import Database, SqliteConversationRepository, open_database


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
