"""What `keiko serve` accepts: an OpenAI chat completion request, checked and bounded.

A request is data from another program. ``parse_chat_request`` reads the JSON body (at most
``MAX_BODY_BYTES``; no NaN or Infinity; nesting too deep is an error, not a crash) and returns
a ``ChatRequest`` or raises ``ApiError`` with the status and the OpenAI-style error body
(``{"error": {"message", "type", "code", "param"}}``) that names the field at fault.

Accepted: messages of roles system, user and assistant (at most ``MAX_MESSAGES``), each a
string or a list of ``text`` parts (at most ``MAX_CONTENT_BYTES`` of UTF-8 each); model,
stream, stream_options.include_usage, temperature (0 to 2), top_p (0 to 1), max_tokens or
max_completion_tokens (1 to ``MAX_TOKENS``), stop (a string or up to four), seed (0 to
2**32 - 1) and n = 1. Tools, functions, images, audio, logprobs and a JSON response format are
refused by name, so a client never gets a reply that silently ignored what it asked for.
Other fields (user, presence_penalty, metadata...) are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keiko_desktop.core.ports import ChatMessage, GenerationParams, Role

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_MESSAGES = 1000
MAX_CONTENT_BYTES = 1_000_000
MAX_TOKENS = 32768
MAX_STOPS = 4
MAX_STOP_CHARS = 500
MAX_SEED = 2**32 - 1
MAX_MODEL_CHARS = 512
_ROLE: dict[str, Role] = {"system": "system", "user": "user", "assistant": "assistant"}
ROLES: frozenset[str] = frozenset(_ROLE)
UNSUPPORTED = ("tools", "tool_choice", "functions", "function_call", "audio", "prediction")
"""Request fields that ask for what Keiko does not serve: refused rather than ignored."""


class ApiError(Exception):
    """An error for the client: HTTP ``status`` and the OpenAI error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # OpenAI's field name
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }


@dataclass(frozen=True)
class ChatRequest:
    """A checked chat completion request. ``params`` fields the client left out come from
    the defaults ``parse_chat_request`` was given."""

    model: str
    messages: tuple[ChatMessage, ...]
    params: GenerationParams
    stream: bool = False
    include_usage: bool = False


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def load_json(body: bytes) -> Any:
    """The JSON of ``body`` (UTF-8; NaN and Infinity refused), or ApiError 400."""
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"The request body is over {MAX_BODY_BYTES:,} bytes.")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise _bad(f"The request body is not UTF-8 (byte {exc.start + 1}).") from None
    except RecursionError:
        raise _bad("The request body nests too deeply.") from None
    except ValueError as exc:
        raise _bad(f"The request body is not valid JSON: {exc}.") from None


