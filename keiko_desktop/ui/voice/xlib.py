"""libX11 through ctypes, as much as the global hotkey needs (no new dependency): the structs,
the functions it calls, an error handler, and Qt key names as X keysyms.

Xlib's error handler is per process. Ours records the errors of the connections registered in
``errors`` (the hotkey's, to catch a refused grab: BadAccess) and passes every other
connection's errors on to the handler that was there before (Qt's, when Qt uses Xlib), so
nobody else's behaviour changes. The library loads on first use; ``load()`` is None when it
cannot (``load_error()`` says why).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from ctypes import POINTER, c_char_p, c_int, c_long, c_ubyte, c_uint, c_ulong, c_void_p
from typing import Any

from PySide6.QtCore import Qt

from keiko_desktop.ui.voice.ptt_keys import parse_key

# X11 constants (X.h)
KEY_PRESS, KEY_RELEASE = 2, 3
SHIFT, LOCK, CONTROL, MOD1, MOD4 = 1, 2, 4, 8, 64
GRAB_MODE_ASYNC = 1
BAD_ACCESS = 10
MODIFIER_BITS = 0xFF
_NUM_LOCK_KEYSYM = 0xFF7F

_QT_MODIFIERS = (
    (Qt.KeyboardModifier.ShiftModifier, SHIFT),
    (Qt.KeyboardModifier.ControlModifier, CONTROL),
    (Qt.KeyboardModifier.AltModifier, MOD1),
    (Qt.KeyboardModifier.MetaModifier, MOD4),
)
_K = Qt.Key
_KEYSYMS: dict[Qt.Key, int] = {
    _K.Key_Escape: 0xFF1B, _K.Key_Tab: 0xFF09, _K.Key_Backspace: 0xFF08,
    _K.Key_Return: 0xFF0D, _K.Key_Enter: 0xFF8D, _K.Key_Insert: 0xFF63,
    _K.Key_Delete: 0xFFFF, _K.Key_Pause: 0xFF13, _K.Key_Print: 0xFF61,
    _K.Key_Home: 0xFF50, _K.Key_End: 0xFF57, _K.Key_Left: 0xFF51, _K.Key_Up: 0xFF52,
    _K.Key_Right: 0xFF53, _K.Key_Down: 0xFF54, _K.Key_PageUp: 0xFF55,
    _K.Key_PageDown: 0xFF56, _K.Key_ScrollLock: 0xFF14, _K.Key_Menu: 0xFF67,
    _K.Key_MediaPlay: 0x1008FF14, _K.Key_MediaStop: 0x1008FF15,
    _K.Key_MediaPrevious: 0x1008FF16, _K.Key_MediaNext: 0x1008FF17,
    _K.Key_VolumeMute: 0x1008FF12, _K.Key_MicMute: 0x1008FFB2,
}  # fmt: skip


class XKeyEvent(ctypes.Structure):
    _fields_ = [
        ("type", c_int), ("serial", c_ulong), ("send_event", c_int), ("display", c_void_p),
        ("window", c_ulong), ("root", c_ulong), ("subwindow", c_ulong), ("time", c_ulong),
        ("x", c_int), ("y", c_int), ("x_root", c_int), ("y_root", c_int),
        ("state", c_uint), ("keycode", c_uint), ("same_screen", c_int),
    ]  # fmt: skip


class XEvent(ctypes.Union):
    _fields_ = [("type", c_int), ("xkey", XKeyEvent), ("pad", c_long * 24)]


class XErrorEvent(ctypes.Structure):
    _fields_ = [
        ("type", c_int), ("display", c_void_p), ("resourceid", c_ulong), ("serial", c_ulong),
        ("error_code", c_ubyte), ("request_code", c_ubyte), ("minor_code", c_ubyte),
    ]  # fmt: skip


class XModifierKeymap(ctypes.Structure):
    _fields_ = [("max_keypermod", c_int), ("modifiermap", POINTER(c_ubyte))]


ErrorHandler = ctypes.CFUNCTYPE(c_int, c_void_p, POINTER(XErrorEvent))

_lib: Any = None
_lib_error = ""
_lock = threading.Lock()
errors: dict[int, list[int]] = {}
"""Error codes seen on each of our connections (display pointer -> codes)."""
_previous_handler: Any = None


def _declare(lib: Any) -> None:
    spec: dict[str, tuple[Any, list[Any]]] = {
        "XOpenDisplay": (c_void_p, [c_char_p]),
        "XCloseDisplay": (c_int, [c_void_p]),
        "XDefaultRootWindow": (c_ulong, [c_void_p]),
        "XKeysymToKeycode": (c_ubyte, [c_void_p, c_ulong]),
        "XGrabKey": (c_int, [c_void_p, c_int, c_uint, c_ulong, c_int, c_int, c_int]),
        "XUngrabKey": (c_int, [c_void_p, c_int, c_uint, c_ulong]),
        "XSync": (c_int, [c_void_p, c_int]),
        "XPending": (c_int, [c_void_p]),
        "XNextEvent": (c_int, [c_void_p, POINTER(XEvent)]),
        "XPeekEvent": (c_int, [c_void_p, POINTER(XEvent)]),
        "XConnectionNumber": (c_int, [c_void_p]),
        "XSetErrorHandler": (c_void_p, [ErrorHandler]),
        "XkbSetDetectableAutoRepeat": (c_int, [c_void_p, c_int, POINTER(c_int)]),
        "XGetModifierMapping": (POINTER(XModifierKeymap), [c_void_p]),
        "XFreeModifiermap": (c_int, [POINTER(XModifierKeymap)]),
    }
    for name, (restype, argtypes) in spec.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def _on_x_error(display: int | None, error: Any) -> int:
    """Xlib's error handler (process-wide): ours record, others go to the previous one."""
    with contextlib.suppress(Exception):  # an exception may not cross into C
        if display in errors:
            errors[display].append(int(error.contents.error_code))
            return 0
        if _previous_handler:
            return int(ErrorHandler(_previous_handler)(display, error))
    return 0


