"""Fit a conversation into a model's context window.

``fit_messages`` never fails and never returns more than the budget when it can help it: it keeps
every system message and the newest user turn, drops the oldest turns (a user message together
with the replies that follow it) until the rest fits, and, when even that is too long, shortens
the longest remaining texts (keeping their head and tail around a marker).

The token counter is the model's own (it renders the chat template and tokenizes), so it is
called as few times as possible: binary searches, not one call per dropped message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from keiko_desktop.core.ports import ChatMessage

TokenCounter = Callable[[Sequence[ChatMessage]], int]

TRUNCATION_MARKER = "\n[…]\n"
MAX_REPLY_SHARE = 0.75
"""Share of the context a reply may claim when ``max_tokens`` asks for more than fits."""


def prompt_budget_tokens(context_length: int, max_tokens: int) -> int:
    """Tokens the prompt may take: the context less the reply's room (``max_tokens``, at most
    ``MAX_REPLY_SHARE`` of the context). The llama.cpp engine fits the conversation into it,
    and the attachments' passages take their share of it."""
    context = max(1, int(context_length))
    room = max(1, min(int(max_tokens), int(context * MAX_REPLY_SHARE)))
    return max(0, context - room)


def truncate_text(text: str, max_chars: int) -> str:
    """Shorten ``text`` to at most ``max_chars`` characters, keeping its head and tail.

    Short limits keep only the end (a question usually comes last); longer ones keep a third
    from the start and the rest from the end, joined by ``TRUNCATION_MARKER``.
    """
    if len(text) <= max_chars:
        return text
    if max_chars <= 0:
        return ""
    if max_chars < 4 * len(TRUNCATION_MARKER):
        return text[-max_chars:]
    head = max_chars // 3
    tail = max_chars - head - len(TRUNCATION_MARKER)
    return text[:head] + TRUNCATION_MARKER + text[-tail:]


def fit_messages(
    messages: Sequence[ChatMessage], count_tokens: TokenCounter, budget: int
) -> tuple[list[ChatMessage], int]:
    """Return ``(messages that fit in budget tokens, number of messages dropped or shortened)``.

    Order is preserved. System messages are never dropped (only shortened as a last resort);
    the newest user message and anything after it are never dropped. If nothing can make the
    prompt fit (a budget smaller than the template itself) the smallest attempt is returned.
    """
    msgs = list(messages)
    if not msgs or count_tokens(msgs) <= budget:
        return msgs, 0

    anchor = _anchor_index(msgs)
    units = _droppable_units(msgs, anchor)

    def without_units(k: int) -> list[ChatMessage]:
        dropped = {i for unit in units[:k] for i in unit}
        return [m for i, m in enumerate(msgs) if i not in dropped]

    n_dropped_msgs = sum(len(u) for u in units)
    if units:
        everything_dropped = without_units(len(units))
        if count_tokens(everything_dropped) <= budget:
            # Smallest k that fits; k = len(units) is known to fit, k = 0 is known not to.
            lo, hi = 0, len(units)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if count_tokens(without_units(mid)) <= budget:
                    hi = mid
                else:
                    lo = mid
            return without_units(hi), sum(len(u) for u in units[:hi])
        remaining = everything_dropped
    else:
        remaining = msgs

    fitted, shortened = _shorten_to_fit(remaining, count_tokens, budget)
    if fitted is not None:
        return fitted, n_dropped_msgs + shortened

    # Even empty texts do not fit with the system prompt: keep only the newest message.
    last = msgs[anchor] if anchor is not None else msgs[-1]
    alone, _ = _shorten_to_fit([last], count_tokens, budget)
    if alone is None:
        alone = [ChatMessage(last.role, "")]
    return alone, len(msgs) - 1 + (alone[0].content != last.content)


def _anchor_index(msgs: list[ChatMessage]) -> int | None:
    """Index of the newest user message, else of the newest non-system message."""
    for want_user in (True, False):
        for i in range(len(msgs) - 1, -1, -1):
            role = msgs[i].role
            if (role == "user") if want_user else (role != "system"):
                return i
    return None


def _droppable_units(msgs: list[ChatMessage], anchor: int | None) -> list[list[int]]:
    """Non-system messages before the anchor, grouped into turns, oldest first.

    A turn starts at a user message and takes the assistant and tool messages after it, so a
    question is never kept without its answer or the other way round.
    """
    if anchor is None:
        return []
    units: list[list[int]] = []
    for i in range(anchor):
        role = msgs[i].role
        if role == "system":
            continue
        if role == "user" or not units:
            units.append([i])
        else:
            units[-1].append(i)
    return units


def _shorten_to_fit(
    msgs: list[ChatMessage], count_tokens: TokenCounter, budget: int
) -> tuple[list[ChatMessage] | None, int]:
    """Cap every text at the largest length that fits (long texts shrink, short ones stay).

    Returns ``(None, 0)`` when even empty texts do not fit.
    """

    def capped(cap: int) -> list[ChatMessage]:
        return [
            m if len(m.content) <= cap else ChatMessage(m.role, truncate_text(m.content, cap))
            for m in msgs
        ]

    if count_tokens(capped(0)) > budget:
        return None, 0
    lo, hi = 0, max(len(m.content) for m in msgs)  # lo fits; hi, the full texts, does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count_tokens(capped(mid)) <= budget:
            lo = mid
        else:
            hi = mid
    return capped(lo), sum(1 for m in msgs if len(m.content) > lo)