def _text(value: str, where: str) -> str:
    """``value``, checked: valid Unicode (no lone surrogates) and within the content bound."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise _bad(f"{where} is not valid Unicode (a lone surrogate).", where) from None
    if size > MAX_CONTENT_BYTES:
        raise _bad(f"{where} is over {MAX_CONTENT_BYTES:,} bytes.", where)
    return value


def _content(value: object, where: str) -> str:
    if isinstance(value, str):
        return _text(value, where)
    if not isinstance(value, list):
        raise _bad(f"{where} must be a string or a list of text parts.", where)
    texts = []
    for j, part in enumerate(value):
        at = f"{where}[{j}]"
        if not isinstance(part, Mapping) or part.get("type") != "text":
            kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
            raise _bad(
                f"{at}: only text parts are supported, not {str(kind)[:40]!r}.",
                at,
                "unsupported_content",
            )
        text = part.get("text")
        if not isinstance(text, str):
            raise _bad(f"{at}.text must be a string.", f"{at}.text")
        texts.append(text)
    return _text("".join(texts), where)


def _messages(value: object) -> tuple[ChatMessage, ...]:
    if not isinstance(value, list) or not value:
        raise _bad("messages must be a non-empty list.", "messages")
    if len(value) > MAX_MESSAGES:
        raise _bad(f"At most {MAX_MESSAGES} messages, not {len(value)}.", "messages")
    out = []
    for i, item in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(item, Mapping):
            raise _bad(f"{where} must be an object.", where)
        role = item.get("role")
        if role == "developer":  # OpenAI's newer name for a system message
            role = "system"
        if not isinstance(role, str) or role not in ROLES:
            shown = role[:40] if isinstance(role, str) else type(role).__name__
            raise _bad(
                f"{where}.role must be system, user or assistant, not {shown!r}"
                " (tool calls are not supported).",
                f"{where}.role",
                "unsupported_role",
            )
        for key in ("tool_calls", "function_call", "audio"):
            if item.get(key) is not None:
                raise _bad(f"{where}.{key} is not supported.", f"{where}.{key}")
        out.append(ChatMessage(_ROLE[role], _content(item.get("content"), f"{where}.content")))
    return tuple(out)


def _number(body: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _bad(f"{key} must be a number.", key)
    if not low <= value <= high:
        raise _bad(f"{key} must be between {low:g} and {high:g}, not {value:g}.", key)
    return float(value)


def _integer(body: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{key} must be an integer.", key)
    if not low <= value <= high:
        raise _bad(f"{key} must be between {low} and {high}, not {value}.", key)
    return value


def _stops(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise _bad("stop must be a string or a list of strings.", "stop")
    if len(items) > MAX_STOPS:
        raise _bad(f"At most {MAX_STOPS} stop strings, not {len(items)}.", "stop")
    for s in items:
        if not s or len(s) > MAX_STOP_CHARS:
            raise _bad(f"Each stop string has 1 to {MAX_STOP_CHARS} characters.", "stop")
        _text(s, "stop")
    return tuple(items)


def _flag(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(f"{key} must be true or false.", key)
    return value


def parse_chat_request(body: bytes, defaults: GenerationParams) -> ChatRequest:
    """The checked request in ``body`` (see the module docs); ApiError when it is not one."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise _bad("The request body must be a JSON object.")
    for key in UNSUPPORTED:
        if data.get(key) not in (None, [], {}):
            raise _bad(f"{key} is not supported by Keiko's API.", key, "unsupported_parameter")
    if _flag(data, "logprobs"):
        raise _bad("logprobs is not supported.", "logprobs", "unsupported_parameter")
    fmt = data.get("response_format")
    if fmt is not None and not (isinstance(fmt, Mapping) and fmt.get("type") == "text"):
        raise _bad("Only the text response_format is supported.", "response_format")
    _integer(data, "n", 1, 1)  # one choice per request
    model = data.get("model", "")
    if model is None:
        model = ""
    if not isinstance(model, str) or len(model) > MAX_MODEL_CHARS:
        raise _bad(f"model must be a string of at most {MAX_MODEL_CHARS} characters.", "model")
    messages = _messages(data.get("messages"))
    stream = _flag(data, "stream")
    options = data.get("stream_options")
    if options is not None and not isinstance(options, Mapping):
        raise _bad("stream_options must be an object.", "stream_options")
    include_usage = _flag(options or {}, "include_usage")
    if include_usage and not stream:
        raise _bad("stream_options is only for stream: true.", "stream_options")
    max_tokens = _integer(data, "max_completion_tokens", 1, MAX_TOKENS)
    if max_tokens is None:
        max_tokens = _integer(data, "max_tokens", 1, MAX_TOKENS)
    temperature = _number(data, "temperature", 0.0, 2.0)
    top_p = _number(data, "top_p", 0.0, 1.0)
    seed = _integer(data, "seed", 0, MAX_SEED)
    params = GenerationParams(
        temperature=defaults.temperature if temperature is None else temperature,
        max_tokens=defaults.max_tokens if max_tokens is None else max_tokens,
        top_p=defaults.top_p if top_p is None else top_p,
        seed=seed,
        stop=_stops(data.get("stop")),
    )
    return ChatRequest(model.strip(), messages, params, stream, include_usage)
