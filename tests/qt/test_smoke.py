from __future__ import annotations

from tests.qt.conftest import Harness


def test_window_opens_on_an_empty_database(harness: Harness) -> None:
    assert harness.window.isVisible()
    assert harness.panel.showing_empty
    harness.wait(lambda: harness.window.model_status.state == "ready")
