"""Reading a small TOML file of Keiko's own (``endpoints.toml``, ``models.toml``), bounded."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from keiko_desktop.core.errors import SettingsError


def read_toml(path: Path, max_bytes: int) -> dict[str, Any] | None:
    """``path``'s tables, None when there is no file; a SettingsError naming the file when it
    cannot be read, is larger than ``max_bytes`` or is not TOML."""
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SettingsError(
            f"Cannot read {path}: {exc.strerror or exc}.", "Check the file's permissions."
        ) from exc
    if len(raw) > max_bytes:
        raise SettingsError(f"{path} is larger than {max_bytes // 1024} KiB.", "Fix or remove it.")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}.", "Fix or remove it.") from exc
