"""Every field of Settings is one Alt+letter away, and no two controls of a tab share a letter."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QAbstractButton, QLabel

from keiko_desktop.ui.dialogs.settings_dialog import SettingsDialog
from keiko_desktop.ui.widgets.mnemonics import taken_by, with_mnemonic


def test_with_mnemonic_prefers_a_free_first_letter_of_a_word() -> None:
    taken = {"c"}
    assert with_mnemonic("CPU threads", taken) == "CPU &threads"
    assert with_mnemonic("Context size", taken) == "Context &size"
    assert with_mnemonic("Cats", taken) == "C&ats"  # no word start free: any letter
    assert taken == {"c", "t", "s", "a"}
    assert with_mnemonic("&Test", taken) == "&Test"  # one of its own is kept
    assert with_mnemonic("abc", {"a", "b", "c"}) == "abc"
    assert taken_by(["&Add…", "Re&move", "Salt && pepper", "&&none"]) == {"a", "m"}


def test_each_tab_has_a_letter_per_field_and_no_letter_twice(qtbot: Any) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    for index in range(dialog.pages.count()):
        page = dialog.pages.widget(index)
        labels = [label.text() for label in page.findChildren(QLabel) if label.buddy()]
        buttons = [b.text() for b in page.findChildren(QAbstractButton) if "&" in b.text()]
        letters = [next(iter(taken_by([text])), "") for text in labels + buttons]
        tab = dialog.pages.tabText(index)
        assert all(letters[: len(labels)]), (tab, labels)
        assert len(set(letters)) == len(letters), (tab, labels + buttons)
