"""End-to-end fixtures: an X server for the real-window tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.xvfb import XServer, XServerError, missing_tools


@pytest.fixture
def xserver() -> Iterator[XServer]:
    missing = missing_tools()
    if missing:
        pytest.skip(
            f"no X server for the real-window test: {', '.join(missing)} not installed "
            "(`make system-deps` installs them)"
        )
    try:
        server = XServer().start()
    except XServerError as error:
        pytest.skip(f"no X server for the real-window test: {error}")
    try:
        yield server
    finally:
        server.stop()
