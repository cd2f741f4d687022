"""Regression: a Core closed right after it was built left the agents' background load to run
on a closed database; its StoreError was "never retrieved", logged when the task was
collected, and that logging inside a garbage collection once broke an ``ast.parse`` running
at the time (CPython 3.11: "AST constructor recursion depth mismatch")."""

from __future__ import annotations

import asyncio
import gc

import pytest

from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings


async def test_closing_at_once_leaves_no_failed_task(
    paths: Paths, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):
        core = await build_core(paths, Settings(), start_model=False)
        await core.aclose()
    gc.collect()
    await asyncio.sleep(0.05)
    gc.collect()
    assert "never retrieved" not in caplog.text
    assert "already closed" not in caplog.text
