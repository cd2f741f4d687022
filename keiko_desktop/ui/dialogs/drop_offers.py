"""What Keiko offers for a dropped file it does not attach: a model, an MCP config, a folder.

Each offer is one question (Cancel is the default, so Enter never says yes by accident), asked
only once the facts for it were read off the GUI thread (the model's size; the number of
servers in the config, from at most ``CONFIG_LIMIT`` bytes):
- "Add the model X (1.2 GB)?" → ``core.registry.add_model`` (in a worker thread: it reads the
  file's header), then it is kept in ``extra_models`` and a toast says so;
- "Import N MCP servers from X?" → ``core.import_mcp_config(path)`` (the servers' names);
- "Let Keiko's files tool use the folder X?" → ``core.grant_folder(path)``.
A failure is the user's to read (``KeikoError``): it goes to ``notify`` in the error tone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from keiko_desktop.core.files.types import human_size
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.question import question_box
from keiko_desktop.ui.task_runner import TaskRunner

CONFIG_LIMIT = 4 * 1024 * 1024
Notify = Callable[[str, str], None]
"""``notify(text, tone)``: tone "ok", "info" or "error"."""


def count_servers(path: Path) -> int:
    """How many MCP servers a config file declares (``mcpServers``, or VS Code's ``servers``);
    0 when it cannot be read. Reads at most ``CONFIG_LIMIT`` bytes."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(CONFIG_LIMIT + 1)
        if len(raw) > CONFIG_LIMIT:
            return 0
        data = json.loads(raw.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return 0
    if not isinstance(data, dict):
        return 0
    servers = data.get("mcpServers", data.get("servers"))
    if not isinstance(servers, dict) and isinstance(data.get("mcp"), dict):
        servers = data["mcp"].get("servers")  # VS Code settings.json
    return len(servers) if isinstance(servers, dict) else 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _names(names: list[str]) -> str:
    shown = ", ".join(one_line(n, 40) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


class DropOffers:
    """Asks about dropped models, MCP configs and folders, and does what the user agrees to."""

    def __init__(self, core: CoreHandle, parent: QWidget, notify: Notify) -> None:
        self._core = core
        self._parent = parent
        self._notify = notify
        self.tasks = TaskRunner(lambda error: notify(error.message, "error"))
        self.box: QMessageBox | None = None
        """The open question (tests answer it)."""

    def offer_model(self, path: Path) -> None:
        self.tasks.spawn(self._offer_model(Path(path)), "offer a model")

    def offer_mcp_config(self, path: Path) -> None:
        self.tasks.spawn(self._offer_mcp_config(Path(path)), "offer an MCP config")

    def offer_folder(self, path: Path) -> None:
        name = one_line(str(path), 200)
        self._ask(
            "Let the files tool use this folder?",
            f"Let Keiko's files tool use the folder {name}?\n\nModels using tools can then "
            "read the files in it (writing asks you first).",
            "Allow",
            lambda: self._grant(Path(path)),
        )

    def close(self) -> None:
        self.tasks.close()
        if self.box is not None:
            self.box.close()

    # ------------------------------------------------------------------ offers
    async def _offer_model(self, path: Path) -> None:
        size = await asyncio.to_thread(_size, path)
        self._ask(
            "Add this model?",
            f"Add the model {one_line(path.name, 120)} ({human_size(size)})?\n\n"
            "It is kept where it is and listed in Settings > Model.",
            "Add model",
            lambda: self._add_model(path),
        )

    async def _offer_mcp_config(self, path: Path) -> None:
        count = await asyncio.to_thread(count_servers, path)
        servers = f"{count} MCP server{'s' if count != 1 else ''}" if count else "the MCP servers"
        self._ask(
            "Import MCP servers?",
            f"Import {servers} from {one_line(path.name, 120)}?\n\n"
            "Their tools become available to models (each asks before it runs, unless you "
            "allow it always).",
            "Import",
            lambda: self._import(path),
        )

    def _ask(self, title: str, text: str, yes: str, then: Callable[[], object]) -> None:
        def done(answer: int) -> None:
            self.box = None
            if answer == QMessageBox.StandardButton.Yes:
                then()

        if self.box is not None:
            self.box.close()
        self.box = question_box(self._parent, title, text, yes, done)

    # ------------------------------------------------------------------ work
    def _add_model(self, path: Path) -> None:
        self.tasks.spawn(self._add_model_now(path), "add a model")

    def _import(self, path: Path) -> None:
        self.tasks.spawn(self._import_now(path), "import MCP servers")

    def _grant(self, path: Path) -> None:
        self.tasks.spawn(self._grant_now(path), "grant a folder")

    async def _add_model_now(self, path: Path) -> None:
        core = await self._core.get()
        info = await asyncio.to_thread(core.registry.add_model, str(path))
        kept = [str(p) for p in core.settings.extra_models]
        if info.path not in kept and str(path) not in kept:
            core.update_settings(core.settings.with_changes(extra_models=[*kept, str(info.path)]))
        self._notify(f"Added the model {one_line(info.name, 80)}.", "ok")

    async def _import_now(self, path: Path) -> None:
        core = await self._core.get()
        names = await core.import_mcp_config(path)
        if names:
            self._notify(f"Imported MCP servers: {_names(names)}.", "ok")
        else:
            self._notify("Those MCP servers are already set up; nothing new to import.", "info")

    async def _grant_now(self, path: Path) -> None:
        core = await self._core.get()
        granted = await core.grant_folder(path)
        shown = one_line(path.name or str(path), 80)
        if granted:
            self._notify(f"The files tool can now use the folder {shown}.", "ok")
        else:
            self._notify(f"The files tool could already use the folder {shown}.", "info")


__all__ = ["DropOffers", "count_servers"]
