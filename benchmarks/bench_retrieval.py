"""Retrieval over attachments: how long ``search`` takes with 10,000 chunks in a real SQLite file.

    .venv/bin/python -m benchmarks.bench_retrieval

A fresh Keiko database (all migrations, WAL, the store's one thread) gets 50 attachments of 200
chunks each (10,000 chunks of about 1,000 characters: 10 MB of text, FTS5-indexed by the
triggers of m009), written through ``SqliteAttachmentRepository.add`` as an ingest writes
them. The text is sentence-shaped, from a vocabulary of 6,000 words with a Zipf-like spread
(a few words everywhere, most rare), so posting lists are as long as in real prose. Then 200
questions, each made into a MATCH expression by ``query_terms`` as a turn does, are searched
(limit 50, bm25 order) over every attachment and over the 5 of one conversation; the time is
the whole ``await repo.search(...)`` (hop to the store's thread, SQL, rows into Passages).
Also timed: ``choose_turn``, the whole choice of a turn's passages. Target: p95 < 50 ms.

The raw library in the same run: the same SQL (``SEARCH_SQL``, every attachment, the same MATCH
expression and limit) on Python's own ``sqlite3``, on a second connection to the same file,
called on this thread with nothing around it; the two alternate question by question. The
ratio (ours / raw at the median) is what Keiko's store adds: the hop to its thread,
SQLAlchemy, and rows made into Passages.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import summary, write_results

ATTACHMENTS = 50
CHUNKS_EACH = 200
CHUNK_CHARS = 1000
VOCABULARY = 6000
QUESTIONS = 200
LIMIT = 50
TARGET_MS = 50.0


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(words)


def sentence(rng: random.Random, words: list[str], weights: list[float]) -> str:
    picked = rng.choices(words, weights, k=rng.randint(8, 18))
    return " ".join(picked).capitalize() + "."


def chunk_text(rng: random.Random, words: list[str], weights: list[float]) -> str:
    parts: list[str] = []
    size = 0
    while size < CHUNK_CHARS:
        s = sentence(rng, words, weights)
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)[:CHUNK_CHARS]


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.iterdir()) / 1e6


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def main() -> int:
    from keiko_desktop.core.files.context import choose_turn
    from keiko_desktop.core.files.prompt import query_terms
    from keiko_desktop.core.files.types import Extracted, PageText
    from keiko_desktop.core.ports import ChatMessage
    from keiko_desktop.store import open_database
    from keiko_desktop.store.attachment_rows import SEARCH_SQL
    from keiko_desktop.store.attachments import SqliteAttachmentRepository

    rng = random.Random(13)
    words = vocabulary(rng)
    weights = [1.0 / (rank + 1) for rank in range(len(words))]  # Zipf: s = 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "keiko.sqlite3"
        database = await open_database(path)
        try:
            repo = SqliteAttachmentRepository(database)
            ids: list[int] = []
            started = time.perf_counter()
            for a in range(ATTACHMENTS):
                texts = [chunk_text(rng, words, weights) for _ in range(CHUNKS_EACH)]
                pages = tuple(PageText(i + 1, t) for i, t in enumerate(texts))
                extracted = Extracted("pdf", "application/pdf", pages)
                rows = [(i + 1, 0, t) for i, t in enumerate(texts)]
                info = await repo.add(f"{a:064x}", f"doc{a}.pdf", extracted, 1, rows)
                ids.append(info.id)
            fill_s = time.perf_counter() - started
            conversation = await database.conversations.create_conversation("bench")
            user = await database.conversations.add_message(conversation.id, "user", "q")
            await repo.link(user.id, ids[:5])

            questions = [
                " ".join(rng.choices(words, weights, k=rng.randint(3, 12))) + "?"
                for _ in range(QUESTIONS)
            ]
            for q in questions[:10]:  # warm the page cache and the statement cache
                await repo.search(ids, query_terms(q), LIMIT)

            raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            marks = ", ".join("?" * len(ids))
            raw_sql = (
                str(SEARCH_SQL)
                .replace(":query", "?")
                .replace(":limit", "?")
                .replace("(__[POSTCOMPILE_ids])", f"({marks})")
            )
            for q in questions[:10]:
                raw.execute(raw_sql, (query_terms(q), *ids, LIMIT)).fetchall()
            all_ms: list[float] = []
            raw_ms: list[float] = []
            one_ms: list[float] = []
            hits: list[int] = []
            for q in questions:
                terms = query_terms(q)
                t0 = time.perf_counter()
                found = await repo.search(ids, terms, LIMIT)
                all_ms.append((time.perf_counter() - t0) * 1000)
                hits.append(len(found))
                t0 = time.perf_counter()
                bare = raw.execute(raw_sql, (terms, *ids, LIMIT)).fetchall()
                raw_ms.append((time.perf_counter() - t0) * 1000)
                assert len(bare) == len(found), (len(bare), len(found))
                t0 = time.perf_counter()
                await repo.search(ids[:5], terms, LIMIT)
                one_ms.append((time.perf_counter() - t0) * 1000)

            class Model:
                name = "bench"
                supports_tools = False
                context_length = 8192

            turn_ms: list[float] = []
            for q in questions[:50]:
                history = [ChatMessage("user", q)]
                t0 = time.perf_counter()
                await choose_turn(repo, conversation.id, user.id, history, Model(), 512, 0.5)  # type: ignore[arg-type]
                turn_ms.append((time.perf_counter() - t0) * 1000)
            size_mb = await asyncio.to_thread(folder_mb, Path(tmp))
            raw.close()
        finally:
            await database.aclose()

    p50, p95 = percentile(all_ms, 50), percentile(all_ms, 95)
    raw_p50, raw_p95 = percentile(raw_ms, 50), percentile(raw_ms, 95)
    result = {
        "chunks": ATTACHMENTS * CHUNKS_EACH,
        "attachments": ATTACHMENTS,
        "chunk_chars": CHUNK_CHARS,
        "vocabulary": VOCABULARY,
        "questions": QUESTIONS,
        "limit": LIMIT,
        "fill_seconds": round(fill_s, 2),
        "database_mb": round(size_mb, 1),
        "search_all_ms": summary(all_ms),
        "search_all_p50_ms": p50,
        "search_all_p95_ms": p95,
        "raw_sqlite3_ms": summary(raw_ms),
        "raw_sqlite3_p50_ms": raw_p50,
        "raw_sqlite3_p95_ms": raw_p95,
        "search_5_attachments_ms": summary(one_ms),
        "search_5_attachments_p95_ms": percentile(one_ms, 95),
        "choose_turn_ms": summary(turn_ms),
        "choose_turn_p95_ms": percentile(turn_ms, 95),
        "mean_hits": statistics.mean(hits),
        "target_ms": TARGET_MS,
        "headline": {
            "chunks": ATTACHMENTS * CHUNKS_EACH,
            "search_p50_ms": round(p50, 2),
            "search_p95_ms": round(p95, 2),
            "raw_sqlite3_p50_ms": round(raw_p50, 2),
            "ratio_p50_ours_over_raw": round(p50 / raw_p50, 3),
            "search_5_attachments_p95_ms": round(percentile(one_ms, 95), 2),
            "choose_turn_p95_ms": round(percentile(turn_ms, 95), 2),
            "target_ms": TARGET_MS,
            "met": p95 < TARGET_MS,
        },
    }
    write_results("retrieval", result)
    return 0 if p95 < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
