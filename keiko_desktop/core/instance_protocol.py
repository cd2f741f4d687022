"""What a second launch asks the running Keiko (the single instance, ``ui/single_instance.py``).

One JSON object per line over a local socket that only the user can open: the client sends
``encode(request)``, the server answers ``{"ok": true}`` (or ``{"ok": false, "error": ...}``)
and closes. Whatever arrives on the socket is data: ``decode`` bounds and type-checks every
field and raises ``ValueError`` naming what is wrong.

``socket_path`` names the socket: one per Keiko home (a hash of the config folder), in a
folder only the user can enter (0700, refused when someone else owns it). Pure Python, no Qt:
``keiko quick`` forwards through it without importing Qt (``cli/instance_client.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from keiko_desktop.core.config import Paths

InstanceAction = Literal["show", "quick", "ask"]
ACTIONS: tuple[str, ...] = get_args(InstanceAction)

MAX_LINE = 1 << 20
"""Bytes of one request line, its newline included."""
MAX_TEXT = 100_000
MAX_ATTACHMENTS = 20
MAX_PATH = 4096
SOCKET_NAME_MAX = 100
"""Bytes of a Unix socket's path (``sun_path`` holds 108 on Linux, 104 on macOS)."""


@dataclass(frozen=True)
class InstanceRequest:
    """``show``: raise the window. ``quick``: open Quick ask (and ask ``text`` if given).
    ``ask``: a new chat in the window asking ``text`` with ``attachments`` (absolute paths)."""

    action: InstanceAction
    text: str = ""
    attachments: tuple[str, ...] = ()


def check(request: InstanceRequest) -> InstanceRequest:
    """``request`` if it is within the protocol's bounds, else ``ValueError`` saying why."""
    if request.action not in ACTIONS:
        raise ValueError(
            f"unknown action {request.action!r} (expected one of {', '.join(ACTIONS)})"
        )
    if not isinstance(request.text, str):
        raise ValueError("text must be a string")
    if len(request.text) > MAX_TEXT:
        raise ValueError(f"text is {len(request.text)} characters; at most {MAX_TEXT} are sent")
    _check_unicode(request.text, "text")
    if len(request.attachments) > MAX_ATTACHMENTS:
        raise ValueError(
            f"{len(request.attachments)} attachments; at most {MAX_ATTACHMENTS} are sent"
        )
    for n, path in enumerate(request.attachments, start=1):
        if not isinstance(path, str):
            raise ValueError(f"attachment {n} must be a string")
        if len(path) > MAX_PATH:
            raise ValueError(f"attachment {n} is a path of {len(path)} characters (max {MAX_PATH})")
        if "\0" in path or not os.path.isabs(path):
            raise ValueError(f"attachment {n} must be an absolute path")
        _check_unicode(path, f"attachment {n}")
    return request


def _check_unicode(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode (character {exc.start + 1})") from exc


def encode(request: InstanceRequest) -> bytes:
    """One JSON line, ``\\n`` ended. ``ValueError`` for a request ``decode`` would refuse."""
    check(request)
    body = {
        "action": request.action,
        "text": request.text,
        "attachments": list(request.attachments),
    }
    line = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    if len(line) > MAX_LINE:
        raise ValueError(f"the request is {len(line)} bytes; at most {MAX_LINE} are sent")
    return line


def decode(line: bytes) -> InstanceRequest:
    """The request in ``line`` (one JSON object, the newline optional). Unknown keys are
    ignored; anything else off the protocol is a ``ValueError`` naming it."""
    if len(line) > MAX_LINE:
        raise ValueError(f"the request is longer than {MAX_LINE} bytes")
    if line.endswith(b"\n"):
        line = line[:-1]
    if b"\n" in line:
        raise ValueError("one request per line")
    try:
        body = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"the request is not UTF-8 (byte {exc.start + 1})") from exc
    except RecursionError as exc:
        raise ValueError("the request is nested too deep") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"the request is not JSON: {exc.msg} at character {exc.pos + 1}") from exc
    if not isinstance(body, dict):
        raise ValueError("the request must be a JSON object")
    action = body.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    text = body.get("text", "")
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    attachments = body.get("attachments", [])
    if not isinstance(attachments, list):
        raise ValueError("attachments must be a list of paths")
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValueError(f"{len(attachments)} attachments; at most {MAX_ATTACHMENTS} are taken")
    request = InstanceRequest(action, text, tuple(attachments))  # type: ignore[arg-type]
    return check(request)


# ---------------------------------------------------------------------- where the socket is


def socket_path(paths: Paths, *, create: bool = True) -> str:
    """The socket of the Keiko whose config folder is ``paths.config_dir``.

    ``$XDG_RUNTIME_DIR/keiko/<hash12>.sock`` when that folder is set and usable, else
    ``/tmp/keiko-<uid>/<hash12>.sock``; ``hash12`` is the start of the sha256 of the resolved
    config folder, so two Keiko homes never share a socket. The folder is made 0700
    (``create``); one someone else owns, or that is not a real folder, is refused
    (``PermissionError``). On Windows this is a named pipe's name (``keiko-<hash12>``).
    """
    digest = hashlib.sha256(os.fsencode(str(paths.config_dir.resolve()))).hexdigest()[:12]
    name = f"{digest}.sock"
    if sys.platform == "win32" or not hasattr(os, "getuid"):
        return f"keiko-{digest}"
    uid = os.getuid()
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if _usable_runtime_dir(runtime, uid):
        folder = os.path.join(runtime, "keiko")
        if len(os.fsencode(os.path.join(folder, name))) <= SOCKET_NAME_MAX:
            return os.path.join(_private_folder(folder, uid, create), name)
    folder = f"/tmp/keiko-{uid}"  # owner-checked and 0700: _private_folder
    return os.path.join(_private_folder(folder, uid, create), name)


def _usable_runtime_dir(runtime: str, uid: int) -> bool:
    if not runtime or not os.path.isabs(runtime):
        return False
    try:
        info = os.stat(runtime)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode) and info.st_uid == uid and os.access(runtime, os.W_OK | os.X_OK)
    )


def _private_folder(folder: str, uid: int, create: bool) -> str:
    """``folder``, made 0700 if missing (``create``); refused unless it is a real folder (not
    a link) that ``uid`` owns. A missing folder with ``create`` False is fine: nothing listens
    there."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        if create:
            raise
        return folder
    if not stat.S_ISDIR(info.st_mode):
        raise PermissionError(f"{folder} is not a folder (a link or a file); Keiko will not use it")
    if info.st_uid != uid:
        raise PermissionError(
            f"{folder} belongs to another user (uid {info.st_uid}); Keiko will not use it"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(folder, 0o700)  # ours: mkdir's mode was masked by the umask, or loosened
    return folder
