"""ChatResources: MCP resources attached to the chat like files.

"Attach from server…" (the composer's button, or Ctrl+Shift+R in the message box) opens the
``ResourcePicker`` with the resources and templates of every ready server (listed off the
GUI's hot path, each server within its time limit). A chosen resource becomes a chip named
``server:uri`` through the same ``AttachmentIntake`` a dropped file takes: read, ingested by
``core.files`` (size limit, content-addressed copy, extraction; an unreadable binary fails
with the dropped-file message), sent with the next message. When the server offers updates
the resource is watched (``core.tools.resource_attach``): an update re-reads it; a chip still
waiting shows the new content, one already sent comes back as a chip for the next message,
and a notice says it was refreshed. Template variables complete through the server.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent, QKeySequence

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.resource_attach import Refreshed, ResourceAttacher
from keiko_desktop.core.tools.resources import (
    CompletionRef,
    McpContent,
    McpContentError,
    ResourceContents,
    ResourceInfo,
    TemplateInfo,
    attachment_name,
    human_listing_note,
)
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.resource_picker import ResourcePicker
from keiko_desktop.ui.presenters.attachments_presenter import AttachmentIntake
from keiko_desktop.ui.presenters.tools_on_demand import running_tools
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.widgets.toast import Toast

if TYPE_CHECKING:
    from keiko_desktop.core.files.types import AttachmentInfo
    from keiko_desktop.ui.panels.chat_panel import ChatPanel

PICKER_KEYS = "Ctrl+Shift+R"
NO_TOOLS = KeikoError(
    "The MCP servers could not be started, so there are no resources to attach.",
    "See Settings > Tools (Ctrl+,) for why, or add a server with `keiko mcp import`.",
)


class ChatResources(QObject):
    """Resources in the chat (see the module docs); ``ChatFiles`` owns one."""

    def __init__(
        self,
        panel: ChatPanel,
        core: CoreHandle,
        intake: AttachmentIntake,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._panel = panel
        self._core = core
        self._intake = intake
        self._attacher: ResourceAttacher | None = None
        self.tasks = TaskRunner(self._on_user_error)
        self.picker: ResourcePicker | None = None
        panel.composer.editor.installEventFilter(self)
        button = getattr(panel.composer, "resource_button", None)
        if button is not None:
            button.clicked.connect(self.open_picker)

    # ------------------------------------------------------------------ public
    def open_picker(self) -> ResourcePicker:
        if self.picker is None:
            self.picker = ResourcePicker(self._panel)
            self.picker.attach_requested.connect(self._on_picker_attach_requested)
            self.picker.completion_wanted.connect(self._on_picker_completion_wanted)
        picker = self.picker
        picker.set_items([], "Asking the servers…")
        picker.filter.clear()
        picker.open()
        picker.filter.setFocus()
        self.tasks.spawn(self._load(picker), "list resources")
        return picker

    def attach(self, server: str, uri: str) -> asyncio.Task[object] | None:
        """Attach ``uri`` of ``server`` as a chip (and watch it when the server can tell)."""
        return self._intake.take_made(
            attachment_name(server, uri), lambda: self._attach(server, uri, None)
        )

    def attach_contents(self, server: str, contents: ResourceContents) -> object:
        """Attach contents a prompt embedded (``chat_prompts``)."""
        return self._intake.take_made(
            attachment_name(server, contents.uri),
            lambda: self._attach(server, contents.uri, contents),
        )

    def close(self) -> None:
        self.tasks.close()
        if self._attacher is not None:
            self._attacher.close()

    # ------------------------------------------------------------------ work
    async def _content(self) -> tuple[McpContent, ResourceAttacher]:
        core = await self._core.get()
        tools = await running_tools(core)  # the first use starts the servers
        content = tools.content if tools is not None else None
        if content is None or core.files is None:
            raise NO_TOOLS
        if self._attacher is None or self._attacher.content is not content:
            self._attacher = ResourceAttacher(content, core.files)
        return content, self._attacher

    async def _load(self, picker: ResourcePicker) -> None:
        picker.set_status("Asking the MCP servers…")
        try:
            content, _attacher = await self._content()
        except KeikoError as exc:
            picker.set_items([], f"{exc.message} {exc.hint}")
            return
        items: list[ResourceInfo | TemplateInfo] = []
        notes: list[str] = []
        for server in content.servers():
            if not content.capabilities(server).resources:
                continue
            try:
                listing = await content.list_resources(server)
                templates = await content.list_templates(server)
            except KeikoError as exc:
                notes.append(exc.message)
                continue
            items.extend(listing.items)
            items.extend(templates.items)
            for listed in (listing, templates):
                note = human_listing_note(listed)
                if note:
                    notes.append(f"{server}: {note}")
        picker.set_items(items, " ".join(notes))

    async def _attach(
        self, server: str, uri: str, contents: ResourceContents | None
    ) -> AttachmentInfo:
        _content, attacher = await self._content()
        if contents is None:
            info = await attacher.attach(server, uri)
        else:
            info = await attacher.attach_contents(server, uri, contents)
        if contents is None:
            attacher.watch(server, uri, info, self._on_refreshed, self._on_watch_failed)
        return info

    async def _complete(
        self, template: TemplateInfo, variable: str, typed: str, others: dict[str, str]
    ) -> None:
        content, _attacher = await self._content()
        if not content.capabilities(template.server).completions:
            return
        ref = CompletionRef("template", template.uri_template)
        try:
            values = await content.complete(template.server, ref, variable, typed, others)
        except McpContentError:
            return  # suggestions are a help, not a must
        if self.picker is not None:
            self.picker.set_completions(template, variable, list(values))

    # ------------------------------------------------------------------ refresh
    def _on_refreshed(self, refreshed: Refreshed) -> None:
        if not self._intake.replace(refreshed.old.id, refreshed.new):
            # Sent already: the new content comes back as a chip for the next message.
            self._intake.take_made(refreshed.new.name, lambda: _ready(refreshed.new))
        self._notify(f"{one_line(refreshed.new.name, 120)} was refreshed (the server changed it).")

    def _on_watch_failed(self, error: KeikoError) -> None:
        self._notify(error.message)

    def _notify(self, text: str) -> None:
        toasts = getattr(self._panel.window(), "toasts", None)
        if toasts is not None:
            toasts.notify(Toast(text, tone="info"))

    # ------------------------------------------------------------------ slots
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and QKeySequence(event.keyCombination()) == QKeySequence(PICKER_KEYS)
        ):
            self.open_picker()
            return True
        return False

    def _on_picker_attach_requested(self, server: str, uri: str) -> None:
        self.attach(server, uri)
        self._panel.composer.focus_editor()

    def _on_picker_completion_wanted(
        self, template: object, variable: str, typed: str, others: dict[str, str]
    ) -> None:
        if isinstance(template, TemplateInfo):
            self.tasks.spawn(self._complete(template, variable, typed, others), "complete")

    def _on_user_error(self, error: KeikoError) -> None:
        self._panel.show_error(error.message, error.hint)


async def _ready(info: AttachmentInfo) -> AttachmentInfo:
    return info
