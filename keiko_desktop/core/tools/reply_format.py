"""The JSON reply format of grammar-constrained tool calling (llama.cpp), read as it streams.

A model that cannot call tools natively is told (``tool_instructions``) and constrained (a GBNF
grammar built from the tools' schemas, ``llm/tool_grammar.py``) to reply with one JSON object:

    {"tool": "files.read_file", "arguments": {"path": "notes.txt"}}      a call, or
    {"answer": "The file says ..."}                                    the final answer.

``read_json_turn`` reads such a reply from a ``Generation`` as it streams. A call is read to its
end; as soon as the reply turns out to be an answer it returns, and the answer's text streams on,
decoded from the JSON string piece by piece, from the same generation (``ToolTurn.answer``): no
second request, no wait for the whole answer. A backend that ignored the grammar (the reply does
not start with ``{``) has its reply streamed as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from keiko_desktop.core.ports import ChatMessage, Generation, GenerationStats, ToolTurn
from keiko_desktop.core.ports import ToolCallRequest as ToolRequest
from keiko_desktop.core.tools.models import ToolSpec
from keiko_desktop.core.tools.untrusted_text import DATA_NOTE, descriptions_block, tool_line

__all__ = [
    "ToolRequest",
    "parse_reply",
    "read_json_turn",
    "tool_instructions",
    "with_tool_instructions",
]

_CUT_ANSWER = re.compile(r'\s*\{\s*"answer"\s*:\s*"(.*)', re.DOTALL)
_ANSWER_START = re.compile(r'\s*\{\s*"answer"\s*:\s*"')


def tool_instructions(tools: Sequence[ToolSpec]) -> str:
    """The system text that tells the model which tools exist and how to call them.

    What the servers wrote (names, parameter names, descriptions) is listed inside a
    ``<tool_descriptions>`` block, one line per tool (``core/tools/untrusted_text.py``), and the
    model is told that such blocks, and the ``<tool_result>`` blocks results come in, are data.
    """
    lines = [
        "You can use tools. Reply with exactly one JSON object:",
        '{"tool": "<name>", "arguments": {...}} to call a tool, or',
        '{"answer": "<your reply to the user>"} when you can answer.',
        DATA_NOTE,
        "Tools:",
    ]
    listed = []
    for spec in tools:
        properties = spec.input_schema.get("properties")
        params = sorted(map(str, properties)) if isinstance(properties, dict) else []
        listed.append(tool_line(spec.qualified_name, params, spec.description))
    lines.append(descriptions_block(listed))
    return "\n".join(lines)


def with_tool_instructions(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
) -> list[ChatMessage]:
    """``messages`` with the instructions added to the system message (or as the first one)."""
    instructions = tool_instructions(tools)
    history = list(messages)
    if history and history[0].role == "system":
        history[0] = ChatMessage("system", f"{history[0].content}\n\n{instructions}")
    else:
        history.insert(0, ChatMessage("system", instructions))
    return history


def _salvage(text: str) -> str:
    """The answer from a reply cut off by the token limit; "" for a cut-off tool call."""
    match = _CUT_ANSWER.match(text)
    if match is None:
        return "" if text.lstrip().startswith("{") else text.strip()
    body = re.sub(r'"\s*\}?\s*$', "", match.group(1)).rstrip("\\")
    try:
        return str(json.loads(f'"{body}"'))
    except json.JSONDecodeError:
        return body


def parse_reply(text: str) -> ToolRequest | str:
    """A tool request, or the answer text. A reply cut off mid-answer keeps what it said; a
    cut-off tool call is an empty answer."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _salvage(text)
    if isinstance(data, dict):
        if isinstance(data.get("tool"), str):
            arguments = data.get("arguments")
            return ToolRequest(data["tool"], arguments if isinstance(arguments, dict) else {})
        if isinstance(data.get("answer"), str):
            return str(data["answer"])
    return text.strip()


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JsonStringDecoder:
    """Decodes the inside of a JSON string fed in pieces; ``closed`` once its end quote came.

    An escape split between pieces (``\\`` then ``n``, half a ``\\uXXXX``, a surrogate pair) is
    held until it is complete; what follows the closing quote is ignored.
    """

    def __init__(self) -> None:
        self._held = ""
        self.closed = False

    def feed(self, text: str) -> str:
        if self.closed:
            return ""
        data = self._held + text
        out: list[str] = []
        i, n = 0, len(data)
        while i < n:
            char = data[i]
            if char == '"':
                self.closed = True
                break
            if char != "\\":
                end = i
                while end < n and data[end] not in '"\\':
                    end += 1
                out.append(data[i:end])
                i = end
                continue
            if i + 1 >= n:
                break  # the escape continues in the next piece
            kind = data[i + 1]
            if kind != "u":
                out.append(_ESCAPES.get(kind, kind))
                i += 2
                continue
            if i + 6 > n:
                break
            code = _hex(data[i + 2 : i + 6])
            if code is None:
                out.append("\ufffd")
                i += 6
                continue
            if 0xD800 <= code < 0xDC00:  # a high surrogate: its low half should follow
                rest = data[i + 6 : i + 12]
                if len(rest) < 6 and "\\u".startswith(rest[:2]):
                    break
                low = _hex(rest[2:6]) if rest.startswith("\\u") else None
                if low is not None and 0xDC00 <= low < 0xE000:
                    out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                    i += 12
                    continue
                out.append("\ufffd")
                i += 6
                continue
            out.append(chr(code) if not 0xDC00 <= code < 0xE000 else "\ufffd")
            i += 6
        self._held = "" if self.closed else data[i:]
        return "".join(out)


