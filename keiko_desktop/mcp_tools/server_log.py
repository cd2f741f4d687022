"""A server's stderr, saved to ``logs/mcp-NAME.log`` with every known secret redacted.

The server does not write the file itself: its stderr is a pipe, and a daemon thread copies
what arrives, line by line, through the ``Redactor`` (which knows each secret resolved from the
keychain for that server, and each secret-looking env value or header given in plain text)
into the log, which is owner-only (0600). A line is cut at ``MAX_LINE_BYTES``; the file is
rotated to ``.log.1`` past ``MAX_LOG_BYTES``, so a chatty server cannot fill the disk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import TextIO

from keiko_desktop.core.private_files import open_private, private_dir
from keiko_desktop.core.tools.redaction import Redactor

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 16_384
MAX_LOG_BYTES = 1_000_000


def open_server_log(path: Path) -> TextIO:
    """``path`` opened owner-only for appending, moved to ``.log.1`` first when it is past
    ``MAX_LOG_BYTES``: every writer of a server's log (its stderr, its log notifications)
    opens it here, so no writer can grow it without bound."""
    private_dir(path.parent)
    if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
        path.replace(path.with_suffix(".log.1"))
    return open_private(path, "a")


class RedactedServerLog:
    """The pipe a server gets as stderr (``writer``) and the thread that saves it redacted.

    Close ``writer`` once the server has started (``close_writer``): the server holds its own
    copy, and the thread ends when the last copy closes.
    """

    def __init__(self, path: Path, redactor: Redactor) -> None:
        self.path = path
        self._redactor = redactor
        read_fd, write_fd = os.pipe()
        self.writer: TextIO = os.fdopen(write_fd, "w", encoding="utf-8")
        self._reader = os.fdopen(read_fd, "rb")
        self._thread = threading.Thread(
            target=self._copy, name=f"keiko-{path.stem}-stderr", daemon=True
        )
        self._thread.start()

    def close_writer(self) -> None:
        with contextlib.suppress(OSError):
            self.writer.close()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the copy to finish (the server and everything it started closed stderr)."""
        self._thread.join(timeout)

    def _copy(self) -> None:
        try:
            out = open_server_log(self.path)
        except OSError as exc:
            log.warning("cannot write %s: %s; the server's stderr is dropped", self.path, exc)
            out = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        written = 0
        try:
            with self._reader:
                while True:
                    raw = self._reader.readline(MAX_LINE_BYTES)
                    if not raw:
                        break
                    line = self._redactor.redact_text(raw.decode("utf-8", "replace"))
                    if not line.endswith("\n"):
                        line += "\n"  # a cut line (or the last, unterminated one)
                    out.write(line)
                    out.flush()
                    written += len(line)
                    if written > MAX_LOG_BYTES:
                        out.close()
                        out = open_server_log(self.path)
                        written = 0
        except (OSError, ValueError) as exc:
            log.warning("copying a server's stderr to %s stopped: %s", self.path, exc)
        finally:
            out.close()
