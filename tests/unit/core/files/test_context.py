"""Choosing a turn's passages: everything when it fits, else the best for the question within
the budget, in document order; images noted for a model that cannot see. Real SQLite store; the
model is a stand-in with a context length (the model is not what is tested)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from keiko_desktop.core.files.chunking import chunk_pages
from keiko_desktop.core.files.context import (
    CHARS_PER_TOKEN,
    choose_turn,
    files_budget_tokens,
    prompt_budget_tokens,
    with_turn,
)
from keiko_desktop.core.files.prompt import INTRO
from keiko_desktop.core.files.types import AttachmentInfo, Extracted, PageText
from keiko_desktop.core.ports import ChatMessage
from keiko_desktop.store import Database
from keiko_desktop.store.attachments import SqliteAttachmentRepository
from tests.helpers.documents import page_text


class Model:
    name = "stand-in"
    supports_tools = False

    def __init__(self, context_length: int, supports_images: bool = False) -> None:
        self.context_length = context_length
        self.supports_images = supports_images


class CountingModel(Model):
    """Counts a token per 2 characters: denser than the 4-character estimate."""

    def __init__(self, context_length: int) -> None:
        super().__init__(context_length)
        self.counted = 0

    async def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        self.counted += 1
        return sum(len(m.content) for m in messages) // 2


@pytest.fixture
def repo(database: Database) -> SqliteAttachmentRepository:
    return SqliteAttachmentRepository(database)


async def _attach(
    database: Database, repo: SqliteAttachmentRepository, name: str, pages: list[str], sha: str
) -> tuple[int, AttachmentInfo]:
    extracted = Extracted(
        "pdf", "application/pdf", tuple(PageText(i + 1, t) for i, t in enumerate(pages))
    )
    info = await repo.add(sha, name, extracted, 100, chunk_pages(extracted.pages))
    chat = await database.conversations.create_conversation("c")
    user = await database.conversations.add_message(chat.id, "user", "q")
    await repo.link(user.id, [info.id])
    return chat.id, info


def test_budgets_follow_the_context_and_the_reply_room() -> None:
    assert prompt_budget_tokens(4096, 512) == 3584
    assert prompt_budget_tokens(1000, 5000) == 250  # the reply takes at most three quarters
    assert files_budget_tokens(4096, 512, 0.5) == 1792


async def test_a_conversation_without_files_is_left_alone(
    database: Database, repo: SqliteAttachmentRepository
) -> None:
    chat = await database.conversations.create_conversation("c")
    user = await database.conversations.add_message(chat.id, "user", "hi")
    history = [ChatMessage("user", "hi")]
    assert await choose_turn(repo, chat.id, user.id, history, Model(4096), 512, 0.5) is None


async def test_small_files_go_in_whole_in_document_order(
    database: Database, repo: SqliteAttachmentRepository
) -> None:
    pages = ["Owls hunt at night.", "Ravens solve puzzles.", "Crows remember faces."]
    chat_id, _info = await _attach(database, repo, "birds.pdf", pages, "a" * 64)
    messages = await database.conversations.list_messages(chat_id)
    history = [ChatMessage("system", "Be brief."), ChatMessage("user", "Which bird hunts?")]
    turn = await choose_turn(repo, chat_id, messages[0].id, history, Model(4096), 512, 0.5)
    assert turn is not None
    assert [p.chunk.text for p in turn.passages] == pages
    assert turn.text.startswith(INTRO)
    assert '<passage source="[birds.pdf, p. 2]">\nRavens solve puzzles.\n</passage>' in turn.text
    assert turn.text.endswith("\n\nWhich bird hunts?")
    fitted = with_turn(history, turn)
    assert fitted[0] == history[0]
    assert fitted[1] == ChatMessage("user", turn.text)


async def test_big_files_give_the_best_passages_within_the_budget(
    database: Database, repo: SqliteAttachmentRepository
) -> None:
    pages = [page_text(n, 30) for n in range(1, 41)]  # about 70 KB: far over the budget
    chat_id, _info = await _attach(database, repo, "long.pdf", pages, "b" * 64)
    messages = await database.conversations.list_messages(chat_id)
    history = [ChatMessage("user", "What does page 17 say? pagemarker17 pagemarker5")]
    model = Model(2048)
    turn = await choose_turn(repo, chat_id, messages[0].id, history, model, 256, 0.5)
    assert turn is not None
    budget = files_budget_tokens(2048, 256, 0.5) * CHARS_PER_TOKEN
    block = turn.text[: -len(history[0].content)]
    assert len(block) <= budget
    chosen = {p.chunk.page for p in turn.passages}
    assert {5, 17} <= chosen
    assert len(chosen) < 40
    order = [p.chunk.ordinal for p in turn.passages]
    assert order == sorted(order)  # document order in the prompt


async def test_a_question_that_finds_nothing_gets_the_beginning(
    database: Database, repo: SqliteAttachmentRepository
) -> None:
    pages = [page_text(n, 30) for n in range(1, 41)]
    chat_id, _info = await _attach(database, repo, "long.pdf", pages, "c" * 64)
    messages = await database.conversations.list_messages(chat_id)
    history = [ChatMessage("user", "Summarise this, please.")]
    turn = await choose_turn(repo, chat_id, messages[0].id, history, Model(2048), 256, 0.5)
    assert turn is not None
    assert turn.passages
    assert turn.passages[0].chunk.page == 1
    pages_in = [p.chunk.page for p in turn.passages]
    assert pages_in == sorted(pages_in)
    assert pages_in[-1] < 40


async def test_a_model_that_counts_tokens_gets_a_block_that_really_fits(
    database: Database, repo: SqliteAttachmentRepository
) -> None:
    pages = [page_text(n, 30) for n in range(1, 41)]
    chat_id, _info = await _attach(database, repo, "long.pdf", pages, "d" * 64)
    messages = await database.conversations.list_messages(chat_id)
    question = "pagemarker3 pagemarker30 river"
    history = [ChatMessage("user", question)]
    model = CountingModel(2048)
    turn = await choose_turn(repo, chat_id, messages[0].id, history, model, 256, 0.5)
    assert turn is not None
    assert turn.passages
    assert model.counted >= 2
    used = (len(turn.text) - len(question)) // 2
    assert used <= files_budget_tokens(2048, 256, 0.5)


async def test_an_image_is_noted_for_a_model_that_cannot_see(
    database: Database, repo: SqliteAttachmentRepository
) -> None:
    chat = await database.conversations.create_conversation("c")
    user = await database.conversations.add_message(chat.id, "user", "what is this?")
    image = await repo.add("e" * 64, "cat.png", Extracted("image", "image/png", ()), 90, [])
    await repo.link(user.id, [image.id])
    history = [ChatMessage("user", "what is this?")]
    turn = await choose_turn(repo, chat.id, user.id, history, Model(4096), 512, 0.5)
    assert turn is not None
    assert turn.passages == ()
    assert turn.text == "[image cat.png attached; this model cannot see images]\n\nwhat is this?"
    seeing = await choose_turn(repo, chat.id, user.id, history, Model(4096, True), 512, 0.5)
    assert seeing is not None
    assert seeing.text == "what is this?"


def test_with_turn_replaces_only_the_newest_user_message(tmp_path: Path) -> None:
    from keiko_desktop.core.files.context import Turn

    history = [
        ChatMessage("user", "first"),
        ChatMessage("assistant", "answer"),
        ChatMessage("user", "second"),
    ]
    out = with_turn(history, Turn("second with documents", ()))
    assert [m.content for m in out] == ["first", "answer", "second with documents"]
    assert history[2].content == "second"
