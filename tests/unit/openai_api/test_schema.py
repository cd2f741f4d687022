"""Request checking of `keiko serve`: what is accepted, what is refused and how."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keiko_desktop.core.ports import ChatMessage, GenerationParams
from keiko_desktop.openai_api.schema import (
    MAX_BODY_BYTES,
    MAX_CONTENT_BYTES,
    MAX_MESSAGES,
    ApiError,
    parse_chat_request,
)

DEFAULTS = GenerationParams(temperature=0.3, max_tokens=77, top_p=0.9)
HI = [{"role": "user", "content": "hi"}]
ROLE = "messages[0].role"
PART = "messages[0].content[0]"


def parse(**body: Any) -> Any:
    return parse_chat_request(json.dumps(body).encode(), DEFAULTS)


def refused(body: bytes | dict[str, Any], status: int = 400) -> ApiError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ApiError) as caught:
        parse_chat_request(raw, DEFAULTS)
    assert caught.value.status == status
    error = caught.value.body()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["message"]
    return caught.value


def test_a_plain_request_takes_the_defaults() -> None:
    req = parse(messages=HI)
    assert req.model == ""
    assert req.messages == (ChatMessage("user", "hi"),)
    assert req.params == GenerationParams(temperature=0.3, max_tokens=77, top_p=0.9)
    assert not req.stream
    assert not req.include_usage


def test_every_setting_is_read() -> None:
    req = parse(
        model=" smol ",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": "really"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            {"role": "assistant", "content": "ok", "name": "k"},
        ],
        stream=True,
        stream_options={"include_usage": True},
        temperature=0,
        top_p=1,
        max_tokens=32768,
        stop=["\n\n", "END"],
        seed=2**32 - 1,
        n=1,
        user="ignored",
        presence_penalty=0.5,
    )
    assert req.model == "smol"
    assert [m.role for m in req.messages] == ["system", "system", "user", "assistant"]
    assert req.messages[2].content == "ab"
    assert req.stream
    assert req.include_usage
    assert req.params == GenerationParams(
        temperature=0.0, max_tokens=32768, top_p=1.0, seed=2**32 - 1, stop=("\n\n", "END")
    )
    assert parse(messages=HI, stop="x", max_completion_tokens=5).params.stop == ("x",)
    assert parse(messages=HI, max_completion_tokens=5, max_tokens=9).params.max_tokens == 5


@pytest.mark.parametrize(
    ("message", "param", "code"),
    [
        (
            {"role": "tool", "content": "r", "tool_call_id": "1"},
            "messages[0].role",
            "unsupported_role",
        ),
        ({"role": "function", "content": "r"}, ROLE, "unsupported_role"),
        ({"role": "wizard", "content": "r"}, ROLE, "unsupported_role"),
        ({"content": "no role"}, ROLE, "unsupported_role"),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
            "messages[0].content[0]",
            "unsupported_content",
        ),
        (
            {"role": "user", "content": [{"type": "text", "text": 3}]},
            "messages[0].content[0].text",
            None,
        ),
        ({"role": "user", "content": None}, "messages[0].content", None),
        ({"role": "user", "content": 5}, "messages[0].content", None),
        ({"role": "assistant", "content": "", "tool_calls": [{}]}, "messages[0].tool_calls", None),
        ("just text", "messages[0]", None),
    ],
)
def test_messages_that_are_refused(message: Any, param: str, code: str | None) -> None:
    error = refused({"messages": [message]})
    assert error.param == param
    assert error.code == code
    assert error.type == "invalid_request_error"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 2.5),
        ("temperature", -0.1),
        ("temperature", "hot"),
        ("temperature", True),
        ("top_p", 1.5),
        ("max_tokens", 0),
        ("max_tokens", 32769),
        ("max_tokens", 1.5),
        ("max_completion_tokens", 10**9),
        ("seed", -1),
        ("seed", 2**32),
        ("n", 2),
        ("stop", ["a", "b", "c", "d", "e"]),
        ("stop", [""]),
        ("stop", "x" * 501),
        ("stop", 7),
        ("stream", "yes"),
        ("model", 3),
        ("model", "m" * 513),
        ("tools", [{"type": "function", "function": {"name": "f"}}]),
        ("functions", [{"name": "f"}]),
        ("tool_choice", "auto"),
        ("logprobs", True),
        ("response_format", {"type": "json_object"}),
        ("stream_options", {"include_usage": True}),  # without stream: true
        ("stream_options", "usage"),
    ],
)
def test_fields_out_of_bounds_name_the_field(field: str, value: Any) -> None:
    assert refused({"messages": HI, field: value}).param == field


def test_messages_are_bounded() -> None:
    refused({"messages": []})
    refused({"messages": "hi"})
    refused({})
    many = [{"role": "user", "content": "x"}] * (MAX_MESSAGES + 1)
    assert "1000" in refused({"messages": many}).message
    assert len(parse(messages=many[:MAX_MESSAGES]).messages) == MAX_MESSAGES
    big = "é" * (MAX_CONTENT_BYTES // 2 + 1)  # under the character count, over the bytes
    assert refused({"messages": [{"role": "user", "content": big}]}).param == "messages[0].content"
    parts = [{"type": "text", "text": "x" * 600_000}] * 2  # each part fits, together they do not
    refused({"messages": [{"role": "user", "content": parts}]})


def test_bodies_that_are_not_json_objects() -> None:
    refused(b"{not json")
    refused(b"[1, 2]")
    refused(b'{"messages": [{"role": "user", "content": "hi"}], "temperature": NaN}')
    refused(b'{"messages": [{"role": "user", "content": "hi"}], "temperature": Infinity}')
    refused(b"\xff\xfe{}")
    refused(b"[" * 100_000 + b"]" * 100_000)  # too deep: an error, not a crash
    lone = b'{"messages": [{"role": "user", "content": "\\ud800"}]}'
    assert "surrogate" in refused(lone).message
    assert refused(b" " * (MAX_BODY_BYTES + 1), status=413).status == 413
