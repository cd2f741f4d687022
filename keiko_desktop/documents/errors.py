"""The errors reading a file gives, each naming the file and saying what to do."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from keiko_desktop.core.files.types import AttachmentError
from keiko_desktop.core.safe_text import one_line

MAX_CHARS = 20_000_000
"""Characters of text kept from one file; the rest is cut (with a note)."""


def shown(name: str) -> str:
    """A file name as messages show it: one line, control characters escaped, not too long."""
    return one_line(name, 120)


def os_error(exc: OSError, name: str) -> AttachmentError:
    who = shown(name)
    if isinstance(exc, FileNotFoundError):
        return AttachmentError(
            f"{who} is no longer there.", "It was moved or deleted; attach it again."
        )
    if isinstance(exc, PermissionError):
        return AttachmentError(
            f"Keiko may not read {who}.", "Check the file's permissions, or attach a copy."
        )
    if isinstance(exc, IsADirectoryError):
        return AttachmentError(f"{who} is a folder, not a file.", "Attach the files inside it.")
    if exc.errno == errno.ELOOP:
        return AttachmentError(f"{who} is a link Keiko cannot follow.", "Attach the file itself.")
    reason = exc.strerror or type(exc).__name__
    return AttachmentError(f"{who} cannot be read: {reason}.", "Check the disk, then try again.")


def binary_error(name: str) -> AttachmentError:
    return AttachmentError(
        f"{shown(name)} looks like a binary file, not text.",
        "Attach text, code, Markdown, CSV, JSON, HTML, PDF, Word (.docx) or image files.",
    )


def changed_error(name: str) -> AttachmentError:
    return AttachmentError(
        f"{shown(name)} changed while Keiko was reading it.",
        "Wait until it is saved completely, then attach it again.",
    )


def cancelled_error(name: str) -> AttachmentError:
    return AttachmentError(f"Reading {shown(name)} was cancelled.", "Attach it again to retry.")


def check_regular(info: os.stat_result, name: str) -> None:
    """Refuse a device, pipe or socket (``/dev/zero`` never ends)."""
    if not stat.S_ISREG(info.st_mode):
        raise AttachmentError(
            f"{shown(name)} is not a regular file.", "Attach a file saved on the disk."
        )


def check_cancelled(cancelled: Callable[[], bool] | None, name: str) -> None:
    if cancelled is not None and cancelled():
        raise cancelled_error(name)


def cut_note(limit: int = MAX_CHARS) -> str:
    return f"only the first {limit:,} characters were read"


def join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)
