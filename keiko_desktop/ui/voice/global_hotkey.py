"""Push-to-talk from anywhere on an X11 desktop: the key is grabbed on the root window.

X11 lets a program take a key for itself everywhere (``XGrabKey`` on the root window); Wayland
does not (only the focused window hears keys), nor, yet, do we on macOS and Windows, where
push-to-talk works while Keiko's window is focused (``PushToTalkKeys``). ``support()`` says
which, and why.

The grab lives on a thread of its own with its own X connection (libX11 through ctypes, no new
dependency): it grabs the key with each combination of the lock modifiers (Caps Lock, Num Lock),
so it works whichever are on, asks the server for detectable auto-repeat (a held key gives one
press, not press-release pairs; where the server cannot, the pairs are recognised by their
shared time stamp), waits on the connection with ``select`` (a pipe wakes it to stop), and
hands each press and release to the GUI thread with a queued signal. Nothing here may take the
app down: no libX11, no display, a key another program already grabbed (X's BadAccess, caught
by an error handler that passes every other connection's errors on to whoever had the handler
before) all end as ``failed(reason)``.

Nor may the X server going away (a test's Xvfb stopped, a nested server closed): Xlib's
default on a broken connection is ``exit()``, from this thread, in the middle of the GUI's
work (a crash or a hang at exit). So each connection gets an I/O-error exit handler that
returns instead (libX11 1.7+, ``XSetIOErrorExitHandler``; Xlib then answers every later call
at once), behind a process-wide I/O-error handler that returns for our connections and passes
every other one's to the handler before (whose default still exits). For older libX11 the
loop peeks at the socket and stops touching a connection whose server hung up (leaking it
rather than closing it, which would write to it). Either ends as ``failed``. ``XInitThreads``
is called before the first connection (each hotkey, push-to-talk and Quick ask, has its own
thread and connection; libX11 1.8 does this itself).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import socket
import sys
import threading
from ctypes import CFUNCTYPE, byref, c_int, c_void_p
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.voice import xlib
from keiko_desktop.ui.voice.xlib import (
    BAD_ACCESS,
    GRAB_MODE_ASYNC,
    KEY_PRESS,
    KEY_RELEASE,
    LOCK,
    MODIFIER_BITS,
    XEvent,
    x11_key,
)

WAYLAND = (
    "Wayland does not let programs listen to keys outside their window; push-to-talk works "
    "while Keiko's window is focused"
)
ESCAPE = 0xFF1B  # XK_Escape
FOCUSED_ONLY = "push-to-talk works while Keiko's window is focused"
LOST = "The connection to the X display {name!r} was lost; " + FOCUSED_ONLY

IOErrorHandler = CFUNCTYPE(c_int, c_void_p)
IOErrorExitHandler = CFUNCTYPE(None, c_void_p, c_void_p)
connections: set[int] = set()
"""Our open connections (display pointers), whose I/O errors are ours to handle."""
broken: set[int] = set()
"""Those whose X server hung up: never written to again."""
_prepared: bool | None = None  # None: not yet; then whether a broken connection can return
_previous_io_handler: int | None = None
_prepare_lock = threading.Lock()


def _on_io_error(display: int | None) -> int:
    """Xlib's (process-wide) I/O-error handler: ours are marked broken and return, so that
    their exit handler is reached; every other connection's go to the handler before (the
    default prints and exits, as Xlib always did)."""
    with contextlib.suppress(Exception):  # an exception may not cross into C
        if display in connections:
            broken.add(display)
            return 0
        if _previous_io_handler:
            return int(IOErrorHandler(_previous_io_handler)(display))
    return 0


def _on_io_error_exit(display: int | None, _data: int | None) -> None:
    """Xlib's I/O-error exit handler for our connections: return instead of ``exit()``."""
    with contextlib.suppress(Exception):
        if display:
            broken.add(display)


_io_error = IOErrorHandler(_on_io_error)  # alive as long as Xlib may call them
_io_error_exit = IOErrorExitHandler(_on_io_error_exit)


def _prepare(lib: Any) -> bool:
    """``XInitThreads`` once, before our first connection, and our I/O-error handler; whether
    this libX11 lets a broken connection return (``XSetIOErrorExitHandler``, 1.7+) rather
    than exit the process."""
    global _prepared, _previous_io_handler
    with _prepare_lock:
        if _prepared is None:
            init = getattr(lib, "XInitThreads", None)
            if init is not None:
                init.restype, init.argtypes = c_int, []
                init()
            exit_handler = getattr(lib, "XSetIOErrorExitHandler", None)
            _prepared = exit_handler is not None
            if exit_handler is not None:
                exit_handler.restype = None
                exit_handler.argtypes = [c_void_p, IOErrorExitHandler, c_void_p]
                set_handler = lib.XSetIOErrorHandler
                set_handler.restype, set_handler.argtypes = c_void_p, [IOErrorHandler]
                previous = set_handler(_io_error)
                if previous != ctypes.cast(_io_error, c_void_p).value:
                    _previous_io_handler = previous
        return _prepared


