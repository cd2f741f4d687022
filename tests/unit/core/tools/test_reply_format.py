"""Reading a grammar-constrained tool reply as it streams: calls whole, answers piece by piece."""

from __future__ import annotations

import json

import pytest

from keiko_desktop.core.ports import ToolCallRequest
from keiko_desktop.core.tools.reply_format import JsonStringDecoder, read_json_turn
from tests.helpers.fake_model import FakeGeneration


def generation(*pieces: str) -> FakeGeneration:
    return FakeGeneration(list(pieces), 0.0, None)


async def test_a_call_is_read_whole() -> None:
    turn = await read_json_turn(
        generation('{"tool": "clock', '.now", "argu', 'ments": {"timezone": "UTC"}}')
    )
    assert turn.calls == (ToolCallRequest("clock.now", {"timezone": "UTC"}),)
    assert json.loads(turn.text)["tool"] == "clock.now"
    assert turn.answer is None


async def test_an_answer_is_handed_over_at_once_and_streams_decoded() -> None:
    gen = generation(
        "{",
        '"answer',
        '": "',
        "It is",
        ' 5 o\\"clock',
        "\\",
        "n",
        "caf\\u00",
        "e9 \\ud83d",
        "\\ude00",
        ' done"',
        "}",
    )
    turn = await read_json_turn(gen)
    assert turn.calls == ()
    assert turn.answer is not None
    assert gen.stats.completion_tokens == 0  # the generation has not ended yet
    pieces = [piece async for piece in turn.answer]
    assert pieces == ["It is", ' 5 o"clock', "\n", "caf", "é ", "😀", " done"]
    assert turn.answer.stats.completion_tokens == 12  # every token, the JSON's included
    assert turn.answer.stats.finish_reason == "stop"


async def test_a_reply_without_json_is_streamed_as_it_is() -> None:
    turn = await read_json_turn(generation("  Hello", " there"))
    assert turn.answer is not None
    assert [piece async for piece in turn.answer] == ["Hello", " there"]


async def test_a_cut_off_call_has_neither_calls_nor_an_answer() -> None:
    turn = await read_json_turn(generation('{"tool": "files.read_file", "arguments": {"pa'))
    assert (turn.calls, turn.answer) == ((), None)


async def test_cancelling_the_answer_cancels_the_generation() -> None:
    gen = generation('{"answer": "', "a", "b", "c")
    turn = await read_json_turn(gen)
    assert turn.answer is not None
    turn.answer.cancel()
    assert [piece async for piece in turn.answer] == []
    assert gen.stats.finish_reason == "cancelled"


@pytest.mark.parametrize(
    "text",
    ["plain", 'a\\"b', "tab\\tand\\\\slash\\/", "\\u00e9\\u4e2d", "\\ud83d\\ude00!", ""],
)
def test_decoder_matches_json_whatever_the_split(text: str) -> None:
    expected = json.loads(f'"{text}"')
    for size in (1, 2, 3, 5):
        decoder = JsonStringDecoder()
        chunks = [text[i : i + size] for i in range(0, len(text), size)] + ['"', "} tail"]
        out = "".join(decoder.feed(chunk) for chunk in chunks)
        assert out == expected
        assert decoder.closed
