"""Chat templates, their fallbacks, and stop strings across streamed pieces."""

from __future__ import annotations

import pytest

from keiko_desktop.core.ports import ChatMessage
from keiko_desktop.llm.prompting import ChatRenderer, StopScanner, normalize_messages, render_chatml

MSGS = [
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "Hi"),
    ChatMessage("assistant", "Hello!"),
    ChatMessage("user", "Bye"),
]

SIMPLE = (
    "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}[assistant]{% endif %}"
)
# Like Gemma's: no system role, roles must alternate starting with the user.
STRICT = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}"
    "<{{ m['role'] }}>{{ m['content'] }}</s>{% endfor %}<assistant>"
)


def test_chatml_fallback_when_the_file_has_no_template() -> None:
    r = ChatRenderer(None)
    assert r.uses_chatml
    assert not r.adds_bos
    assert r.stop_strings == ("<|im_end|>",)
    text = r.render(MSGS)
    assert text == render_chatml(MSGS)
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>\n")
    assert text.endswith("<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n")


def test_the_files_template_is_used() -> None:
    r = ChatRenderer(SIMPLE, bos_token="<s>", eos_token="</s>")
    assert not r.uses_chatml
    assert r.adds_bos
    assert r.stop_strings == ()
    assert r.render(MSGS) == "[system]Be brief.[user]Hi[assistant]Hello![user]Bye[assistant]"


def test_strict_template_gets_normalized_messages() -> None:
    r = ChatRenderer(STRICT, bos_token="<bos>", eos_token="</s>")
    text = r.render([*MSGS, ChatMessage("tool", "42")])
    # System folded into the first user turn; the tool result joined to the last user turn.
    assert text == (
        "<bos><user>Be brief.\n\nHi</s><assistant>Hello!</s><user>Bye\n\n42</s><assistant>"
    )


def test_template_that_does_not_compile_falls_back_to_chatml() -> None:
    r = ChatRenderer("{% for m in messages %}", bos_token="", eos_token="")
    assert r.uses_chatml
    assert r.render(MSGS) == render_chatml(MSGS)


def test_template_that_always_fails_falls_back_to_chatml() -> None:
    r = ChatRenderer("{{ raise_exception('no') }}")
    assert r.render(MSGS) == render_chatml(MSGS)


def test_normalize_keeps_system_first_and_alternates() -> None:
    msgs = [
        ChatMessage("assistant", "Welcome"),
        ChatMessage("system", "S1"),
        ChatMessage("user", "a"),
        ChatMessage("user", "b"),
        ChatMessage("system", "S2"),
        ChatMessage("assistant", "c"),
    ]
    assert normalize_messages(msgs) == [
        ChatMessage("system", "S1\n\nS2"),
        ChatMessage("user", "a\n\nb"),
        ChatMessage("assistant", "c"),
    ]
    assert normalize_messages([ChatMessage("system", "only")]) == [
        ChatMessage("system", "only"),
        ChatMessage("user", ""),
    ]


def feed_all(scanner: StopScanner, pieces: list[str]) -> tuple[str, bool]:
    out = []
    for piece in pieces:
        text, hit = scanner.feed(piece)
        out.append(text)
        if hit:
            return "".join(out), True
    out.append(scanner.flush())
    return "".join(out), False


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["Hello", " wor", "ld", "STOP", "more"], ("Hello world", True)),
        (["Hello ST", "OP and"], ("Hello ", True)),
        (["a", "S", "T", "O", "P"], ("a", True)),
        (["Hello ST", "ill going"], ("Hello STill going", False)),
        (["ends with ST"], ("ends with ST", False)),
        (["x<|im_", "end|>y"], ("x", True)),
    ],
)
def test_stop_scanner(pieces: list[str], expected: tuple[str, bool]) -> None:
    assert feed_all(StopScanner(["STOP", "<|im_end|>"]), pieces) == expected


def test_stop_scanner_holds_back_only_possible_starts() -> None:
    s = StopScanner(["STOP"])
    assert s.feed("abc S") == ("abc ", False)
    assert s.feed("x") == ("Sx", False)
    assert s.feed("no stop here") == ("no stop here", False)


def test_stop_scanner_picks_the_earliest_stop() -> None:
    assert StopScanner(["b", "a"]).feed("xxaxxb") == ("xx", True)


def test_tool_results_are_user_turns_for_templates_without_a_tool_role() -> None:
    simple = ChatRenderer(SIMPLE)
    assert not simple.knows_tool_role
    assert simple.render([ChatMessage("user", "Hi"), ChatMessage("tool", "42")]) == (
        "[user]Hi[user]42[assistant]"
    )
    assert "<|im_start|>user\n42" in ChatRenderer(None).render([ChatMessage("tool", "42")])
    with_tools = SIMPLE.replace("{% for", "{% if false %}{{ 'tool' }}{% endif %}{% for", 1)
    renderer = ChatRenderer(with_tools)
    assert renderer.knows_tool_role
    assert renderer.render([ChatMessage("tool", "42")]) == "[tool]42[assistant]"
