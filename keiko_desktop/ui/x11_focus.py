"""X11Focus: the X11 window that had the keyboard focus before a popup, given back after it hides.

A frameless always-on-top popup takes the focus from whatever the user was typing in; X11 does
not give it back on its own when the popup hides (the window manager may pick any window).
Elsewhere (Wayland, macOS, Windows) the window manager decides and this is a no-op.
"""

from __future__ import annotations

from ctypes import POINTER, byref, c_int, c_ulong, c_void_p
from typing import Any

from PySide6.QtGui import QGuiApplication


class X11Focus:
    """The X11 window that had the keyboard focus before the popup, given back after it hides.

    Its own X connection (libX11 through ctypes, like the global hotkey's); errors on it (a
    window that went away meanwhile) are recorded, never fatal. Anything else: a no-op.
    """

    POINTER_ROOT = 1
    REVERT_TO_PARENT = 2

    def __init__(self) -> None:
        self._lib: Any = None
        self._display: int | None = None
        self._root = 0
        self._before = 0
        self._unavailable = False

    def remember(self) -> None:
        """Note the focused window (call just before showing the popup)."""
        self._before = self._focused() if self._open() else 0
        if self._before in (0, self.POINTER_ROOT, self._root):
            self._before = 0

    def restore(self, popup_window: int) -> bool:
        """Give the focus back if it is still the popup's (or went to nobody); True if done."""
        before, self._before = self._before, 0
        if not before or not self._open():
            return False
        if self._focused() not in (popup_window, 0, self.POINTER_ROOT, self._root):
            return False  # the user went elsewhere meanwhile: leave it there
        from keiko_desktop.ui.voice import xlib

        lib, display = self._lib, self._display
        lib.XSetInputFocus(display, before, self.REVERT_TO_PARENT, 0)
        lib.XSync(display, 0)
        failed = bool(xlib.errors.get(display or 0))
        xlib.errors[display or 0] = []
        return not failed

    def close(self) -> None:
        if self._display is not None:
            from keiko_desktop.ui.voice import xlib

            xlib.errors.pop(self._display, None)
            self._lib.XCloseDisplay(self._display)
            self._display = None

    def _focused(self) -> int:
        window, revert = c_ulong(0), c_int(0)
        self._lib.XGetInputFocus(self._display, byref(window), byref(revert))
        return int(window.value)

    def _open(self) -> bool:
        if self._display is not None:
            return True
        if self._unavailable or QGuiApplication.platformName() != "xcb":
            return False
        from keiko_desktop.ui.voice import xlib

        lib = xlib.load()
        display = lib.XOpenDisplay(None) if lib is not None else None
        if not display:
            self._unavailable = True
            return False
        lib.XGetInputFocus.argtypes = [c_void_p, POINTER(c_ulong), POINTER(c_int)]
        lib.XGetInputFocus.restype = c_int
        lib.XSetInputFocus.argtypes = [c_void_p, c_ulong, c_int, c_ulong]
        lib.XSetInputFocus.restype = c_int
        xlib.errors[display] = []
        xlib.install_error_handler(lib)
        self._lib, self._display = lib, display
        self._root = int(lib.XDefaultRootWindow(display))
        return True
