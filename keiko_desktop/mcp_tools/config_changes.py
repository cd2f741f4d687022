"""Changes to mcp.json that the CLI and the window both make: importing another app's servers,
and granting a folder to the ``files`` built-in. Plain functions over the file (no SDK import)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from keiko_desktop.core.config import Paths
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.mcp_tools.config import (
    BuiltinServerConfig,
    ExternalServerConfig,
    import_servers,
    load_config,
    save_config,
)
from keiko_desktop.mcp_tools.secrets import SecretStore, move_secrets_to_keychain, plain_secrets

MAX_FOLDERS = 50


@dataclass
class ImportOutcome:
    """What an import did: servers added, skipped (already there), secrets moved to the
    keychain or left in the file, and servers that are now a different program."""

    path: Path
    added: list[ExternalServerConfig] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def added_names(self) -> list[str]:
        return [server.name for server in self.added]


def _saving_error(paths: Paths, exc: OSError) -> KeikoError:
    return KeikoError(
        f"Cannot save {exc.filename or 'mcp.json'}: {exc.strerror or exc}.",
        f"Check that {paths.config_dir} is writable and the disk is not full.",
    )


def import_config_file(
    paths: Paths,
    source: Path,
    *,
    replace_existing: bool = False,
    keep_plain_secrets: bool = False,
    secrets: SecretStore | None = None,
) -> ImportOutcome:
    """Add the servers of a Claude Desktop / Cursor / VS Code file to mcp.json.

    Secret-looking values move to the keychain unless ``keep_plain_secrets``. Raises
    KeikoError (a bad file, or mcp.json that cannot be saved)."""
    config = load_config(paths)
    found = import_servers(source)
    store = secrets or SecretStore()
    outcome = ImportOutcome(paths.config_dir / "mcp.json")
    for name, server in found.items():
        if name in config.builtins or (name in config.servers and not replace_existing):
            outcome.skipped.append(name)
            continue
        old = config.servers.get(name)
        if old is not None and old.identity != server.identity:
            outcome.changed.append(name)
        if keep_plain_secrets:
            outcome.plain.extend(f"{name}.{key}" for key in plain_secrets(server))
        else:
            server, names = move_secrets_to_keychain(server, store)
            outcome.moved.extend(names)
        config = config.with_server(server)
        outcome.added.append(server)
    try:
        outcome.path = save_config(paths, config)
    except OSError as exc:
        raise _saving_error(paths, exc) from exc
    return outcome


def grant_folder(paths: Paths, folder: Path) -> BuiltinServerConfig | None:
    """Add ``folder`` to the ``files`` built-in's granted folders in mcp.json (enabling it).

    Returns the new config, or None when the folder was granted already. Raises KeikoError
    for something that is not a folder, or when mcp.json cannot be saved."""
    resolved = folder.expanduser().resolve()
    if not resolved.is_dir():
        raise KeikoError(f"{folder} is not a folder.", "Drop a folder to grant it.")
    config = load_config(paths)
    files = config.builtins.get("files") or BuiltinServerConfig("files")
    granted = {os.path.realpath(os.path.expanduser(f)) for f in files.folders}
    if str(resolved) in granted and not files.disabled:
        return None
    if len(files.folders) >= MAX_FOLDERS:
        raise KeikoError(
            f"The files tool has {MAX_FOLDERS} folders already.",
            "Remove one in mcp.json (builtinServers.files.folders) first.",
        )
    folders = files.folders if str(resolved) in granted else (*files.folders, str(resolved))
    new = replace(files, folders=folders, disabled=False)
    try:
        save_config(paths, config.with_server(new))
    except OSError as exc:
        raise _saving_error(paths, exc) from exc
    return new