def _hung_up(fd: int) -> bool:
    """Whether the server closed the connection (its socket reads as end-of-file)."""
    try:
        with socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:  # reset, or not a socket any more
        return True


def _wayland() -> bool:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication) and QGuiApplication.platformName() == "wayland":
        return True
    return bool(os.environ.get("WAYLAND_DISPLAY")) or (
        os.environ.get("XDG_SESSION_TYPE", "").lower() == "wayland"
    )


class GlobalHotkey(QObject):
    """The push-to-talk key grabbed for the whole X11 desktop (see the module docs).

    Signals:
        started(): the key is grabbed; presses anywhere now arrive.
        pressed(): the key went down (once per hold).
        released(): the key or one of its modifiers went up.
        cancelled(): Esc was pressed while the key is held (the active grab sends every key
            here, not to the window); released() still follows.
        failed(str): it could not be grabbed or the connection failed (why; nothing crashes).
    """

    started = Signal()
    pressed = Signal()
    released = Signal()
    cancelled = Signal()
    failed = Signal(str)
    _happened = Signal(int, str, str)  # generation, kind, text: from the X thread

    def __init__(
        self,
        display: str | None = None,
        parent: QObject | None = None,
        *,
        setting: str = "push-to-talk key in Settings › Voice",
    ) -> None:
        """``setting``: where the user chooses another key, for the message when this one is
        taken ("choose another <setting>")."""
        super().__init__(parent)
        self._display = display
        self._setting = setting
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._wake_write = -1
        self._generation = 0
        self._active = False
        self._happened.connect(self._on_self_happened, Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def support() -> tuple[bool, str]:
        """(True, "") where the key can be heard outside the window (X11), else (False, why)."""
        if sys.platform == "darwin" or sys.platform == "win32":
            system = "macOS" if sys.platform == "darwin" else "Windows"
            return (
                False,
                f"Keiko cannot yet hear keys outside its window on {system}; {FOCUSED_ONLY}",
            )
        if _wayland():
            return False, WAYLAND
        if not os.environ.get("DISPLAY"):
            return False, f"There is no X display (DISPLAY is not set); {FOCUSED_ONLY}"
        if xlib.load() is None:
            return False, f"{xlib.load_error()}; {FOCUSED_ONLY}"
        return True, ""

    @property
    def active(self) -> bool:
        """Whether the key is grabbed now."""
        return self._active

    def start(self, key: str) -> None:
        """Grab ``key`` (e.g. "Ctrl+Space"); ``started`` or ``failed`` follows (queued)."""
        self.stop()
        self._generation += 1
        generation = self._generation
        ok, reason = (True, "") if self._display else self.support()
        if self._display and xlib.load() is None:
            ok, reason = False, f"{xlib.load_error()}; {FOCUSED_ONLY}"
        if not ok:
            self._happened.emit(generation, "failed", reason)
            return
        try:
            keysym, mask = x11_key(key)
        except ValueError as exc:
            self._happened.emit(generation, "failed", str(exc))
            return
        self._stop_event = threading.Event()
        read_fd, self._wake_write = os.pipe()
        self._thread = threading.Thread(
            target=self._run,
            args=(generation, keysym, mask, one_line(key.strip()), read_fd, self._stop_event),
            name="keiko-hotkey",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Let the key go (ungrab it and close the connection); waits for the thread."""
        self._generation += 1
        self._active = False
        self._stop_event.set()
        if self._wake_write >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_write, b"x")
            os.close(self._wake_write)
            self._wake_write = -1
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _on_self_happened(self, generation: int, kind: str, text: str) -> None:
        if generation != self._generation:
            return  # from a grab that was stopped since
        if kind == "started":
            self._active = True
            self.started.emit()
        elif kind == "pressed":
            self.pressed.emit()
        elif kind == "released":
            self.released.emit()
        elif kind == "cancelled":
            self.cancelled.emit()
        else:
            self._active = False
            self.failed.emit(text)

    # ------------------------------------------------------------------ the X thread
    def _post(self, generation: int, kind: str, text: str = "") -> None:
        with contextlib.suppress(RuntimeError):  # the QObject is gone: nobody is listening
            self._happened.emit(generation, kind, text)

    def _run(
        self,
        generation: int,
        keysym: int,
        mask: int,
        label: str,
        wake: int,
        stop: threading.Event,
    ) -> None:
        try:
            self._listen(generation, keysym, mask, label, wake, stop)
        except Exception as exc:  # noqa: BLE001 - the X thread must never take the app down
            self._post(generation, "failed", f"Listening for {label} failed: {one_line(str(exc))}")
        finally:
            os.close(wake)

    def _listen(
        self,
        generation: int,
        keysym: int,
        mask: int,
        label: str,
        wake: int,
        stop: threading.Event,
    ) -> None:
        lib = xlib.load()
        survives = _prepare(lib)
        name = self._display or os.environ.get("DISPLAY", "")
        display = lib.XOpenDisplay(name.encode() if self._display else None)
        if not display:
            self._post(generation, "failed", f"Cannot connect to the X display {one_line(name)!r}.")
            return
        connections.add(display)
        if survives:
            lib.XSetIOErrorExitHandler(display, _io_error_exit, None)
        xlib.errors[display] = []
        grabbed: list[int] = []
        keycode, root = 0, 0
        try:
            xlib.install_error_handler(lib)
            detectable = c_int(0)
            lib.XkbSetDetectableAutoRepeat(display, 1, byref(detectable))
            keycode = int(lib.XKeysymToKeycode(display, keysym))
            if keycode == 0:
                self._post(generation, "failed", f"{label} is not a key of this keyboard.")
                return
            root = lib.XDefaultRootWindow(display)
            num_lock, modifier_keys = xlib.modifier_keys(lib, display, mask)
            for locks in sorted({0, LOCK, num_lock, num_lock | LOCK}):
                lib.XGrabKey(
                    display, keycode, mask | locks, root, 0, GRAB_MODE_ASYNC, GRAB_MODE_ASYNC
                )
                grabbed.append(mask | locks)
            lib.XSync(display, 0)
            if xlib.errors[display]:
                taken = BAD_ACCESS in xlib.errors[display]
                self._post(
                    generation,
                    "failed",
                    f"{label} is already taken by another program; choose another {self._setting}."
                    if taken
                    else f"The X server refused to give Keiko {label} (error "
                    f"{xlib.errors[display][0]}).",
                )
                return
            self._post(generation, "started")
            escape = int(lib.XKeysymToKeycode(display, ESCAPE))
            self._loop(
                lib, display, (keycode, escape), mask, num_lock, modifier_keys,
                bool(detectable.value), generation, wake, stop,
            )  # fmt: skip
            if display in broken:
                self._post(generation, "failed", LOST.format(name=one_line(name)))
        finally:
            if display not in broken:
                for modifiers in grabbed:
                    lib.XUngrabKey(display, keycode, modifiers, root)
                lib.XSync(display, 0)
            xlib.errors.pop(display, None)
            if display not in broken or survives:  # else closing would write to it: exit()
                lib.XCloseDisplay(display)
            connections.discard(display)
            broken.discard(display)

    def _loop(
        self,
        lib: Any,
        display: int,
        keycodes: tuple[int, int],
        mask: int,
        num_lock: int,
        modifier_keys: frozenset[int],
        detectable: bool,
        generation: int,
        wake: int,
        stop: threading.Event,
    ) -> None:
        keycode, escape = keycodes
        connection = lib.XConnectionNumber(display)
        event, following = XEvent(), XEvent()
        ignored = LOCK | num_lock
        held = False
        while not stop.is_set() and display not in broken:
            while lib.XPending(display) and not stop.is_set():
                lib.XNextEvent(display, byref(event))
                key = event.xkey
                if event.type == KEY_PRESS and held and key.keycode == escape:
                    # While the grab is active X sends every key here, not to the window:
                    # Esc while holding push-to-talk (Ctrl+Esc, as fingers are) cancels.
                    self._post(generation, "cancelled")
                elif event.type == KEY_PRESS and key.keycode == keycode:
                    if (key.state & MODIFIER_BITS & ~ignored) == mask and not held:
                        held = True
                        self._post(generation, "pressed")
                elif event.type == KEY_RELEASE and held:
                    if key.keycode == keycode:
                        if not detectable and lib.XPending(display):
                            lib.XPeekEvent(display, byref(following))
                            nxt = following.xkey
                            if (
                                following.type == KEY_PRESS
                                and nxt.keycode == keycode
                                and nxt.time == key.time
                            ):
                                lib.XNextEvent(display, byref(following))  # auto-repeat pair
                                continue
                        held = False
                        self._post(generation, "released")
                    elif key.keycode in modifier_keys:
                        held = False
                        self._post(generation, "released")
            if display in broken:
                return
            ready, _, _ = select.select([connection, wake], [], [], 1.0)
            if wake in ready:
                return
            if connection in ready and _hung_up(connection):
                broken.add(display)  # the server is gone: Xlib must not read (or exit) now
                return
