"""MainWindow: the nav rail, the sidebar of chats, the pages (Chat, Agents, Tasks), the status bar,
and the toasts (``ToastOverlay``, bottom right: "Task 'X' completed").

It holds no core state: presenters drive it. It restores and saves its own geometry.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal, SignalInstance
from PySide6.QtGui import QCloseEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QStatusBar,
    QWidget,
)

from keiko_desktop.ui.icons import app_icon
from keiko_desktop.ui.panels.agents_panel import AgentsPanel
from keiko_desktop.ui.panels.chat_panel import ChatPanel
from keiko_desktop.ui.panels.tasks_panel import TasksPanel
from keiko_desktop.ui.shortcuts import WINDOW_SHORTCUTS, ShortcutRouter, WindowShortcut
from keiko_desktop.ui.theme import Theme, ThemeManager
from keiko_desktop.ui.widgets.conversation_list import ConversationList
from keiko_desktop.ui.widgets.message_widget import render_context
from keiko_desktop.ui.widgets.model_status import ModelStatus
from keiko_desktop.ui.widgets.nav_rail import NavRail
from keiko_desktop.ui.widgets.toast import ToastOverlay
from keiko_desktop.ui.window_state import WindowState

DEFAULT_SIZE = (1180, 760)


class MainWindow(QMainWindow):
    """The one main window.

    Its keys are ``ui.shortcuts.WINDOW_SHORTCUTS``; they work from every widget of the window.

    Signals:
        new_chat_requested(): Ctrl+N or the sidebar's New chat.
        search_requested(): Ctrl+K or the sidebar's Search.
        settings_requested(): Ctrl+, or the rail's Settings button.
        escape_pressed(): Esc: stop the reply, or leave edit mode.
        quit_requested(): Ctrl+Q: quit Keiko (even when closing keeps it in the tray).
        close_requested(QCloseEvent): the window is being closed (its state is saved by
            then); a slot that ignores the event keeps the window (``AppLifetime`` hides it
            into the tray). Nobody connected: the window closes.
        closed(): the window was closed (not when a ``close_requested`` slot kept it).
        first_exposed(): the window is on screen for the first time.
    """

    new_chat_requested = Signal()
    search_requested = Signal()
    settings_requested = Signal()
    escape_pressed = Signal()
    quit_requested = Signal()
    close_requested = Signal(object)
    closed = Signal()
    first_exposed = Signal()

    def __init__(self, themes: ThemeManager, state: WindowState | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Keiko")
        self.setWindowIcon(app_icon())
        self._themes = themes
        self._state = state
        self._exposed = False
        theme = themes.theme
        self.render_context = render_context(theme)

        self.rail = NavRail(theme, self)
        self.sidebar = ConversationList(theme, self)
        self.chat_panel = ChatPanel(self.render_context, self)
        self.agents_panel = AgentsPanel(theme, self)
        self.tasks_panel = TasksPanel(theme, self)
        self.pages = QStackedWidget(self)
        self._page_widgets: dict[str, QWidget] = {
            "chat": self.chat_panel,
            "agents": self.agents_panel,
            "tasks": self.tasks_panel,
        }
        for widget in self._page_widgets.values():
            self.pages.addWidget(widget)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setHandleWidth(1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.pages)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, DEFAULT_SIZE[0] - 260])
        self.sidebar.setMinimumWidth(180)

        central = QWidget(self)
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.rail)
        row.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.model_status = ModelStatus(self)
        status = QStatusBar(self)
        status.setSizeGripEnabled(False)
        status.addWidget(self.model_status)
        self.setStatusBar(status)
        self.toasts = ToastOverlay(self, theme)  # over every page, above the status bar

        for shortcut in WINDOW_SHORTCUTS:
            self._add_shortcut(shortcut)
        # Delivers them too when Qt does not count the window as active (see ui/shortcuts.py).
        self._shortcut_router = ShortcutRouter(self, self._on_shortcut_router_triggered)

        self.rail.page_selected.connect(self._on_rail_page_selected)
        self.rail.settings_requested.connect(self.settings_requested)
        self.sidebar.new_requested.connect(self.new_chat_requested)
        self.sidebar.search_requested.connect(self.search_requested)
        themes.theme_changed.connect(self._on_themes_theme_changed)

        self.resize(*DEFAULT_SIZE)
        if state is not None:
            state.restore(self, self.splitter)
        # The message box has the keys from the first frame (what is typed before the core is
        # ready is kept, and sent when the model is).
        self.chat_panel.composer.focus_editor()

    def _shortcut_signal(self, shortcut: WindowShortcut) -> SignalInstance:
        signal = getattr(self, shortcut.signal)
        assert isinstance(signal, SignalInstance), shortcut
        return signal

    def _add_shortcut(self, shortcut: WindowShortcut) -> None:
        qshortcut = QShortcut(shortcut.sequence, self)
        qshortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        qshortcut.activated.connect(self._shortcut_signal(shortcut))

    def _on_shortcut_router_triggered(self, shortcut: WindowShortcut) -> None:
        self._shortcut_signal(shortcut).emit()

    # ------------------------------------------------------------------ pages
    def show_page(self, page: str) -> None:
        self.pages.setCurrentWidget(self._page_widgets[page])
        self.rail.set_page(page)
        self.sidebar.setVisible(page == "chat")
        if page == "chat":
            self.chat_panel.composer.focus_editor()

    @property
    def page(self) -> str:
        for name, widget in self._page_widgets.items():
            if widget is self.pages.currentWidget():
                return name
        return "chat"

    def _on_rail_page_selected(self, page: str) -> None:
        self.show_page(page)

    # ------------------------------------------------------------------ theme
    def _on_themes_theme_changed(self, theme: Theme) -> None:
        self.render_context = render_context(theme)
        self.rail.set_theme(theme)
        self.sidebar.set_theme(theme)
        self.chat_panel.set_render_context(self.render_context)
        self.agents_panel.set_theme(theme)
        self.tasks_panel.set_theme(theme)
        self.toasts.set_theme(theme)

    # ------------------------------------------------------------------ events
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        handle = self.windowHandle()
        if handle is not None:
            # The router sees every key this window gets (idempotent: Qt keeps one copy).
            handle.installEventFilter(self._shortcut_router)
            if not self._exposed:
                handle.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            not self._exposed
            and event.type() == QEvent.Type.Expose
            and watched is self.windowHandle()
            and self.windowHandle().isExposed()
        ):
            self._exposed = True
            watched.removeEventFilter(self)
            self.first_exposed.emit()
        return super().eventFilter(watched, event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._state is not None:
            self._state.save(self, self.splitter)
        event.accept()
        self.close_requested.emit(event)  # AppLifetime decides: quit, or hide into the tray
        if not event.isAccepted():
            return
        super().closeEvent(event)
        self.closed.emit()
