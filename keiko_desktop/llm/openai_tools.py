"""Native function calling over the OpenAI API: tool names on the wire, the ``tools`` field,
and Keiko's messages as the API's.

Names: Keiko's tools are ``server.tool`` (``[A-Za-z0-9_.-]{1,128}``), OpenAI's must match
``^[a-zA-Z0-9_-]{1,64}$``. ``ToolNames`` maps both ways for one set of tools: the dot becomes
``_`` (``files.read_file`` -> ``files_read_file``); a name that would then be taken twice, or is
longer than 64, is cut to 55 characters and given ``_`` and 8 hex digits of its own hash. The
same tools always map to the same names, so the calls of an earlier turn keep theirs.

Messages: ``AgentRunner`` feeds results back as ``ChatMessage("assistant", turn.text)`` followed
by one ``tool`` message per call. ``to_wire`` sends that pair as the API wants it, an assistant
message with ``tool_calls`` and ``role: tool`` messages with their ``tool_call_id``, when it
knows the assistant text as a turn this model made (``CallMemo``); any other ``tool`` message
(results the answer is written from, without the calls) goes as a ``user`` message, which every
server accepts. The results stay inside their ``<tool_result>`` blocks either way.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keiko_desktop.core.ports import ChatMessage
from keiko_desktop.core.tools.models import ToolSpec
from keiko_desktop.core.tools.untrusted_text import DESCRIPTION_LIMIT, one_line

WIRE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_NOT_WIRE = re.compile(r"[^a-zA-Z0-9_-]")
MAX_CALLS = 32
"""At most this many calls are read from one turn."""
MAX_ARGUMENT_CHARS = 1 << 20


def _hashed(qualified: str) -> str:
    digest = hashlib.sha256(qualified.encode()).hexdigest()[:8]
    return f"{_NOT_WIRE.sub('_', qualified)[:55]}_{digest}"


class ToolNames:
    """Keiko's ``server.tool`` names and their wire names, for one set of tools."""

    def __init__(self, qualified: Sequence[str]) -> None:
        unique = list(dict.fromkeys(qualified))
        plain = {q: _NOT_WIRE.sub("_", q) for q in unique}
        counts: dict[str, int] = {}
        for name in plain.values():
            counts[name] = counts.get(name, 0) + 1
        wire: dict[str, str] = {}
        for q in unique:
            name = plain[q]
            wire[q] = name if counts[name] == 1 and len(name) <= 64 else _hashed(q)
        taken = list(wire.values())
        if len(set(taken)) != len(taken):  # a hashed name met a plain one: hash them all
            wire = {q: _hashed(q) for q in unique}
        self._wire = wire
        self._back = {w: q for q, w in wire.items()}

    def wire(self, qualified: str) -> str:
        """The wire name of a tool of this set (any other name is hashed the same way)."""
        return self._wire.get(qualified) or _hashed(qualified)

    def qualified(self, wire: str) -> str | None:
        """The tool a wire name stands for; a model echoing ``server.tool`` itself is
        understood too. None for a name of no tool here."""
        if wire in self._back:
            return self._back[wire]
        return wire if wire in self._wire else None


def tools_field(tools: Sequence[ToolSpec], names: ToolNames) -> list[dict[str, Any]]:
    """The request's ``tools``: each usable tool, its description on one bounded line."""
    out: list[dict[str, Any]] = []
    for spec in tools:
        if not spec.usable:
            continue
        function: dict[str, Any] = {
            "name": names.wire(spec.qualified_name),
            "parameters": spec.input_schema or {"type": "object"},
        }
        description = one_line(spec.description or spec.title or "", DESCRIPTION_LIMIT)
        if description:
            function["description"] = description
        out.append({"type": "function", "function": function})
    return out


@dataclass(frozen=True)
class WireCall:
    """A call as the endpoint sent it: its id, wire name and arguments (a JSON text)."""

    id: str
    name: str
    arguments: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


class CallMemo:
    """The assistant turns with calls this model made (``turn.text`` -> its calls), so the
    next request can send them back as ``tool_calls``. Bounded; the oldest go first."""

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._turns: OrderedDict[str, tuple[WireCall, ...]] = OrderedDict()

    def remember(self, text: str, calls: Sequence[WireCall]) -> None:
        self._turns[text] = tuple(calls)
        self._turns.move_to_end(text)
        while len(self._turns) > self._limit:
            self._turns.popitem(last=False)

    def calls(self, text: str) -> tuple[WireCall, ...] | None:
        return self._turns.get(text)


def turn_text(calls: Sequence[WireCall], qualified: Sequence[str]) -> str:
    """The assistant turn as the next turn sees it: the calls as JSON (ids make it unique)."""
    return json.dumps(
        {
            "tool_calls": [
                {"id": c.id, "tool": q, "arguments": c.arguments}
                for c, q in zip(calls, qualified, strict=True)
            ]
        },
        ensure_ascii=False,
    )


def to_wire(messages: Sequence[ChatMessage], memo: CallMemo) -> list[dict[str, Any]]:
    """Keiko's messages as the API's (see the module docstring)."""
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        i += 1
        calls = memo.calls(message.content) if message.role == "assistant" else None
        if calls:
            results: list[ChatMessage] = []
            while i < len(messages) and messages[i].role == "tool" and len(results) < len(calls):
                results.append(messages[i])
                i += 1
            if results:
                answered = calls[: len(results)]
                # content "": llama_cpp.server refuses a null and fails on a missing one
                calls_made = [c.as_dict() for c in answered]
                out.append({"role": "assistant", "content": "", "tool_calls": calls_made})
                out += [
                    {"role": "tool", "tool_call_id": c.id, "content": r.content}
                    for c, r in zip(answered, results, strict=True)
                ]
                continue
        role = "user" if message.role == "tool" else message.role
        out.append({"role": role, "content": message.content})
    return out


class CallParts:
    """A streamed turn's ``tool_calls`` deltas put together, by index."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}
        self.too_many = False

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(self, deltas: Any) -> None:
        if not isinstance(deltas, list):
            return
        for delta in deltas:
            if not isinstance(delta, dict):
                continue
            index = delta.get("index", len(self._calls))
            if not isinstance(index, int) or isinstance(index, bool):
                continue
            if index not in self._calls and len(self._calls) >= MAX_CALLS:
                self.too_many = True
                continue
            call = self._calls.setdefault(index, {"id": "", "name": "", "arguments": []})
            if isinstance(delta.get("id"), str) and not call["id"]:
                call["id"] = delta["id"][:200]
            function = delta.get("function")
            if isinstance(function, dict):
                name = function.get("name")
                if isinstance(name, str) and name and not call["name"]:
                    call["name"] = name[:200]  # sent once (some servers repeat it each delta)
                if isinstance(function.get("arguments"), str):
                    call["arguments"].append(function["arguments"])

    def calls(self, prefix: str) -> list[WireCall]:
        """The calls in index order; a call without an id gets ``prefix`` and its index."""
        out = []
        for index in sorted(self._calls):
            call = self._calls[index]
            arguments = "".join(call["arguments"])[:MAX_ARGUMENT_CHARS] or "{}"
            out.append(WireCall(call["id"] or f"{prefix}_{index}", call["name"], arguments))
        return out


def parse_arguments(text: str) -> dict[str, Any] | None:
    """A call's arguments: a JSON object (an empty text is ``{}``); None when they are not."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
