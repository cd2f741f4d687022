"""settings.toml: reading it (migrating older layouts), checking it, and writing it.

The layout (``SCHEMA_VERSION`` 2) is a top-level ``schema_version`` and one table per section of
``config.SECTIONS``, each setting under the section it is declared in::

    schema_version = 2

    [chat]
    temperature = 0.7
    deleted_retention_days = 30

    [model]
    model = ""
    context_size = 4096

A section with no settings yet is left out. Files are migrated on load by ``MIGRATIONS``, an
ordered list of functions (one per version step): a file without ``schema_version`` is version 1,
every key at the top level, from before sections. A migrated file keeps every value; the old file
is copied to ``settings.toml.bak`` (``.bak.1``... if that exists) and the new one written. When
it cannot be rewritten (read-only folder) the settings still load, and the next start tries again.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import tomli_w

from keiko_desktop.core.config import SECTION_NAMES, SETTINGS, Paths, Settings, settings_in
from keiko_desktop.core.errors import SettingsError
from keiko_desktop.core.private_files import open_private, private_dir, tighten_file

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
BACKUP_SUFFIX = ".bak"

Document = dict[str, Any]


def _sections_from_flat(data: Document, source: str) -> Document:
    """1 -> 2: every key moves under its declared section (a section table is kept as is)."""
    out: Document = {}
    for key, value in data.items():
        if key == "schema_version":
            continue
        if key in SECTION_NAMES and isinstance(value, dict):
            out.setdefault(key, {}).update(value)
            continue
        spec = SETTINGS.get(key)
        if spec is None:
            raise SettingsError(
                f"Unknown setting '{key}' in {source}.",
                f"Remove it or use one of: {', '.join(sorted(SETTINGS))}.",
            )
        out.setdefault(spec.section, {})[key] = value
    return out


MIGRATIONS: list[Callable[[Document, str], Document]] = [_sections_from_flat]
"""``MIGRATIONS[n - 1]`` turns a version-n document into version n + 1."""
assert len(MIGRATIONS) == SCHEMA_VERSION - 1


def schema_version_of(data: Document, source: str) -> int:
    """The document's ``schema_version`` (1 when there is none)."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SettingsError(
            f"'schema_version' in {source} must be a whole number, not {version!r}.",
            f"Use schema_version = {SCHEMA_VERSION}, or delete the file to use the defaults.",
        )
    if version > SCHEMA_VERSION:
        raise SettingsError(
            f"{source} was written by a newer Keiko (schema_version {version}; this one reads "
            f"up to {SCHEMA_VERSION}).",
            "Update Keiko, or move the file away to use the defaults.",
        )
    return version


def migrate(data: Document, source: str) -> Document:
    """``data`` in the current layout (without ``schema_version``), from any older one."""
    version = schema_version_of(data, source)
    data = {k: v for k, v in data.items() if k != "schema_version"}
    for step in MIGRATIONS[version - 1 :]:
        data = step(data, source)
    return data


def from_document(data: Document, source: str) -> Settings:
    """Settings from a current-layout document (sections of settings); SettingsError names an
    unknown section, or an unknown, misplaced or bad key and its section."""
    values: dict[str, Any] = {}
    for name, table in data.items():
        spec = SETTINGS.get(name)
        if spec is not None and not isinstance(table, dict):  # e.g. a top-level `model = ""`
            raise SettingsError(
                f"Setting '{name}' in {source} is outside its section.",
                f"Move it under [{spec.section}].",
            )
        if name not in SECTION_NAMES:
            raise SettingsError(
                f"Unknown section [{name}] in {source}.",
                f"Remove it or use one of: {', '.join(SECTION_NAMES)}.",
            )
        if not isinstance(table, dict):
            raise SettingsError(
                f"'{name}' in {source} must be a section ([{name}]), not {table!r}.",
                f"Put its settings under a [{name}] line.",
            )
        for key, value in table.items():
            spec = SETTINGS.get(key)
            if spec is None or spec.section != name:
                raise SettingsError(
                    f"Unknown setting '{key}' in [{name}] of {source}.", _where_instead(key, name)
                )
            values[key] = spec.coerce(value, source)
    return replace(Settings(), **values).validate()


def _where_instead(key: str, section: str) -> str:
    spec = SETTINGS.get(key)
    if spec is not None:
        return f"'{key}' belongs under [{spec.section}]; move it there."
    known = [s.key for s in settings_in(section)]
    if not known:
        return f"No settings belong in [{section}] yet; remove it."
    return f"Remove it or use one of: {', '.join(known)}."


def to_document(settings: Settings) -> Document:
    """The file's content: ``schema_version`` and one table per section that has settings."""
    doc: Document = {"schema_version": SCHEMA_VERSION}
    for name in SECTION_NAMES:
        table = {}
        for spec in settings_in(name):
            value = getattr(settings, spec.key)
            table[spec.key] = list(value) if isinstance(value, tuple) else value
        if table:
            doc[name] = table
    return doc


def load_settings(paths: Paths) -> Settings:
    """Read settings.toml; a missing file gives the defaults. An older layout is migrated, and
    the file rewritten in the current one (the old kept as a backup)."""
    path = paths.settings_file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise SettingsError(
            f"Cannot read {path}: {exc.strerror}.", "Check its permissions."
        ) from exc
    tighten_file(path)  # an older Keiko wrote it 0644
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"{path} is not valid TOML: {exc}.", "Fix the file, or delete it to use the defaults."
        ) from exc
    source = str(path)
    old_version = schema_version_of(data, source)
    settings = from_document(migrate(data, source), source)
    if old_version < SCHEMA_VERSION:
        _rewrite(paths, raw, settings, old_version)
    return settings


def _rewrite(paths: Paths, raw: bytes, settings: Settings, old_version: int) -> None:
    try:
        backup = _write_backup(paths.settings_file, raw)
        _write(paths, settings)
    except OSError as exc:
        log.warning("could not rewrite %s in the new layout: %s", paths.settings_file, exc)
        return
    log.info(
        "migrated %s from schema %d to %d; the old file is %s",
        paths.settings_file,
        old_version,
        SCHEMA_VERSION,
        backup,
    )


def backup_path(path: Path, n: int = 0) -> Path:
    """``settings.toml.bak``, then ``settings.toml.bak.1``, ``.bak.2``..."""
    return path.with_name(path.name + BACKUP_SUFFIX + (f".{n}" if n else ""))


def _write_backup(path: Path, raw: bytes) -> Path:
    """Copy the old file's bytes next to it, never over an earlier backup."""
    for n in range(1000):
        candidate = backup_path(path, n)
        try:
            with open_private(candidate, "xb") as out:
                out.write(raw)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"too many backups of {path}")


def save_settings(paths: Paths, settings: Settings) -> None:
    """Write settings.toml atomically, so a crash never leaves half a file."""
    try:
        _write(paths, settings)
    except OSError as exc:
        raise SettingsError(
            f"Cannot save {paths.settings_file}: {exc.strerror or exc}.",
            "Check that its folder exists and is writable, and that the disk is not full.",
        ) from exc


def _write(paths: Paths, settings: Settings) -> None:
    """Owner-only (0600 in a 0700 folder): a temp file beside it, then ``os.replace``."""
    private_dir(paths.config_dir)
    tmp = paths.settings_file.with_suffix(".toml.tmp")
    with open_private(tmp, "w") as out:  # 0600 even when a stale one was left 0644
        out.write(tomli_w.dumps(to_document(settings)))
    os.replace(tmp, paths.settings_file)