_handler = ErrorHandler(_on_x_error)  # kept alive for as long as Xlib may call it


def load() -> Any:
    """libX11 with its functions declared (None when it cannot be loaded: ``load_error()``)."""
    global _lib, _lib_error
    with _lock:
        if _lib is None and not _lib_error:
            name = ctypes.util.find_library("X11") or "libX11.so.6"
            try:
                lib = ctypes.CDLL(name)
                _declare(lib)
                _lib = lib
            except (OSError, AttributeError) as exc:
                _lib_error = f"libX11 could not be loaded ({exc})"
        return _lib


def install_error_handler(lib: Any) -> None:
    """Put our handler in place (again, if someone replaced it), keeping the one before."""
    global _previous_handler
    with _lock:
        previous = lib.XSetErrorHandler(_handler)
        if previous and previous != ctypes.cast(_handler, c_void_p).value:
            _previous_handler = previous


def x11_key(text: str) -> tuple[int, int]:
    """The X keysym and modifier mask of a key such as "Ctrl+Space" (ValueError if none)."""
    key, modifiers = parse_key(text)
    mask = 0
    for qt_modifier, bit in _QT_MODIFIERS:
        if modifiers & qt_modifier:
            mask |= bit
    code = int(key)
    if 0x20 <= code <= 0xFF:
        keysym = ord(chr(code).lower())  # Latin-1 keysyms are the characters themselves
    elif int(Qt.Key.Key_F1) <= code <= int(Qt.Key.Key_F35):
        keysym = 0xFFBE + code - int(Qt.Key.Key_F1)
    elif key in _KEYSYMS:
        keysym = _KEYSYMS[key]
    else:
        raise ValueError(f"Keiko cannot listen for {text!r} outside its window; choose another.")
    return keysym, mask


def modifier_keys(lib: Any, display: int, mask: int) -> tuple[int, frozenset[int]]:
    """Num Lock's modifier bit, and the keycodes of the modifiers in ``mask``."""
    keymap = lib.XGetModifierMapping(display)
    if not keymap:
        return 0, frozenset()
    try:
        per = keymap.contents.max_keypermod
        codes = keymap.contents.modifiermap
        num_lock_code = int(lib.XKeysymToKeycode(display, _NUM_LOCK_KEYSYM))
        num_lock = 0
        keys: set[int] = set()
        for bit in range(8):
            row = [int(codes[bit * per + i]) for i in range(per)]
            if num_lock_code and num_lock_code in row:
                num_lock = 1 << bit
            if mask & (1 << bit):
                keys.update(code for code in row if code)
        return num_lock, frozenset(keys)
    finally:
        lib.XFreeModifiermap(keymap)


def load_error() -> str:
    """Why libX11 could not be loaded ("" when it could, or was not tried yet)."""
    return _lib_error
