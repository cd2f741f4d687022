"""SpanRows: a run's spans in tree order (children under their parent, siblings by start time).

The timeline's layout, kept without Qt so it is cheap to test and to update. ``update`` takes
spans as a live run produces them: an update of a known span (its duration, status, tokens)
changes nothing but that row; a new span is inserted where it belongs (its siblings are kept
sorted with ``bisect``, and row indices are recomputed lazily, from the first row that moved).
Only a span whose parent arrives after it, or one whose parent or start changed, makes it
rebuild the whole order. A span whose parent is unknown is shown as a root until the parent
comes.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from keiko_desktop.core.agents.records import Span

REBUILD_FRACTION = 0.5
"""A batch adding more new spans than this fraction of the rows is laid out from scratch."""


def _order(span: Span) -> tuple[float, int, str]:
    """Siblings by start time; equal starts by key, ``"9"`` before ``"10"``."""
    return (span.start, len(span.key), span.key)


@dataclass(frozen=True)
class RowsChange:
    """What an ``update`` changed: ``moved`` when rows were added or reordered (everything
    below the first new row moved), else only the rows of the ``changed`` keys."""

    moved: bool
    changed: tuple[str, ...] = ()


class SpanRows:
    """The rows of one run's timeline."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._spans: dict[str, Span] = {}
        self._children: dict[str | None, list[str]] = {}
        self._parent: dict[str, str | None] = {}
        """The parent each row hangs under (None: a root, also while its parent is unknown)."""
        self._waiting: set[str] = set()
        """Parent keys named by some span but not known yet."""
        self._rows: list[str] = []
        self._depth: dict[str, int] = {}
        self._index: dict[str, int] = {}
        self._valid = 0
        """``_index`` is right for ``_rows[:_valid]``."""
        self.kinds: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self._t0 = 0.0
        self._t1 = 0.0

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._spans

    def span_at(self, row: int) -> Span:
        return self._spans[self._rows[row]]

    def get(self, key: str) -> Span | None:
        return self._spans.get(key)

    def depth_at(self, row: int) -> int:
        return self._depth[self._rows[row]]

    def row_of(self, key: str) -> int:
        """The row of ``key`` (KeyError when unknown)."""
        if key not in self._spans:
            raise KeyError(key)
        self._reindex()
        return self._index[key]

    def keys(self) -> list[str]:
        return list(self._rows)

    @property
    def start(self) -> float:
        """The earliest start (0 when empty)."""
        return self._t0

    @property
    def end(self) -> float:
        """The latest known time: an end, or the start of a span still running."""
        return self._t1

    # ------------------------------------------------------------------ changes
    def update(self, spans: Iterable[Span]) -> RowsChange:
        """Add new spans and replace known ones (by key)."""
        added: list[Span] = []
        changed: list[str] = []
        rebuild = False
        for span in spans:
            old = self._spans.get(span.key)
            if old is None:
                if span.key in self._waiting:
                    rebuild = True
                added.append(span)
            else:
                if old.parent != span.parent or old.start != span.start:
                    rebuild = True
                self._count(old, -1)
                changed.append(span.key)
            self._spans[span.key] = span
            self._count(span, +1)
            self._widen(span)
        if rebuild:
            self._recompute_bounds()
        if not added and not rebuild:
            return RowsChange(False, tuple(changed))
        if rebuild or len(added) > max(8, REBUILD_FRACTION * len(self._rows)):
            self._rebuild()
        else:
            self._insert_all(added)
        return RowsChange(True, tuple(changed))

    # ------------------------------------------------------------------ internals
    def _count(self, span: Span, sign: int) -> None:
        self.kinds[span.kind] += sign
        self.statuses[span.status] += sign

    def _widen(self, span: Span) -> None:
        end = span.end if span.end is not None else span.start
        if len(self._spans) == 1:
            self._t0, self._t1 = span.start, end
            return
        self._t0 = min(self._t0, span.start)
        self._t1 = max(self._t1, end)

    def _recompute_bounds(self) -> None:
        if not self._spans:
            self._t0 = self._t1 = 0.0
            return
        self._t0 = min(s.start for s in self._spans.values())
        self._t1 = max(s.start if s.end is None else s.end for s in self._spans.values())

    def _attach_parent(self, span: Span) -> str | None:
        parent = span.parent
        if parent is None or parent == span.key:
            return None
        if parent not in self._spans:
            self._waiting.add(parent)
            return None
        return parent

    def _insert_all(self, added: list[Span]) -> None:
        """Insert new spans, each parent before its children (a batch may list them in any
        order)."""
        pending = {span.key: span for span in added}
        for span in added:
            chain: list[str] = []
            key: str | None = span.key
            while key is not None and key in pending:
                chain.append(key)
                key = pending.pop(key).parent
            if key is not None and key in self._spans and key not in self._depth:
                self._rebuild()  # the batch's parents run in a cycle
                return
            for k in reversed(chain):
                self._insert(self._spans[k])

    def _insert(self, span: Span) -> None:
        parent = self._attach_parent(span)
        siblings = self._children.setdefault(parent, [])
        order = _order(span)
        i = bisect.bisect_right(siblings, order, key=lambda k: _order(self._spans[k]))
        if i < len(siblings):
            pos = self.row_of(siblings[i])
        elif parent is None:
            pos = len(self._rows)
        else:
            pos = self.row_of(self._last_descendant(parent)) + 1
        siblings.insert(i, span.key)
        self._parent[span.key] = parent
        self._depth[span.key] = 0 if parent is None else self._depth[parent] + 1
        self._rows.insert(pos, span.key)
        self._index[span.key] = pos
        self._valid = min(self._valid, pos)

    def _last_descendant(self, key: str) -> str:
        while True:
            children = self._children.get(key)
            if not children:
                return key
            key = children[-1]

    def _reindex(self) -> None:
        rows, index = self._rows, self._index
        for i in range(self._valid, len(rows)):
            index[rows[i]] = i
        self._valid = len(rows)

    def _rebuild(self) -> None:
        spans = self._spans
        children: dict[str | None, list[str]] = {}
        parents: dict[str, str | None] = {}
        self._waiting = set()
        for key, span in spans.items():
            parent = self._attach_parent(span)
            parents[key] = parent
            children.setdefault(parent, []).append(key)
        # Spans on (or under) a cycle of parents reach no root: they become roots.
        for key in self._unrooted(parents):
            old = parents[key]
            if old is not None:
                children[old].remove(key)
                parents[key] = None
                children.setdefault(None, []).append(key)
        for keys in children.values():
            keys.sort(key=lambda k: _order(spans[k]))
        rows: list[str] = []
        depth: dict[str, int] = {}
        stack = [(key, 0) for key in reversed(children.get(None, ()))]
        while stack:
            key, level = stack.pop()
            rows.append(key)
            depth[key] = level
            stack.extend((c, level + 1) for c in reversed(children.get(key, ())))
        self._children, self._parent, self._rows, self._depth = children, parents, rows, depth
        self._index = {key: i for i, key in enumerate(rows)}
        self._valid = len(rows)

    @staticmethod
    def _unrooted(parents: dict[str, str | None]) -> list[str]:
        """Keys on or under a cycle of parents (each walk stops at a key already decided)."""
        rooted: dict[str, bool] = {}
        for key in parents:
            path: list[str] = []
            on_path: set[str] = set()
            node: str | None = key
            while node is not None and node not in rooted and node not in on_path:
                path.append(node)
                on_path.add(node)
                node = parents[node]
            result = node is None or rooted.get(node, False)
            for seen in path:
                rooted[seen] = result
        return [key for key, ok in rooted.items() if not ok]
