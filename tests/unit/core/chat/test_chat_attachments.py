"""ChatService with files: links on send, the newest turn carrying passages (stored message
unchanged), sources stored before the reply starts, and a failed link leaving nothing. Real
SQLite, real extractor, real files; the model is scripted (it is not what is tested)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.files.prompt import INTRO
from keiko_desktop.core.files.service import AttachmentService
from keiko_desktop.core.files.types import AttachmentError
from keiko_desktop.core.ports import ChatMessage, GenerationParams
from keiko_desktop.store import Database
from tests.helpers.attachments import attachment_service
from tests.helpers.documents import make_pdf, make_text, page_text, png_bytes
from tests.helpers.fake_model import FakeChatModel, FakeGeneration
from tests.helpers.fake_provider import FakeProvider


class ProbingModel(FakeChatModel):
    """Notes how many sources were stored when its reply began streaming."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database
        self.sources_at_start: list[int] = []

    def generate(self, messages: Sequence[ChatMessage], params: GenerationParams) -> FakeGeneration:
        generation = super().generate(messages, params)
        run = generation._run
        probe = self

        async def probed() -> AsyncIterator[str]:
            count = await probe.database.read(
                lambda s: s.execute(text("SELECT count(*) FROM message_sources")).scalar_one()
            )
            probe.sources_at_start.append(int(count))
            async for piece in run():
                yield piece

        generation._run = probed  # type: ignore[method-assign]
        return generation


@pytest.fixture
def model(database: Database) -> ProbingModel:
    return ProbingModel(database)


@pytest.fixture
def files(database: Database, bus: EventBus, tmp_path: Path) -> AttachmentService:
    return attachment_service(database, bus, tmp_path / "files")


@pytest.fixture
def chat(
    database: Database, model: ProbingModel, bus: EventBus, files: AttachmentService
) -> ChatService:
    settings = Settings(system_prompt="Be brief.")
    manager = ModelManager(FakeProvider(model), bus)
    service = ChatService(database.conversations, manager, bus, lambda: settings, 0.05)
    service.set_files(files)
    return service


async def test_the_newest_turn_carries_the_passages_and_the_reply_its_sources(
    chat: ChatService, files: AttachmentService, model: ProbingModel, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "report.pdf", [page_text(1), page_text(2)])
    info = await files.ingest(pdf)
    model.enqueue(["It says ", "[report.pdf, p. 2]."])
    reply = await chat.send(None, "What is on page two?", attachments=[info.id])
    assert (await reply.result()).status == "complete"

    stored = await chat.repo.list_messages(reply.conversation_id)
    assert stored[0].content == "What is on page two?"  # the stored message is unchanged
    assert [i.id for i in await files.for_message(stored[0].id)] == [info.id]
    seen = model.calls[0]
    assert seen[0] == ChatMessage("system", "Be brief.")
    assert seen[-1].role == "user"
    assert seen[-1].content.startswith(INTRO)
    assert '<passage source="[report.pdf, p. 2]">' in seen[-1].content
    assert seen[-1].content.endswith("What is on page two?")
    sources = await files.sources(reply.message_id)
    assert {p.chunk.page for p in sources} == {1, 2}
    assert model.sources_at_start == [len(sources)]  # stored before the reply began

    # A follow-up: the earlier turn goes as it was, the new one gets the passages.
    follow = await chat.send(reply.conversation_id, "And page one?")
    await follow.result()
    second = model.calls[1]
    users = [m.content for m in second if m.role == "user"]
    assert users[0] == "What is on page two?"
    assert users[1].startswith(INTRO)
    assert users[1].endswith("And page one?")
    assert await files.sources(follow.message_id)


async def test_a_chat_without_files_is_unchanged(chat: ChatService, model: ProbingModel) -> None:
    reply = await chat.send(None, "Hello there")
    await reply.result()
    assert model.calls[0][-1] == ChatMessage("user", "Hello there")
    assert model.sources_at_start == [0]


async def test_an_image_for_a_blind_model_is_noted_in_the_turn(
    chat: ChatService, files: AttachmentService, model: ProbingModel
) -> None:
    image = await files.ingest_bytes(png_bytes(), "cat.png")
    reply = await chat.send(None, "What is this?", attachments=[image.id])
    assert (await reply.result()).status == "complete"
    assert model.calls[0][-1].content == (
        "[image cat.png attached; this model cannot see images]\n\nWhat is this?"
    )


async def test_a_gone_attachment_stores_nothing(
    chat: ChatService, files: AttachmentService, tmp_path: Path
) -> None:
    info = await files.ingest(make_text(tmp_path / "n.md", "notes"))
    assert await files.discard(info.id)
    with pytest.raises(AttachmentError, match="gone"):
        await chat.send(None, "see the file", attachments=[info.id])
    assert await chat.repo.list_conversations() == []

    first = await chat.send(None, "hello")
    await first.result()
    with pytest.raises(AttachmentError):
        await chat.send(first.conversation_id, "and this file", attachments=[info.id])
    kept = await chat.repo.list_messages(first.conversation_id)
    assert [m.content for m in kept if m.role == "user"] == ["hello"]


async def test_attachments_without_a_file_service_are_refused(
    database: Database, model: ProbingModel, bus: EventBus
) -> None:
    settings = Settings()
    service = ChatService(
        database.conversations, ModelManager(FakeProvider(model), bus), bus, lambda: settings
    )
    with pytest.raises(KeikoError, match="cannot be attached"):
        await service.send(None, "hi", attachments=[1])
    assert await database.conversations.list_conversations() == []
