"""Push-to-talk in the window: hold a key (Ctrl+Space by default) to talk, let go to send.

``PushToTalkKeys`` is an event filter on the application, so it sees the key before any
widget or shortcut does, wherever the focus is: it accepts the key's ``ShortcutOverride`` (no
shortcut takes it), emits ``pressed`` on the first press and ``released`` when the key, or one
of its modifiers, is let go, and swallows those key events (the message box never types a
space for it). Auto-repeat is ignored. While a ``QKeySequenceEdit`` has the focus (the
Settings dialog choosing a new key) it stands aside. Losing the application's focus while
held counts as letting go, so a recording never sticks.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QKeySequenceEdit

DEFAULT_KEY = "Ctrl+Space"
_MODIFIER_KEYS: dict[Qt.Key, Qt.KeyboardModifier] = {
    Qt.Key.Key_Control: Qt.KeyboardModifier.ControlModifier,
    Qt.Key.Key_Shift: Qt.KeyboardModifier.ShiftModifier,
    Qt.Key.Key_Alt: Qt.KeyboardModifier.AltModifier,
    Qt.Key.Key_Meta: Qt.KeyboardModifier.MetaModifier,
    Qt.Key.Key_AltGr: Qt.KeyboardModifier.GroupSwitchModifier,
}
_LOCKS = (Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock, Qt.Key.Key_ScrollLock)
_IGNORED = Qt.KeyboardModifier.KeypadModifier
_KINDS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride)


def parse_key(text: str) -> tuple[Qt.Key, Qt.KeyboardModifier]:
    """A one-key sequence such as "Ctrl+Space" or "F8" as (key, modifiers); ValueError for
    anything else (empty, two keys, a modifier or lock key alone, not a key)."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("No push-to-talk key given.")
    sequence = QKeySequence.fromString(cleaned, QKeySequence.SequenceFormat.PortableText)
    if sequence.isEmpty():
        sequence = QKeySequence.fromString(cleaned, QKeySequence.SequenceFormat.NativeText)
    if sequence.count() != 1:
        raise ValueError(f"Not one key: {cleaned!r} (e.g. Ctrl+Space or F8).")
    combination = sequence[0]  # type: ignore[index]  # QKeySequence has operator[]
    key = combination.key()
    if key in (Qt.Key.Key_unknown, 0) or int(key) >= 0x01FFFFFF:
        raise ValueError(f"Not a key: {cleaned!r} (e.g. Ctrl+Space or F8).")
    if key in _MODIFIER_KEYS or key in _LOCKS:
        raise ValueError(f"{cleaned!r} is a modifier or lock key; add a key, e.g. Ctrl+Space.")
    return key, combination.keyboardModifiers()


class PushToTalkKeys(QObject):
    """The push-to-talk key, anywhere in the application (see the module docs). It installs
    itself on the running QApplication; ``remove()`` takes it off.

    Signals:
        pressed(): the key went down (once per hold).
        released(): the key or one of its modifiers went up, or the app lost the focus.
        cancelled(): Esc was pressed while the key is held (with whatever modifiers the
            push-to-talk key holds down: Ctrl+Esc while holding Ctrl+Space); released()
            still follows when the key goes up.
    """

    pressed = Signal()
    released = Signal()
    cancelled = Signal()

    def __init__(self, key: str = DEFAULT_KEY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._key, self._modifiers = parse_key(key)
        self._text = key.strip()
        self._held = False
        self._enabled = True
        self._app = QCoreApplication.instance()
        if self._app is None:
            raise RuntimeError("PushToTalkKeys needs a running QApplication")
        self._app.installEventFilter(self)

    @property
    def key(self) -> str:
        return self._text

    @property
    def held(self) -> bool:
        return self._held

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_key(self, key: str) -> None:
        """Listen for ``key`` instead (ValueError when it is not one key; the old one stays)."""
        parsed = parse_key(key)
        self._let_go()
        self._key, self._modifiers = parsed
        self._text = key.strip()

    def set_enabled(self, enabled: bool) -> None:
        if not enabled:
            self._let_go()
        self._enabled = enabled

    def remove(self) -> None:
        """Stop listening (the filter comes off the application)."""
        self._let_go()
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None

    def _let_go(self) -> None:
        if self._held:
            self._held = False
            self.released.emit()

    def _matches(self, event: QKeyEvent) -> bool:
        return event.key() == self._key and (event.modifiers() & ~_IGNORED) == self._modifiers

    def _releases(self, event: QKeyEvent) -> bool:
        if event.key() == self._key:
            return True
        modifier = _MODIFIER_KEYS.get(Qt.Key(event.key()))
        return modifier is not None and bool(self._modifiers & modifier)

    @staticmethod
    def _choosing_a_key() -> bool:
        target: QObject | None = QGuiApplication.focusObject()
        while target is not None:
            if isinstance(target, QKeySequenceEdit):
                return True
            target = target.parent()
        return False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind == QEvent.Type.ApplicationDeactivate:
            self._let_go()
            return False
        if kind not in _KINDS or not self._enabled or not isinstance(event, QKeyEvent):
            return False
        if kind == QEvent.Type.KeyRelease:
            if not self._held or not self._releases(event):
                return False
            if event.isAutoRepeat():
                return True  # the key is still down
            self._held = False
            self.released.emit()
            return event.key() == self._key
        if self._held and event.key() == Qt.Key.Key_Escape:
            if kind == QEvent.Type.KeyPress and not event.isAutoRepeat():
                self.cancelled.emit()
            event.accept()
            return True
        if not self._matches(event) or self._choosing_a_key():
            return False
        event.accept()
        if kind == QEvent.Type.KeyPress and not event.isAutoRepeat() and not self._held:
            self._held = True
            self.pressed.emit()
        return True
