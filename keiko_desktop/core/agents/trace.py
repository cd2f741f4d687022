"""Run traces: spans (plan, step, model call, tool call, middleware) with start, duration,
tokens and status, written to the store in batches.

``Tracer.span(kind, name)`` is an async context manager; the span open around the current
task is the parent of the spans opened inside it (a ``ContextVar``, so concurrent steps each
keep their own). A span is recorded when it starts (``running``) and again when it ends, at
most every ``flush_interval`` seconds, so a crash mid-run leaves the spans so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from keiko_desktop.core.agents.ports import RunRepository
from keiko_desktop.core.agents.records import Span, SpanKind, SpanStatus

log = logging.getLogger(__name__)

MAX_SPANS = 20_000
"""A run keeps at most this many spans (the rest are counted, not stored)."""

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("keiko_span", default=None)


@dataclass
class OpenSpan:
    """A span being timed; set ``status``, tokens and ``detail`` before it closes."""

    span: Span
    status: SpanStatus = "ok"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    detail: str = ""

    @property
    def key(self) -> str:
        return self.span.key


class Tracer:
    """Collects one run's spans and writes them through ``repo`` (None: memory only)."""

    def __init__(
        self, run_id: int, repo: RunRepository | None = None, flush_interval: float = 0.5
    ) -> None:
        self.run_id = run_id
        self._repo = repo
        self.flush_interval = flush_interval
        self._spans: dict[str, Span] = {}
        self._dirty: dict[str, Span] = {}
        self._ids = itertools.count(1)
        self._last_flush = time.monotonic()
        self.dropped = 0
        self._flushing: asyncio.Lock | None = None

    @property
    def spans(self) -> list[Span]:
        return sorted(self._spans.values(), key=lambda s: (s.start, s.key))

    def open(
        self, kind: SpanKind, name: str, detail: str = "", parent: str | None = None
    ) -> OpenSpan:
        key = f"{next(self._ids)}"
        span = Span(
            self.run_id,
            key,
            kind,
            name[:200],
            time.time(),
            parent=parent if parent is not None else _current.get(),
            detail=detail[:2000],
        )
        self._record(span)
        return OpenSpan(span, detail=span.detail)

    def close(self, handle: OpenSpan) -> Span:
        span = replace(
            handle.span,
            duration=max(0.0, time.time() - handle.span.start),
            status=handle.status,
            prompt_tokens=handle.prompt_tokens,
            completion_tokens=handle.completion_tokens,
            detail=handle.detail[:2000],
        )
        self._record(span)
        return span

    @contextlib.asynccontextmanager
    async def span(self, kind: SpanKind, name: str, detail: str = "") -> AsyncIterator[OpenSpan]:
        """Time the block as a span (a child of the span around it); an exception marks it
        ``error`` (cancellation: ``cancelled``) and is raised again."""
        handle = self.open(kind, name, detail)
        token = _current.set(handle.key)
        try:
            yield handle
        except asyncio.CancelledError:
            handle.status = "cancelled"
            raise
        except BaseException as exc:
            handle.status = "error"
            if not handle.detail:
                handle.detail = f"{type(exc).__name__}: {exc}"[:2000]
            raise
        finally:
            _current.reset(token)
            self.close(handle)
            await self.maybe_flush()

    def _record(self, span: Span) -> None:
        if span.key not in self._spans and len(self._spans) >= MAX_SPANS:
            self.dropped += 1
            return
        self._spans[span.key] = span
        self._dirty[span.key] = span

    async def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_interval:
            await self.flush()

    async def flush(self) -> None:
        """Write the spans that changed since the last flush (never raises)."""
        if self._flushing is None:
            self._flushing = asyncio.Lock()
        async with self._flushing:
            self._last_flush = time.monotonic()
            if self._repo is None or not self._dirty:
                self._dirty.clear()
                return
            batch, self._dirty = list(self._dirty.values()), {}
            try:
                await asyncio.shield(self._repo.add_spans(batch))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not store %d spans of run %s", len(batch), self.run_id)


def current_span() -> str | None:
    """The key of the span open around the running task, if any."""
    return _current.get()