def _hex(text: str) -> int | None:
    if len(text) != 4 or any(c not in "0123456789abcdefABCDEF" for c in text):
        return None
    return int(text, 16)


class StreamedAnswer:
    """The answer part of a reply, streaming on from the generation that began it.

    Implements ``Generation``: iterate it for the answer's text (JSON-decoded unless ``raw``);
    ``cancel()`` stops the generation; ``stats`` are the generation's once it has ended.
    Leading white space is dropped, as in a plain reply.
    """

    def __init__(
        self, generation: Generation, pieces: AsyncIterator[str], head: str, *, raw: bool = False
    ) -> None:
        self._generation = generation
        self._pieces = pieces
        self._head = head
        self._decoder = None if raw else JsonStringDecoder()
        self._iterated = False

    def cancel(self) -> None:
        self._generation.cancel()

    @property
    def stats(self) -> GenerationStats:
        return self._generation.stats

    def __aiter__(self) -> AsyncIterator[str]:
        if self._iterated:
            raise RuntimeError("a streamed answer can be read once")
        self._iterated = True
        return self._iterate()

    def _text(self, piece: str) -> str:
        return self._decoder.feed(piece) if self._decoder is not None else piece

    async def _iterate(self) -> AsyncIterator[str]:
        leading = True
        piece = self._head
        try:
            while True:
                text = self._text(piece)
                if leading and text:
                    text = text.lstrip()
                    leading = not text
                if text:
                    yield text
                try:
                    piece = await anext(self._pieces)
                except StopAsyncIteration:
                    return
        finally:
            await _close(self._pieces)


async def _close(pieces: AsyncIterator[str]) -> None:
    aclose = getattr(pieces, "aclose", None)
    if aclose is not None:
        await aclose()


@dataclass(frozen=True)
class _Finished:
    """A generation that has ended: what ``read_json_turn`` read, as a ``Generation``."""

    text: str
    stats: GenerationStats

    async def _iterate(self) -> AsyncIterator[str]:
        if self.text:
            yield self.text

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    def cancel(self) -> None:
        return None


async def read_json_turn(generation: Generation) -> ToolTurn:
    """Read a grammar-constrained reply (see the module docstring) into a ``ToolTurn``.

    A call is read to its end: ``ToolTurn(calls=(call,), text=<its JSON>)``. An answer returns
    at its first characters with ``ToolTurn(answer=StreamedAnswer(...))``, the rest of the
    generation still to come. A call cut off by the token limit is a turn with neither (the
    caller asks for a plain answer). Cancelling the caller stops the generation.
    """
    pieces = aiter(generation)
    text = ""
    handed_over = False
    try:
        async for piece in pieces:
            text += piece
            head = text.lstrip()
            if not head:
                continue
            if not head.startswith("{"):  # no JSON at all: the reply is the answer
                handed_over = True
                return ToolTurn(answer=StreamedAnswer(generation, pieces, text, raw=True))
            start = _ANSWER_START.match(text)
            if start is not None:
                handed_over = True
                answer = StreamedAnswer(generation, pieces, text[start.end() :])
                return ToolTurn(answer=answer)
    except BaseException:
        generation.cancel()
        raise
    finally:
        if not handed_over:
            await _close(pieces)
    parsed = parse_reply(text)
    if isinstance(parsed, ToolRequest):
        return ToolTurn(calls=(parsed,), text=text.strip(), stats=generation.stats)
    if parsed:  # an answer that came whole (one the grammar did not shape as expected)
        return ToolTurn(answer=_Finished(parsed, generation.stats))
    return ToolTurn(text=text.strip(), stats=generation.stats)
