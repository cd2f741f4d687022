"""Voice settings: the microphone chooser, the push-to-talk key (pressed, not typed), the line
about push-to-talk outside the window, and the window following a change of them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from keiko_desktop.core.config import Settings
from keiko_desktop.ui.dialogs.settings_dialog import SettingsDialog
from keiko_desktop.ui.dialogs.voice_fields import HOTKEY_WORKS, SYSTEM_MICROPHONE
from tests.qt.conftest import Harness

MICS = (("alsa_input.usb-headset", "USB headset"), ("alsa_input.pci.analog", "Built-in mic"))


def make_dialog(qtbot: Any, **kwargs: Any) -> SettingsDialog:
    dialog = SettingsDialog(**{"microphones": lambda: MICS, "hotkey": lambda: (True, "")} | kwargs)
    qtbot.addWidget(dialog)
    dialog.set_values(Settings(), [])
    return dialog


def voice_page(dialog: SettingsDialog) -> None:
    for index in range(dialog.pages.count()):
        if dialog.pages.tabText(index) == "Voice":
            dialog.pages.setCurrentIndex(index)
            return
    raise AssertionError("no Voice page")


def test_the_microphone_is_chosen_from_the_systems(qtbot: Any) -> None:
    dialog = make_dialog(qtbot)
    combo = dialog.microphone
    assert [combo.itemText(i) for i in range(combo.count())] == [
        SYSTEM_MICROPHONE,
        "USB headset",
        "Built-in mic",
    ]
    assert combo.accessibleName() == "Microphone"
    assert dialog.values().voice_input_device == ""
    combo.setCurrentIndex(1)
    assert dialog.values().voice_input_device == "alsa_input.usb-headset"  # its id, not its name
    dialog.set_values(Settings(voice_input_device="alsa_input.pci.analog"), [])
    assert combo.currentText() == "Built-in mic"
    dialog.set_values(Settings(voice_input_device="Built-in mic"), [])  # by description too
    assert combo.currentText() == "Built-in mic"


def test_a_saved_microphone_that_is_gone_stays_chosen_and_says_so(qtbot: Any) -> None:
    dialog = make_dialog(qtbot)
    dialog.set_values(Settings(voice_input_device="bluetooth-buds"), [])
    assert dialog.microphone.currentText() == "bluetooth-buds (not connected)"
    assert dialog.values().voice_input_device == "bluetooth-buds"


def test_the_push_to_talk_key_is_pressed_not_typed(qtbot: Any) -> None:
    dialog = make_dialog(qtbot)
    dialog.show()
    voice_page(dialog)
    edit = dialog.push_to_talk_key
    assert edit.accessibleName() == "Push-to-talk key"
    assert edit.value() == "Ctrl+Space"
    edit.setFocus()
    edit.clear()
    QTest.keyClick(edit, Qt.Key.Key_F8)
    assert dialog.values().voice_push_to_talk_key == "F8"
    QTest.keyClick(edit, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert dialog.values().voice_push_to_talk_key == "Ctrl+K"  # one key, the last pressed
    edit.clear()
    with qtbot.waitSignal(dialog.applied, timeout=500, raising=False) as blocker:
        dialog.buttons.accepted.emit()
    assert not blocker.signal_triggered  # an empty key is refused, saying why
    assert dialog.error.isVisible()
    assert "voice_push_to_talk_key" in dialog.error.text()
    assert "must not be empty" in dialog.error.text()


def test_the_note_says_whether_the_key_works_outside_the_window(qtbot: Any) -> None:
    works = make_dialog(qtbot)
    assert works.hotkey_note.text() == HOTKEY_WORKS
    reason = "Wayland does not let programs listen to keys outside their window."
    not_here = make_dialog(qtbot, hotkey=lambda: (False, reason))
    assert not_here.hotkey_note.text() == reason
    assert not_here.hotkey_note.accessibleName()


def test_the_real_dialog_here_lists_no_microphone_and_no_x_display(harness: Harness) -> None:
    harness.controller.settings.open()
    harness.wait(lambda: harness.controller.settings.dialog is not None)
    dialog = harness.controller.settings.dialog
    assert dialog is not None
    harness.wait(dialog.isVisible)
    combo = dialog.microphone
    assert [combo.itemText(i) for i in range(combo.count())] == [SYSTEM_MICROPHONE]
    assert "push-to-talk works while Keiko's window is focused" in dialog.hotkey_note.text()
    dialog.reject()


def test_the_window_follows_a_new_push_to_talk_key(harness: Harness) -> None:
    controller = harness.controller
    mic = harness.panel.composer.mic_button
    assert controller.ptt_keys.key == "Ctrl+Space"
    harness.core.update_settings(harness.core.settings.with_changes(voice_push_to_talk_key="F8"))
    harness.wait(lambda: controller.ptt_keys.key == "F8", timeout=2)
    pressed: list[str] = []
    controller.ptt_keys.pressed.connect(lambda: pressed.append("F8"))
    window = harness.window.windowHandle()
    QTest.keyPress(window, Qt.Key.Key_F8)
    QTest.keyRelease(window, Qt.Key.Key_F8)
    assert pressed == ["F8"]
    # This Core has no voice: the key says so where the words would have gone.
    assert harness.panel.composer.voice_bar.hint_text.startswith("Voice is not available")
    assert not mic.isEnabled()


def test_a_key_keiko_cannot_listen_for_is_refused_with_the_old_one_kept(
    harness: Harness,
) -> None:
    harness.core.update_settings(
        harness.core.settings.with_changes(voice_push_to_talk_key="Ctrl+Shift")
    )
    harness.wait(lambda: harness.panel.notice.isVisible(), timeout=2)
    assert "is not a key Keiko knows" in harness.panel.notice.label.text()
    assert harness.controller.ptt_keys.key == "Ctrl+Space"


def test_the_read_aloud_toggle_mirrors_the_setting(harness: Harness) -> None:
    toggle = harness.panel.composer.read_aloud_button
    assert not toggle.isChecked()
    harness.core.update_settings(harness.core.settings.with_changes(voice_read_aloud=True))
    harness.wait(toggle.isChecked, timeout=2)
