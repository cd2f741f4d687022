"""Fixtures the unit tests share: the event bus and an open database in the test's KEIKO_HOME."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.store import Database, open_database
from tests.helpers.events import running_loop_bus


@pytest.fixture
async def bus() -> EventBus:
    """A bus bound to the test's loop, as the app makes it."""
    return running_loop_bus()


@pytest.fixture
async def database(paths: Paths) -> AsyncIterator[Database]:
    db = await open_database(paths.database)
    try:
        yield db
    finally:
        await db.aclose()
