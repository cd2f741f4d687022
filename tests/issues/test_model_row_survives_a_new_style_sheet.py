"""Regression: a model row re-coloured its "fits" label with ``setStyle(label.style())``, which
pinned the app's style-sheet style of that moment to the label; the next app style sheet (a
theme change, or the next window) deleted that style and Qt crashed polishing the label. The
row re-polishes instead."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from keiko_desktop.ui.dialogs.model_row import ModelRow
from tests.helpers.fake_library import catalog_model


def test_a_row_lives_through_two_new_style_sheets(qapp: QApplication) -> None:
    row = ModelRow(catalog_model("big", ram_gb=512.0, fits=False))
    row.show()
    qapp.processEvents()
    before = qapp.styleSheet()
    try:
        for sheet in ("QLabel { color: red; }", "QLabel { color: blue; }"):
            qapp.setStyleSheet(sheet)
            row.set_model(catalog_model("big", ram_gb=512.0, fits=False))
            qapp.processEvents()
        assert row.fit.text() == "Needs 512 GB RAM"
        assert row.fit.objectName() == "ErrorText"
        assert row.fit.style() is qapp.style()  # no style of its own pinned to it
    finally:
        qapp.setStyleSheet(before)
        row.deleteLater()
