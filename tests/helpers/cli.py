"""Run the real `keiko` command as a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any


def keiko_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KEIKO_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONFAULTHANDLER"] = "1"  # a crash prints every thread's stack into the output
    env.update(extra)
    return env


def run_keiko(
    home: Path, *args: str, stdin: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keiko_desktop", *args],
        env=keiko_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_settings(home: Path, **values: Any) -> None:
    import tomli_w

    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text(tomli_w.dumps(values))


def db_rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the database the way an outside observer would (read-only)."""
    path = home / "data" / "keiko.sqlite3"
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()
