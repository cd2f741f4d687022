"""ChatFiles: the chat window's files — what is attached to the next message, what was sent
with earlier ones, the sources of replies, and the offers for files Keiko does not attach.

- Files dropped on the chat or pasted into the message box, and those chosen with Attach
  (Ctrl+Shift+A), go through an ``AttachmentIntake`` into the composer's chips; audio goes the
  Voice path (the panel's ``audio_files_dropped``); a model, an MCP config or a folder is
  offered (``DropOffers``).
- Sending takes the ready chips (``take_for_send``) and puts them back if the send fails.
- A user message shows its attachments as chips (with a note when an image went to a model
  that cannot see images); a reply shows its sources, its citations linked once complete.
- A source clicked opens the ``PassageDialog`` at the passage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from keiko_desktop.core.files.types import AttachmentInfo
from keiko_desktop.core.ports import StoredMessage
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.drop_offers import DropOffers
from keiko_desktop.ui.dialogs.passage_dialog import PassageDialog, excerpt
from keiko_desktop.ui.presenters.attachments_presenter import AttachmentIntake
from keiko_desktop.ui.presenters.chat_prompts import ChatPrompts
from keiko_desktop.ui.presenters.chat_resources import ChatResources
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.widgets.toast import Toast, Tone

if TYPE_CHECKING:
    from keiko_desktop.app import Core
    from keiko_desktop.ui.panels.chat_panel import ChatPanel

TONES: dict[str, Tone] = {"ok": "ok", "error": "error", "info": "info"}
ASK_TIMEOUT = 600.0
"""The longest ``ask_new`` waits for its files to be read."""
IMAGE_NOTE = "This model cannot see images: it was only told that an image is attached."


def image_note(core: Core, infos: Sequence[AttachmentInfo]) -> str:
    """The note under a message with images, when the model in use cannot see them."""
    if not any(info.kind == "image" for info in infos):
        return ""
    model = core.models.current
    return "" if getattr(model, "supports_images", False) else IMAGE_NOTE


class ChatFiles(QObject):
    """Files in the chat (see the module docs); the ChatPresenter owns one."""

    def __init__(
        self, panel: ChatPanel, core: CoreHandle, tasks: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._panel = panel
        self._core = core
        self._tasks = tasks
        composer = panel.composer
        self.intake = AttachmentIntake(core, composer.chips, self)
        self.offers = DropOffers(core, panel, self._notify)
        self.file_dialog: QFileDialog | None = None
        self.passage_dialog: PassageDialog | None = None
        panel.files_dropped.connect(self.intake.take)
        panel.image_pasted.connect(self.intake.take_image)
        composer.files_pasted.connect(self.intake.take)
        composer.image_pasted.connect(self.intake.take_image)
        composer.attach_requested.connect(self._on_composer_attach_requested)
        panel.view.source_clicked.connect(self._on_view_source_clicked)
        self.intake.audio_dropped.connect(panel.audio_files_dropped)
        self.intake.folder_offered.connect(self.offers.offer_folder)
        self.intake.model_offered.connect(self.offers.offer_model)
        self.intake.mcp_config_offered.connect(self.offers.offer_mcp_config)
        self.intake.refused.connect(self._on_intake_refused)
        self.resources = ChatResources(panel, core, self.intake, self)  # MCP resources
        self.prompts = ChatPrompts(panel, core, self.resources, self)  # /server.prompt

    # ------------------------------------------------------------------ sending
    def take_for_send(self) -> list[AttachmentInfo]:
        """The ready attachments for the message being sent (their chips go)."""
        return self.intake.release()

    def give_back(self, infos: Sequence[AttachmentInfo]) -> None:
        """A send failed: its attachments are chips again."""
        self.intake.restore(infos)

    def show_sent(self, message_id: int, infos: Sequence[AttachmentInfo]) -> None:
        core = self._core.current
        widget = self._panel.view.widget_for(message_id)
        if widget is not None and infos:
            widget.set_attachments(infos, image_note(core, infos) if core is not None else "")

    async def ask_new(self, paths: Sequence[Path], then_send: str) -> None:
        """Attach ``paths``; once every one is read, send ``then_send`` (if any) — unless a
        file failed: then the question waits in the box with the chips, for the user."""
        self.intake.take(list(paths))
        async with asyncio.timeout(ASK_TIMEOUT):
            await self.intake.wait_settled()
        composer = self._panel.composer
        if then_send.strip():
            composer.set_text(then_send)
            if not any(composer.chips.status(t) == "failed" for t in composer.chips.tokens()):
                composer.submit()

    # ------------------------------------------------------------------ showing
    async def decorate(self, conversation_id: int, messages: Sequence[StoredMessage]) -> None:
        """Show the attachments and sources of ``messages`` (an opened conversation)."""
        core = await self._core.get()
        files = core.files
        if files is None or not await files.for_conversation(conversation_id):
            return
        for message in messages:
            if message.role == "user":
                infos = await files.for_message(message.id)
                if infos:
                    self.show_sent(message.id, infos)
            elif message.role == "assistant":
                await self.show_sources(message.id)

    async def show_sources(self, message_id: int) -> None:
        """Show the sources of reply ``message_id`` (none: nothing changes)."""
        core = await self._core.get()
        if core.files is None:
            return
        passages = await core.files.sources(message_id)
        widget = self._panel.view.widget_for(message_id)
        if passages and widget is not None:
            widget.set_sources(passages)

    async def open_passage(self, chunk_id: int) -> PassageDialog | None:
        """Open the passage dialog at chunk ``chunk_id``."""
        core = await self._core.get()
        if core.files is None:
            return None
        passage = await core.files.chunk(chunk_id)
        if passage is None:
            self._notify("That passage is no longer stored.", "error")
            return None
        pages = await core.files.pages(passage.chunk.attachment_id)
        page = next((p.text for p in pages if p.page == passage.chunk.page), passage.chunk.text)
        shown = await asyncio.to_thread(excerpt, page, passage.chunk.text, passage.chunk.start)
        if self.passage_dialog is None:
            theme = self._panel.view.render_context.theme
            self.passage_dialog = PassageDialog(self._panel, theme.mark_bg)
        dialog = self.passage_dialog
        dialog.show_passage(passage.name, passage.chunk.page, shown)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def close(self) -> None:
        self.prompts.close()
        self.resources.close()
        self.intake.close()
        self.offers.close()

    # ------------------------------------------------------------------ slots
    def _on_composer_attach_requested(self) -> None:
        if self.file_dialog is None:
            dialog = QFileDialog(self._panel, "Attach files")
            dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
            dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
            dialog.filesSelected.connect(self._on_file_dialog_files_selected)
            self.file_dialog = dialog
        self.file_dialog.open()

    def _on_file_dialog_files_selected(self, files: list[str]) -> None:
        self.intake.take([Path(f) for f in files])

    def _on_view_source_clicked(self, chunk_id: int) -> None:
        self._tasks.spawn(self.open_passage(chunk_id), "show a source")

    def _on_intake_refused(self, message: str) -> None:
        self._panel.show_error(message)

    def _notify(self, text: str, tone: str) -> None:
        toasts = getattr(self._panel.window(), "toasts", None)
        if toasts is not None:
            toasts.notify(Toast(text, tone=TONES.get(tone, "info")))
        elif tone == "error":
            self._panel.show_error(text)
