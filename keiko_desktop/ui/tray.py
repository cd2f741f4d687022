"""TrayIcon: Keiko in the system tray — its state, a menu, and a click that shows the window.

There is a tray only where the desktop has one (``QSystemTrayIcon.isSystemTrayAvailable()``:
a StatusNotifier watcher on D-Bus, or an XEmbed tray host owning ``_NET_SYSTEM_TRAY_S0`` on
X11); ``available`` is asked again whenever it matters (a tray host can quit), and tests fake
it. The icon is the app icon with a badge for what Keiko is doing: nothing (idle), a reply
being written (thinking), the microphone recording (listening); the tooltip says the same.

The menu: Quick ask, New chat, Show/Hide Keiko, Push-to-talk (starts listening in Quick ask;
again to stop and send), Pause tasks (checkable; for this run of Keiko only, as its tip says:
a restart runs tasks again), Quit. The widget is passive: each entry emits
a signal, and the controller acts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPen
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from keiko_desktop.core.events import MessageCompleted, MessageCreated
from keiko_desktop.ui.icons import app_icon

if TYPE_CHECKING:
    from keiko_desktop.ui.bridge import EventBridge
    from keiko_desktop.ui.voice.capture import Recorder

TrayState = Literal["idle", "thinking", "listening"]
STATES: tuple[TrayState, ...] = ("idle", "thinking", "listening")
TOOLTIPS: dict[TrayState, str] = {
    "idle": "Keiko — idle",
    "thinking": "Keiko — thinking…",
    "listening": "Keiko — listening…",
}
BADGE_COLORS: dict[TrayState, str] = {"thinking": "#f59e0b", "listening": "#ef4444"}
ICON_SIZES = (16, 22, 24, 32, 48, 64)
MESSAGE_MS = 6000
PAUSE_TIP = "No new task starts until you uncheck this or Keiko restarts; running ones go on"


def state_icon(state: TrayState, base: QIcon | None = None) -> QIcon:
    """The app icon with ``state``'s badge (a dot, bottom right, ringed so it shows on any
    panel colour) painted over it; idle has none."""
    base = base or app_icon()
    color = BADGE_COLORS.get(state)
    result = QIcon()
    for size in ICON_SIZES:
        pixmap = base.pixmap(QSize(size, size))
        if color is not None:
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            radius = size * 0.24
            center = QPointF(size - radius - size * 0.02, size - radius - size * 0.02)
            painter.setPen(QPen(QColor("#ffffff"), max(1.0, size / 16)))
            painter.setBrush(QColor(color))
            painter.drawEllipse(center, radius, radius)
            painter.end()
        result.addPixmap(pixmap)
    return result


def badge_color(icon: QIcon, size: int = 32) -> QColor:
    """The colour where the badge sits (tests and screenshots check the state with it)."""
    image = icon.pixmap(QSize(size, size)).toImage()
    spot = QRectF(0, 0, size, size).bottomRight() - QPointF(size * 0.26, size * 0.26)
    return image.pixelColor(int(spot.x()), int(spot.y()))


class TrayIcon(QObject):
    """The tray icon and its menu (see the module docs). Nothing is shown without a tray.

    Signals:
        quick_ask_requested(): Quick ask in the menu.
        new_chat_requested(): New chat in the menu.
        toggle_window_requested(): a left click on the icon, or Show/Hide Keiko.
        push_to_talk_requested(): Push-to-talk in the menu (start; again: stop and send).
        pause_toggled(bool): Pause tasks was checked (True) or unchecked.
        quit_requested(): Quit in the menu.
        message_clicked(): the user clicked a balloon message.
    """

    quick_ask_requested = Signal()
    new_chat_requested = Signal()
    toggle_window_requested = Signal()
    push_to_talk_requested = Signal()
    pause_toggled = Signal(bool)
    quit_requested = Signal()
    message_clicked = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        available: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self._available = available or QSystemTrayIcon.isSystemTrayAvailable
        self._state: TrayState = "idle"
        self._window_visible = True
        self._icons: dict[TrayState, QIcon] = {}
        self._tray: QSystemTrayIcon | None = None
        self.menu = QMenu()
        self.menu.setAccessibleName("Keiko tray menu")
        self.menu.setToolTipsVisible(True)
        self.quick_ask_action = self._menu_entry(
            "Quick ask", "Ask Keiko in a small popup", self.quick_ask_requested
        )
        self.new_chat_action = self._menu_entry(
            "New chat", "Open Keiko's window with a new chat", self.new_chat_requested
        )
        self.window_action = self._menu_entry(
            "Hide Keiko", "Show or hide Keiko's window", self.toggle_window_requested
        )
        self.menu.addSeparator()
        self.talk_action = self._menu_entry(
            "Push-to-talk",
            "Start listening in Quick ask; choose it again to stop and send",
            self.push_to_talk_requested,
        )
        self.pause_action = QAction("Pause tasks", self.menu)
        self.pause_action.setCheckable(True)
        self.pause_action.setToolTip(PAUSE_TIP)
        self.pause_action.setStatusTip(PAUSE_TIP)
        self.pause_action.toggled.connect(self.pause_toggled)
        self.menu.addAction(self.pause_action)
        self.menu.addSeparator()
        self.quit_action = self._menu_entry("Quit", "Quit Keiko", self.quit_requested)

    def _menu_entry(self, text: str, tip: str, signal: object) -> QAction:
        action = QAction(text, self.menu)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(signal)
        self.menu.addAction(action)
        return action

    # ------------------------------------------------------------------ showing
    @property
    def available(self) -> bool:
        """Whether the desktop has a tray now."""
        return bool(self._available())

    @property
    def visible(self) -> bool:
        """Shown, and the desktop still has a tray (so hiding the window leaves a way back)."""
        return self._tray is not None and self._tray.isVisible() and self.available

    def show(self) -> bool:
        """Put the icon in the tray when there is one; whether it is there."""
        if not self.available:
            return False
        if self._tray is None:
            self._tray = QSystemTrayIcon(self.icon(self._state), self)
            self._tray.setToolTip(self.tooltip)
            self._tray.setContextMenu(self.menu)
            self._tray.activated.connect(self._on_tray_activated)
            self._tray.messageClicked.connect(self.message_clicked)
        self._tray.show()
        return True

    def hide(self) -> None:
        if self._tray is not None:
            self._tray.hide()

    def close(self) -> None:
        """Take the icon out of the tray for good (at quit)."""
        self.hide()
        self.menu.close()

    def show_message(self, title: str, text: str) -> bool:
        """A balloon from the icon (where the tray shows them); whether it was shown."""
        if not self.visible or self._tray is None:
            return False
        if not QSystemTrayIcon.supportsMessages():
            return False
        self._tray.showMessage(title, text, self.icon(self._state), MESSAGE_MS)
        return True

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> TrayState:
        return self._state

    @property
    def tooltip(self) -> str:
        return TOOLTIPS[self._state]

    def icon(self, state: TrayState | None = None) -> QIcon:
        state = state or self._state
        made = self._icons.get(state)
        if made is None:
            made = self._icons[state] = state_icon(state)
        return made

    def set_state(self, state: TrayState) -> None:
        if state not in TOOLTIPS:
            raise ValueError(f"unknown tray state {state!r}")
        if state == self._state:
            return
        self._state = state
        if self._tray is not None:
            self._tray.setIcon(self.icon(state))
            self._tray.setToolTip(self.tooltip)

    def set_window_visible(self, visible: bool) -> None:
        """Name the window entry for what it would do: Hide Keiko or Show Keiko."""
        self._window_visible = visible
        self.window_action.setText("Hide Keiko" if visible else "Show Keiko")

    def set_paused(self, paused: bool) -> None:
        """Check Pause tasks (without emitting ``pause_toggled``)."""
        blocked = self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(blocked)

    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:  # a left click
            self.toggle_window_requested.emit()
        elif reason == QSystemTrayIcon.ActivationReason.MiddleClick:
            self.quick_ask_requested.emit()


class TrayActivity(QObject):
    """Keeps a tray's state badge on what Keiko does: listening while the (shared) recorder
    records, else thinking while any reply is being written (an assistant message created and
    not yet completed, in any chat or Quick ask), else idle."""

    def __init__(self, tray: TrayIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray = tray
        self._writing: set[int] = set()
        self._recording = False

    def follow(self, bridge: EventBridge, recorder: Recorder) -> None:
        bridge.message_created.connect(self._on_bridge_message_created)
        bridge.message_completed.connect(self._on_bridge_message_completed)
        recorder.started.connect(self._on_recorder_started)
        recorder.stopped.connect(self._on_recorder_ended)
        recorder.cancelled.connect(self._on_recorder_ended)
        recorder.failed.connect(self._on_recorder_ended)

    @property
    def state(self) -> TrayState:
        if self._recording:
            return "listening"
        return "thinking" if self._writing else "idle"

    def _update(self) -> None:
        self._tray.set_state(self.state)

    def _on_bridge_message_created(self, event: MessageCreated) -> None:
        if event.role == "assistant":
            self._writing.add(event.message_id)
            self._update()

    def _on_bridge_message_completed(self, event: MessageCompleted) -> None:
        self._writing.discard(event.message_id)
        self._update()

    def _on_recorder_started(self) -> None:
        self._recording = True
        self._update()

    def _on_recorder_ended(self, *_args: object) -> None:
        self._recording = False
        self._update()


__all__ = [
    "PAUSE_TIP",
    "STATES",
    "TOOLTIPS",
    "TrayActivity",
    "TrayIcon",
    "TrayState",
    "badge_color",
    "state_icon",
]
