"""A real turn over an attached PDF with the bundled model: the whole Core (build_core), the
real extractor, store and llama.cpp. The passages reach the model within its context (the
prompt's tokens show them, nothing was trimmed to fit), the reply completes, its sources are
stored, and the stored question is the user's words alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings
from tests.helpers.documents import make_pdf, page_text
from tests.helpers.models import bundled_gguf

pytestmark = pytest.mark.model


@pytest.fixture(autouse=True)
def _needs_model() -> None:
    if bundled_gguf() is None:
        pytest.skip("the bundled model is not installed")


async def test_a_turn_over_a_pdf_with_the_bundled_model(paths: Paths, tmp_path: Path) -> None:
    pages = [page_text(n) for n in range(1, 13)]
    pages[6] = (
        "Page 7 is the one about the lighthouse. The lighthouse keeper is named Ada Lovelace "
        "and she paints the lamp room blue every spring.\n" + pages[6]
    )
    pdf = make_pdf(tmp_path / "handbook.pdf", pages)
    settings = Settings(temperature=0.0, max_tokens=48, context_size=2048)
    core = await build_core(paths, settings)
    try:
        assert core.files is not None
        assert core.files_sweep is not None
        await asyncio.wait_for(core.files_sweep, 30)
        info = await core.files.ingest(pdf)
        assert (info.kind, info.pages) == ("pdf", 12)

        question = "Who is the lighthouse keeper, and what does she paint?"
        alone = await core.chat.send(None, question)
        plain = await asyncio.wait_for(alone.result(), 300)
        reply = await core.chat.send(None, question, attachments=[info.id])
        result = await asyncio.wait_for(reply.result(), 300)

        assert result.status == "complete", result.error
        assert result.text.strip()
        # The passages reached the model: its prompt is far longer than the question's.
        assert result.stats.prompt_tokens > plain.stats.prompt_tokens + 300
        assert result.stats.prompt_tokens < 2048 - 48
        assert result.stats.trimmed_messages == 0
        sources = await core.files.sources(reply.message_id)
        assert sources
        assert 7 in {p.chunk.page for p in sources}  # the page that answers it was chosen
        stored = await core.conversations.list_messages(reply.conversation_id)
        assert stored[0].content == question
        assert [i.id for i in await core.files.for_message(stored[0].id)] == [info.id]
        print(f"\nreply: {result.text!r}\nprompt tokens: {result.stats.prompt_tokens}")
    finally:
        await core.aclose()
