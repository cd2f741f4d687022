"""The voice widgets: the mic button (hold by mouse or key), the toggles, the voice bar, the
composer's voice controls (reachable by Tab, named, tidy at the window's minimum width) and
audio files dropped on the chat panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFocusEvent, QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from keiko_desktop.ui.panels.chat_panel import ChatPanel, audio_paths
from keiko_desktop.ui.theme import LIGHT
from keiko_desktop.ui.widgets.message_widget import render_context
from keiko_desktop.ui.widgets.mic_button import MicButton
from keiko_desktop.ui.widgets.voice_bar import VoiceBar, format_elapsed
from tests.qt.test_composer import make as make_composer


def make_button(qtbot: Any) -> MicButton:
    button = MicButton(LIGHT)
    qtbot.addWidget(button)
    button.show()
    return button


def test_mouse_hold_and_let_go(qtbot: Any) -> None:
    button = make_button(qtbot)
    with qtbot.waitSignal(button.held, timeout=1000):
        QTest.mousePress(button, Qt.MouseButton.LeftButton)
    assert button.holding
    assert button.isDown()
    with qtbot.assertNotEmitted(button.cancelled), qtbot.waitSignal(button.let_go, timeout=1000):
        QTest.mouseRelease(button, Qt.MouseButton.LeftButton)
    assert not button.holding
    assert not button.isDown()


def test_letting_go_away_from_the_button_cancels(qtbot: Any) -> None:
    button = make_button(qtbot)
    QTest.mousePress(button, Qt.MouseButton.LeftButton)
    with qtbot.assertNotEmitted(button.let_go), qtbot.waitSignal(button.cancelled, timeout=1000):
        QTest.mouseRelease(button, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))


def test_space_and_enter_hold_while_focused_ignoring_auto_repeat(qtbot: Any) -> None:
    button = make_button(qtbot)
    button.setFocus()
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return):
        held: list[str] = []
        button.held.connect(lambda held=held: held.append("held"))
        button.let_go.connect(lambda held=held: held.append("let go"))
        QTest.keyPress(button, key)
        for _ in range(3):  # a held key repeats
            QApplication.sendEvent(button, _repeat(key))
        assert held == ["held"]
        QTest.keyRelease(button, key)
        assert held == ["held", "let go"]
        button.held.disconnect()
        button.let_go.disconnect()


def _repeat(key: Qt.Key) -> QKeyEvent:
    return QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, "", True)


def test_losing_the_focus_while_holding_a_key_lets_go(qtbot: Any) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    button = MicButton(LIGHT, host)
    other = QWidget(host)
    other.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    host.show()
    button.setFocus()
    QTest.keyPress(button, Qt.Key.Key_Space)
    assert button.holding
    with qtbot.waitSignal(button.let_go, timeout=1000):
        # What moving the focus sends (the offscreen window is never active, so setFocus
        # would not).
        QApplication.sendEvent(button, QFocusEvent(QEvent.Type.FocusOut))
    assert not button.holding


def test_unavailable_says_why_and_refuses_to_record(qtbot: Any) -> None:
    button = make_button(qtbot)
    assert button.accessibleName() == "Push to talk"
    assert button.toolTip() == "Hold to talk (Ctrl+Space)"
    button.set_available(False, "No microphone found.")
    assert not button.isEnabled()
    assert button.toolTip() == "No microphone found."
    assert button.accessibleDescription() == "No microphone found."
    with qtbot.assertNotEmitted(button.held):
        QTest.mousePress(button, Qt.MouseButton.LeftButton)
    button.set_available(True)
    button.set_key_text("F8")
    assert button.isEnabled()
    assert button.toolTip() == "Hold to talk (F8)"


def test_disabled_while_held_cancels(qtbot: Any) -> None:
    button = make_button(qtbot)
    QTest.mousePress(button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(button.cancelled, timeout=1000):
        button.set_available(False, "The microphone was unplugged.")


def test_recording_state_is_the_accent(qtbot: Any) -> None:
    button = make_button(qtbot)
    resting = button.grab().toImage().pixelColor(16, 4)
    button.set_recording(True)
    assert button.recording
    assert button.isDown()
    recording = button.grab().toImage().pixelColor(16, 4)
    assert recording.name() == LIGHT.accent.lower()
    assert resting != recording
    button.set_recording(False)
    assert not button.isDown()


def test_voice_bar_states_level_and_time(qtbot: Any) -> None:
    bar = VoiceBar(LIGHT)
    qtbot.addWidget(bar)
    bar.show()
    bar.set_state("recording")
    assert bar.hint_text == "Release to send · Esc cancels"
    assert bar.meter.isVisible()
    assert bar.elapsed.isVisible()
    assert bar.cancel_button.accessibleName() == "Cancel recording"
    bar.set_level(0.8)
    assert bar.meter.shown == 0.8
    bar.set_level(0.0)
    assert 0.0 < bar.meter.shown < 0.8  # falls gently
    bar.set_elapsed(64.2)
    assert bar.elapsed.text() == "1:04"
    bar.set_state("transcribing")
    assert bar.hint_text == "Transcribing…"
    assert not bar.meter.isVisible()
    bar.set_state("listening")
    assert bar.hint_text == "Listening…"
    assert bar.meter.isVisible()
    bar.set_state("message", "Didn’t catch that.\x1b[2J")
    assert "\x1b" not in bar.hint_text  # text that is not Keiko's is shown escaped
    for widget in (bar, bar.meter, bar.elapsed, bar.hint, bar.cancel_button):
        assert widget.accessibleName(), widget
    with qtbot.waitSignal(bar.cancel_requested, timeout=1000):
        bar.cancel_button.click()
    assert format_elapsed(4.9) == "0:04"


def test_composer_voice_controls_are_named_and_in_the_tab_order(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    composer.set_agents_available(True)
    buttons = (composer.read_aloud_button, composer.conversation_button, composer.mic_button)
    for button in buttons:
        assert button.accessibleName()
        assert button.toolTip()
    assert composer.read_aloud_button.isCheckable()
    assert composer.conversation_button.isCheckable()
    composer.editor.setFocus()
    chain = []
    widget: QWidget = composer.editor
    while len(chain) < 5:
        widget = widget.nextInFocusChain()
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisible():
            chain.append(widget)
    for button in buttons:
        assert button in chain
    assert chain.index(composer.mic_button) < chain.index(composer.send_button)


def test_composer_toggles_emit_and_setters_do_not(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    with qtbot.waitSignal(composer.read_aloud_toggled, timeout=1000) as blocker:
        composer.read_aloud_button.click()
    assert blocker.args == [True]
    with qtbot.waitSignal(composer.conversation_toggled, timeout=1000) as blocker:
        QTest.keyClick(composer.conversation_button, Qt.Key.Key_Space)
    assert blocker.args == [True]
    with qtbot.assertNotEmitted(composer.read_aloud_toggled):
        composer.set_read_aloud(False)
    assert not composer.read_aloud_button.isChecked()


def test_composer_voice_bar_append_and_submit(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    assert not composer.voice_bar.isVisible()
    composer.show_voice("recording")
    assert composer.voice_bar.isVisible()
    with qtbot.waitSignal(composer.voice_cancel_requested, timeout=1000):
        composer.voice_bar.cancel_button.click()
    composer.hide_voice()
    assert not composer.voice_bar.isVisible()
    composer.set_text("Tell me about")
    composer.append_text("cats.")
    assert composer.text == "Tell me about cats."
    with qtbot.waitSignal(composer.send_requested, timeout=1000) as blocker:
        composer.submit()
    assert blocker.args == ["Tell me about cats."]
    composer.append_text("Hello")
    assert composer.text == "Hello"


def test_composer_is_tidy_at_the_windows_minimum_width(qtbot: Any, tmp_path: Path) -> None:
    composer = make_composer(qtbot)
    composer.set_agents_available(True)
    composer.set_context_length(2048)
    composer.show_voice("recording")
    composer.resize(composer.minimumSizeHint().width(), composer.sizeHint().height())
    QApplication.processEvents()
    # Every button whole and inside the composer, none overlapping another.
    buttons = [
        composer.agent_chooser,
        composer.read_aloud_button,
        composer.conversation_button,
        composer.mic_button,
        composer.send_button,
    ]
    rects = [b.geometry() for b in buttons]
    for button, rect in zip(buttons, rects, strict=True):
        assert composer.rect().contains(rect), button.accessibleName()
        assert rect.width() >= button.minimumSizeHint().width() - 1
    for i, rect in enumerate(rects):
        for other in rects[i + 1 :]:
            assert not rect.intersects(other)
    # The minimum a 900-px window leaves the composer (sidebar, rail, margins) fits it.
    assert composer.minimumSizeHint().width() <= 560
    composer.grab().save(str(tmp_path / "composer-narrow.png"))


def test_audio_files_dropped_on_the_panel_and_on_the_message_box(
    qtbot: Any, tmp_path: Path
) -> None:
    panel = ChatPanel(render_context(LIGHT))
    qtbot.addWidget(panel)
    panel.show()
    wav, text = tmp_path / "memo.WAV", tmp_path / "notes.txt"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(wav)), QUrl.fromLocalFile(str(text))])
    assert audio_paths(mime) == [str(wav)]
    for target in (panel, panel.composer.editor.viewport()):
        enter = QDragEnterEvent(
            QPoint(5, 5),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(target, enter)
        assert enter.isAccepted()
        drop = QDropEvent(
            QPointF(5, 5),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        with qtbot.waitSignal(panel.audio_files_dropped, timeout=1000) as blocker:
            QApplication.sendEvent(target, drop)
        assert blocker.args == [[str(wav)]]
    assert panel.composer.text == ""  # not pasted into the box as a path


def test_a_web_link_is_not_the_panels(qtbot: Any) -> None:
    panel = ChatPanel(render_context(LIGHT))
    qtbot.addWidget(panel)
    panel.show()
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/talk.wav")])
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter.ignore()
    with (
        qtbot.assertNotEmitted(panel.audio_files_dropped),
        qtbot.assertNotEmitted(panel.files_dropped),
    ):
        QApplication.sendEvent(panel, enter)
    assert not enter.isAccepted()


def test_a_local_file_that_is_not_sound_is_a_file_drop(qtbot: Any, tmp_path: Path) -> None:
    panel = ChatPanel(render_context(LIGHT))
    qtbot.addWidget(panel)
    panel.show()
    notes = tmp_path / "notes.txt"
    notes.write_text("hello", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(notes))])
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted()  # the panel takes any local file now, not only sound
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with (
        qtbot.assertNotEmitted(panel.audio_files_dropped),
        qtbot.waitSignal(panel.files_dropped, timeout=1000) as blocker,
    ):
        QApplication.sendEvent(panel, drop)
    assert blocker.args == [[notes]]
