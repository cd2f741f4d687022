"""Which passages of a conversation's attachments go into a turn, within the context budget.

The files may fill ``attachment_context_share`` of the prompt's budget: the model's context
less the room kept for the reply (``core.chat.context.prompt_budget_tokens``, the rule the
llama.cpp engine fits the conversation with). Text is measured at 4 characters a
token; when the model can count tokens (``count_tokens``, llama.cpp), the chosen block is
counted too and shrunk until it fits.

When all of the conversation's attachment text fits, every chunk goes in. Otherwise the best
chunks for the question (FTS5 bm25 over ``query_terms``; the beginning of each file when that
finds nothing) fill the budget best first, and go into the prompt in document order. Images
need a model that can see: for one that cannot, the turn says so in a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keiko_desktop.core.chat.context import prompt_budget_tokens
from keiko_desktop.core.files.prompt import INTRO, passage_label, query_terms, safe_name
from keiko_desktop.core.files.prompt import with_documents as _with_documents
from keiko_desktop.core.ports import ChatMessage

if TYPE_CHECKING:
    from keiko_desktop.core.files.ports import AttachmentRepository
    from keiko_desktop.core.files.types import AttachmentInfo, Passage
    from keiko_desktop.core.ports import ChatModel

CHARS_PER_TOKEN = 4
PASSAGE_OVERHEAD = 30
"""Characters around each passage's text: its tags and blank lines (its label counted apart)."""
MAX_CANDIDATES = 400
"""The most chunks one search fetches."""
COUNT_ROUNDS = 3


@dataclass(frozen=True)
class Turn:
    """The newest user turn as the model sees it, and the passages it carries."""

    text: str
    passages: tuple[Passage, ...]
    notes: tuple[str, ...] = ()


def files_budget_tokens(context_length: int, max_tokens: int, share: float) -> int:
    """Tokens the attachments' passages may take."""
    share = min(0.9, max(0.0, float(share)))
    return int(prompt_budget_tokens(context_length, max_tokens) * share)


def passage_cost(passage: Passage) -> int:
    """Characters ``passage`` takes in the prompt."""
    return len(passage.chunk.text) + len(passage_label(passage)) + PASSAGE_OVERHEAD


def fill(candidates: Sequence[Passage], budget_chars: int) -> list[Passage]:
    """The candidates (best first) that fit in ``budget_chars``, taking each that still fits."""
    used = len(INTRO)
    chosen: list[Passage] = []
    for passage in candidates:
        cost = passage_cost(passage)
        if used + cost <= budget_chars:
            chosen.append(passage)
            used += cost
    return chosen


def document_order(passages: Sequence[Passage], files: Sequence[AttachmentInfo]) -> list[Passage]:
    """``passages`` as the files list them: file by file, then in their order in the file."""
    rank = {info.id: i for i, info in enumerate(files)}
    return sorted(
        passages, key=lambda p: (rank.get(p.chunk.attachment_id, len(rank)), p.chunk.ordinal)
    )


def image_notes(images: Sequence[AttachmentInfo], model: ChatModel) -> tuple[str, ...]:
    if getattr(model, "supports_images", False):
        return ()
    return tuple(
        f"[image {safe_name(info.name)} attached; this model cannot see images]" for info in images
    )


RESOURCE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}:[A-Za-z][A-Za-z0-9+.-]*:")
"""How an attached MCP resource is named: ``server:uri`` (the URI has a scheme)."""


def newest_by_name(files: Sequence[AttachmentInfo]) -> list[AttachmentInfo]:
    """Each MCP resource once, its newest attachment (a refreshed resource, ``server:uri``,
    supersedes the content it was first attached with). Files keep every copy: two dropped
    files may share a name and differ."""
    latest = {info.name: info for info in files if RESOURCE_NAME.match(info.name)}
    return [info for info in files if latest.get(info.name, info) is info]


def newest_question(history: Sequence[ChatMessage]) -> str:
    for message in reversed(history):
        if message.role == "user":
            return message.content
    return ""


async def choose_turn(
    repo: AttachmentRepository,
    conversation_id: int,
    user_message_id: int,
    history: Sequence[ChatMessage],
    model: ChatModel,
    max_tokens: int,
    share: float,
) -> Turn | None:
    """The newest user turn with the passages chosen for it; None when the conversation has
    no attachments (the turn is then left as it is)."""
    files = newest_by_name(await repo.for_conversation(conversation_id))
    if not files:
        return None
    question = newest_question(history)
    images = [f for f in await repo.for_message(user_message_id) if f.kind == "image"]
    notes = image_notes(images, model)
    asked = "\n".join((*notes, "", question)) if notes else question
    texts = [f for f in files if f.chunks > 0]
    budget_tokens = files_budget_tokens(model.context_length, max_tokens, share)
    passages: list[Passage] = []
    if texts and budget_tokens > 0:
        candidates = await _candidates(repo, texts, question, budget_tokens * CHARS_PER_TOKEN)
        passages = await _fit(candidates, texts, asked, budget_tokens, model)
    return Turn(_with_documents(asked, passages), tuple(passages), notes)


async def _candidates(
    repo: AttachmentRepository, texts: Sequence[AttachmentInfo], question: str, budget: int
) -> list[Passage]:
    """Every chunk when the files' text fits (document order), else the best for the question
    (best first)."""
    ids = [f.id for f in texts]
    total_chunks = sum(f.chunks for f in texts)
    if sum(f.chars for f in texts) + len(INTRO) <= budget:
        every = await repo.first_chunks(ids, total_chunks)
        if len(INTRO) + sum(passage_cost(p) for p in every) <= budget:
            return document_order(every, texts)
    average = max(1, sum(f.chars for f in texts) // max(1, total_chunks))
    limit = max(8, min(MAX_CANDIDATES, 2 * budget // average))
    terms = query_terms(question)
    found = await repo.search(ids, terms, limit) if terms else []
    return found or await repo.first_chunks(ids, limit)


async def _fit(
    candidates: Sequence[Passage],
    texts: Sequence[AttachmentInfo],
    asked: str,
    budget_tokens: int,
    model: ChatModel,
) -> list[Passage]:
    """Fill the budget; when the model counts tokens, shrink until the block really fits."""
    budget_chars = budget_tokens * CHARS_PER_TOKEN
    chosen = fill(candidates, budget_chars)
    count: Any = getattr(model, "count_tokens", None)
    if not callable(count):
        return document_order(chosen, texts)
    baseline = int(await count([ChatMessage("user", asked)]))
    for _ in range(COUNT_ROUNDS):
        if not chosen:
            break
        ordered = document_order(chosen, texts)
        used = int(await count([ChatMessage("user", _with_documents(asked, ordered))])) - baseline
        if used <= budget_tokens:
            return ordered
        budget_chars = int(budget_chars * budget_tokens / used * 0.95)
        chosen = fill(candidates, budget_chars)
    return document_order(chosen, texts) if chosen else []


def with_turn(history: Sequence[ChatMessage], turn: Turn) -> list[ChatMessage]:
    """``history`` with its newest user message replaced by ``turn``'s text."""
    out = list(history)
    for i in range(len(out) - 1, -1, -1):
        if out[i].role == "user":
            out[i] = ChatMessage("user", turn.text)
            break
    return out


__all__ = [
    "CHARS_PER_TOKEN",
    "Turn",
    "choose_turn",
    "document_order",
    "files_budget_tokens",
    "fill",
    "prompt_budget_tokens",
    "with_turn",
]
