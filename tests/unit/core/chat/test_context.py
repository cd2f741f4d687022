"""fit_messages: a long chat never overflows the context, and never fails."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from keiko_desktop.core.chat.context import TRUNCATION_MARKER, fit_messages, truncate_text
from keiko_desktop.core.ports import ChatMessage

OVERHEAD = 4  # tokens a chat template spends per message


class Counter:
    """One token per character plus a per-message overhead; records how often it is called."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, messages: Sequence[ChatMessage]) -> int:
        self.calls += 1
        return sum(OVERHEAD + len(m.content) for m in messages)


def sys_(text: str) -> ChatMessage:
    return ChatMessage("system", text)


def user(text: str) -> ChatMessage:
    return ChatMessage("user", text)


def bot(text: str) -> ChatMessage:
    return ChatMessage("assistant", text)


def chat(turns: int, size: int = 20) -> list[ChatMessage]:
    msgs = [sys_("S" * 10)]
    for i in range(turns):
        msgs += [user(f"u{i}".ljust(size, ".")), bot(f"a{i}".ljust(size, "."))]
    msgs.append(user("newest question"))
    return msgs


def test_fitting_chat_is_returned_unchanged() -> None:
    msgs = chat(3)
    count = Counter()
    out, dropped = fit_messages(msgs, count, budget=10_000)
    assert out == msgs
    assert dropped == 0
    assert count.calls == 1


def test_empty_input() -> None:
    assert fit_messages([], Counter(), budget=10) == ([], 0)


def test_drops_oldest_whole_turns_and_keeps_system_and_newest() -> None:
    msgs = chat(10)
    count = Counter()
    budget = count(msgs) - 100  # two turns of 2 x 24 tokens are not enough, three are
    out, dropped = fit_messages(msgs, count, budget)
    assert count(out) <= budget
    assert out[0] == msgs[0]
    assert out[-1] == user("newest question")
    assert dropped == 6
    # The oldest three turns went, the rest is intact and in order.
    assert out == [msgs[0], *msgs[7:]]
    # Turns are dropped whole: what remains after the system prompt starts with a user message.
    assert out[1].role == "user"
    assert out[1].content.startswith("u3")


def test_drops_as_few_turns_as_possible() -> None:
    msgs = chat(40)
    count = Counter()
    budget = count(msgs) - 1
    out, dropped = fit_messages(msgs, count, budget)
    assert dropped == 2
    assert out == [msgs[0], *msgs[3:]]


def test_uses_few_counter_calls_on_long_chats() -> None:
    msgs = chat(1000)
    count = Counter()
    budget = 500
    out, _ = fit_messages(msgs, count, budget)
    counted_by_me = 1
    assert count(out) <= budget
    assert count.calls - counted_by_me <= 20  # a binary search, not one call per turn


def test_system_messages_in_the_middle_are_kept() -> None:
    msgs = [sys_("rules"), user("old" * 20), bot("x" * 60), sys_("note"), user("new")]
    count = Counter()
    out, dropped = fit_messages(msgs, count, budget=count(msgs) - 10)
    assert out == [sys_("rules"), sys_("note"), user("new")]
    assert dropped == 2


def test_leading_assistant_greeting_is_droppable() -> None:
    msgs = [sys_("s"), bot("Hello! How can I help?"), user("q" * 10), bot("a" * 10), user("new")]
    count = Counter()
    out, dropped = fit_messages(msgs, count, budget=count(msgs) - 5)
    assert out == [sys_("s"), *msgs[2:]]
    assert dropped == 1


def test_newest_message_alone_too_long_is_truncated_head_and_tail() -> None:
    text = "BEGIN " + "x" * 5000 + " END?"
    msgs = [*chat(5), user(text)]
    count = Counter()
    budget = 400
    out, dropped = fit_messages(msgs, count, budget)
    assert count(out) <= budget
    assert out[0] == msgs[0]
    assert out[-1].role == "user"
    newest = out[-1].content
    assert newest.startswith("BEGIN")
    assert newest.endswith(" END?")
    assert TRUNCATION_MARKER in newest
    # Uses the room it has: within a few tokens of the budget.
    assert count(out) >= budget - 2
    assert len(out) == 2
    assert dropped == len(msgs) - 2 + 1


def test_truncation_after_everything_else_is_dropped_keeps_system_prompt() -> None:
    msgs = [sys_("be brief"), user("z" * 1000)]
    count = Counter()
    out, dropped = fit_messages(msgs, count, budget=100)
    assert out[0] == sys_("be brief")
    assert count(out) <= 100
    assert dropped == 1


def test_huge_system_prompt_and_message_are_both_shortened() -> None:
    msgs = [sys_("s" * 3000), user("u" * 3000)]
    count = Counter()
    out, _ = fit_messages(msgs, count, budget=300)
    assert count(out) <= 300
    assert [m.role for m in out] == ["system", "user"]
    assert len(out[0].content) > 100
    assert len(out[1].content) > 100


def test_budget_smaller_than_the_template_returns_smallest_attempt() -> None:
    msgs = [sys_("system"), user("hello"), bot("hi"), user("question")]
    out, dropped = fit_messages(msgs, Counter(), budget=1)
    assert len(out) == 1
    assert out[0].role == "user"
    assert dropped == 4


@pytest.mark.parametrize("budget", [-5, 0, 3, 4, 9, 40, 100, 999])
def test_never_fails_and_fits_whenever_possible(budget: int) -> None:
    msgs = chat(30, size=37)
    count = Counter()
    out, dropped = fit_messages(msgs, count, budget)
    assert out
    assert out[-1].role == "user"
    if budget >= OVERHEAD:
        assert count(out) <= budget
    assert 0 <= dropped <= len(msgs)


def test_non_monotonic_counter_still_fits() -> None:
    """A template may count a dropped turn oddly; the answer must still fit."""

    def wobbly(messages: Sequence[ChatMessage]) -> int:
        base = sum(OVERHEAD + len(m.content) for m in messages)
        return base + (7 if len(messages) % 2 else 0)

    msgs = chat(25)
    out, _ = fit_messages(msgs, wobbly, budget=300)
    assert wobbly(out) <= 300


@pytest.mark.parametrize(
    ("n", "expect"),
    [(100, "a" * 10 + "b" * 10), (20, "a" * 10 + "b" * 10), (0, "")],
)
def test_truncate_text_short_cases(n: int, expect: str) -> None:
    assert truncate_text("a" * 10 + "b" * 10, n) == expect


def test_truncate_text_keeps_end_when_tiny_and_head_tail_otherwise() -> None:
    text = "".join(str(i % 10) for i in range(1000))
    assert truncate_text(text, 5) == text[-5:]
    cut = truncate_text(text, 100)
    assert len(cut) == 100
    assert cut.startswith(text[:33])
    assert cut.endswith(text[-(100 - 33 - len(TRUNCATION_MARKER)) :])
