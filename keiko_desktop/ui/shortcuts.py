"""The main window's keyboard shortcuts, declared once, and the router that makes them reliable.

``WINDOW_SHORTCUTS`` is the one list: ``MainWindow`` creates a ``QShortcut`` for each entry, the
composer refuses ``ShortcutOverride`` for them (so the message box never keeps a window key) and
``ShortcutRouter`` delivers them when Qt's shortcut map does not.

Why a router: a ``Qt.WindowShortcut`` only fires while ``QApplication.activeWindow()`` is its
window. On X11 Qt can deliver keys to a window it does not count as active: with no window
manager or with focus following the pointer (X's ``PointerRoot`` focus, Qt ignores the
``NotifyPointer`` focus-in), and after a dialog closes and the X focus falls back to the root
window. The focused message box then got Ctrl+N, Ctrl+K (even deleting to the end of the line,
Ctrl+K's X11 binding) and Ctrl+, while the shortcuts stayed silent. The router is an event filter
on the window's ``QWindow``, which sees every key the window gets before any widget does: a key
press that reaches it was not taken by a shortcut, so if it is one of the window's and the focused
widget does not claim it (``ShortcutOverride``, e.g. Esc in the sidebar's rename editor), the
router fires it. No double firing: a key taken by a shortcut never arrives as a key press.

The window's mnemonics (``&Got it``, a label's ``&Goal`` for its field) are shortcuts of the
same kind and were as silent: an Alt+letter press that reaches the router presses the visible
button with that mnemonic, or focuses the labelled field, as Qt would have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QEvent, QKeyCombination, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget


@dataclass(frozen=True)
class WindowShortcut:
    """One key of the main window: its key sequence and the ``MainWindow`` signal it emits."""

    keys: str
    signal: str
    description: str

    @property
    def sequence(self) -> QKeySequence:
        return QKeySequence(self.keys)


WINDOW_SHORTCUTS: tuple[WindowShortcut, ...] = (
    WindowShortcut("Ctrl+N", "new_chat_requested", "New chat"),
    WindowShortcut("Ctrl+K", "search_requested", "Search every chat"),
    WindowShortcut("Ctrl+,", "settings_requested", "Settings"),
    WindowShortcut("Esc", "escape_pressed", "Stop the reply, or leave edit mode"),
    WindowShortcut("Ctrl+Q", "quit_requested", "Quit Keiko"),
)

_IGNORED_MODIFIERS = Qt.KeyboardModifier.KeypadModifier


def window_shortcut_for(event: QKeyEvent) -> WindowShortcut | None:
    """The window shortcut this key event is, if any (exact modifiers; keypad ignored)."""
    key = event.key()
    if key in (0, Qt.Key.Key_unknown):
        return None
    modifiers = event.modifiers() & ~_IGNORED_MODIFIERS
    pressed = QKeySequence(QKeyCombination(modifiers, Qt.Key(key)))
    for shortcut in WINDOW_SHORTCUTS:
        if shortcut.sequence == pressed:
            return shortcut
    return None


def is_claimed_by(widget: QObject, event: QKeyEvent) -> bool:
    """Whether ``widget`` (or a parent) wants this key itself, asked as Qt asks it."""
    probe = QKeyEvent(
        QEvent.Type.ShortcutOverride,
        event.key(),
        event.modifiers(),
        event.nativeScanCode(),
        event.nativeVirtualKey(),
        event.nativeModifiers(),
        event.text(),
        event.isAutoRepeat(),
        event.count(),
    )
    probe.ignore()
    QCoreApplication.sendEvent(widget, probe)
    return probe.isAccepted()


def mnemonic_target(window: QWidget, event: QKeyEvent) -> QWidget | None:
    """The visible, enabled button or labelled field of ``window`` whose mnemonic (``&x``)
    this Alt+key press is; None when there is none."""
    if event.modifiers() & ~_IGNORED_MODIFIERS != Qt.KeyboardModifier.AltModifier:
        return None
    key = event.key()
    if not (Qt.Key.Key_0 <= key <= Qt.Key.Key_9 or Qt.Key.Key_A <= key <= Qt.Key.Key_Z):
        return None
    pressed = QKeySequence(QKeyCombination(Qt.KeyboardModifier.AltModifier, Qt.Key(key)))
    for widget in window.findChildren(QWidget):
        if not (widget.isVisible() and widget.isEnabled() and widget.window() is window):
            continue
        if isinstance(widget, QAbstractButton):
            target: QWidget | None = widget
        elif isinstance(widget, QLabel):
            target = widget.buddy()
        else:
            continue
        if target is not None and QKeySequence.mnemonic(widget.text()) == pressed:
            return target
    return None


class ShortcutRouter(QObject):
    """Fires the window's shortcuts for key presses that Qt's shortcut map let through.

    Install it on the window's ``QWindow`` (``windowHandle()``). ``trigger`` is called with the
    shortcut that was pressed.
    """

    def __init__(self, window: QWidget, trigger: Callable[[WindowShortcut], None]) -> None:
        super().__init__(window)
        self._window = window
        self._trigger = trigger

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        shortcut = window_shortcut_for(event)
        mnemonic = mnemonic_target(self._window, event) if shortcut is None else None
        if shortcut is None and mnemonic is None:
            return False
        target = self._window.focusWidget() or self._window
        if is_claimed_by(target, event):
            return False
        event.accept()
        if shortcut is not None:
            self._trigger(shortcut)
        elif isinstance(mnemonic, QAbstractButton):
            mnemonic.setFocus(Qt.FocusReason.ShortcutFocusReason)
            mnemonic.animateClick()
        elif mnemonic is not None:
            mnemonic.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True
