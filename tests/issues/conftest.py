"""Fixtures shared by the regression tests that need the main window."""

from tests.helpers.qt_main_window import main_window_fixture, other_window_active  # noqa: F401 (fixtures)
