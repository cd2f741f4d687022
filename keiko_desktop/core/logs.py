"""Logging: a rotating log file in the user data dir. Secrets are never logged."""

from __future__ import annotations

import logging
import logging.handlers

from keiko_desktop.core.config import Paths

LOG_FILE = "keiko.log"


def setup_logging(paths: Paths, level: int = logging.INFO) -> None:
    """Send records to ``<data>/logs/keiko.log`` (1 MB x 3). Idempotent."""
    root = logging.getLogger()
    target = paths.log_dir / LOG_FILE
    for handler in root.handlers:
        if getattr(handler, "baseFilename", None) == str(target):
            return
    try:
        paths.log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return  # a read-only data dir must not stop the app; errors still reach the user
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
