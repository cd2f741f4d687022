"""Logging: a rotating log file in the user data dir. Secrets are never logged.

The log folder is 0700 and ``keiko.log`` and its rotations (``keiko.log.1``...) are 0600,
whatever the umask (see ``private_files``).
"""

from __future__ import annotations

import faulthandler
import io
import logging
import logging.handlers
from typing import cast

from keiko_desktop.core.config import Paths
from keiko_desktop.core.private_files import open_private, private_dir, tighten_file

LOG_FILE = "keiko.log"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A ``RotatingFileHandler`` whose file and rotations are owner-only (0600)."""

    def _open(self) -> io.TextIOWrapper:
        file = open_private(
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors
        )
        return cast(io.TextIOWrapper, file)  # a text mode ("a"): what os.fdopen returns

    def doRollover(self) -> None:  # noqa: N802 (logging's name)
        super().doRollover()  # renames keep the mode; tighten ones an older Keiko left 0644
        for n in range(1, self.backupCount + 1):
            tighten_file(self.rotation_filename(f"{self.baseFilename}.{n}"))


def setup_logging(paths: Paths, level: int = logging.INFO) -> None:
    """Send records to ``<data>/logs/keiko.log`` (1 MB x 3). Idempotent."""
    root = logging.getLogger()
    target = paths.log_dir / LOG_FILE
    for handler in root.handlers:
        if getattr(handler, "baseFilename", None) == str(target):
            return
    try:
        private_dir(paths.log_dir)
        handler = PrivateRotatingFileHandler(
            target, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return  # a read-only data dir must not stop the app; errors still reach the user
    for n in range(1, handler.backupCount + 1):
        tighten_file(f"{target}.{n}")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)


CRASH_FILE = "crash.log"
CRASH_FILE_LIMIT = 1_000_000
_crash_file: io.TextIOWrapper | None = None


def enable_crash_traces(paths: Paths) -> None:
    """On a fatal signal (a crash in native code), write every thread's Python stack to
    ``<data>/logs/crash.log`` (0600; started afresh past 1 MB), so a crash leaves a trace
    to report. Left alone when ``PYTHONFAULTHANDLER`` already sends them to stderr."""
    global _crash_file
    if faulthandler.is_enabled():
        return
    target = paths.log_dir / CRASH_FILE
    try:
        private_dir(paths.log_dir)
        big = target.exists() and target.stat().st_size > CRASH_FILE_LIMIT
        file = open_private(target, "w" if big else "a", encoding="utf-8")
    except OSError:
        return
    _crash_file = file  # kept open: faulthandler writes to its fd
    faulthandler.enable(_crash_file, all_threads=True)
