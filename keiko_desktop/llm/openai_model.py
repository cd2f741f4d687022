"""``OpenAIChatModel``: a model on an OpenAI-compatible endpoint (implements ``ToolCallingModel``).

A reply is a ``POST /chat/completions`` with ``stream: true``, read as server-sent events on
the event loop by a task of its own, which hands the text pieces to whoever iterates the
``OpenAIGeneration`` (``cancel()`` cancels that task, which closes the stream at once).

Failures are plain ``KeikoError``s. Before the first piece of text: connection refused, DNS,
timeout, HTTP 5xx or 429 (after one short wait when it asks for one) are
``ModelUnavailableError`` (another model may answer); 401/403 and 404 are ``GenerationError``s
that say what to do. After text has come, any failure, or a stream that ends without
``[DONE]`` or a finish reason, is ``ReplyInterruptedError``: the text so far is kept.

Tools go natively (``openai_tools``): ``call_tools`` sends them in ``tools`` and reads
``tool_calls``. As soon as the model writes text instead, that turn is the answer and streams
on (``ToolTurn.answer``). A server that fails a streamed request with tools before sending
anything (a 5xx, or a stream that ends at once: llama.cpp's ``chatml-function-calling`` cannot
stream a call it chose itself) is asked again without streaming, and from then on this model
asks it that way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from keiko_desktop.core.errors import (
    GenerationError,
    KeikoError,
    ModelUnavailableError,
    ReplyInterruptedError,
)
from keiko_desktop.core.ports import (
    ChatMessage,
    FinishReason,
    GenerationParams,
    GenerationStats,
    ToolCallRequest,
    ToolTurn,
)
from keiko_desktop.llm.openai_client import UNREACHABLE, EndpointRequestError, OpenAIClient
from keiko_desktop.llm.openai_tools import (
    CallMemo,
    CallParts,
    ToolNames,
    parse_arguments,
    to_wire,
    tools_field,
    turn_text,
)

if TYPE_CHECKING:
    from keiko_desktop.core.tools.models import ToolSpec

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 4 << 20
"""A reply longer than this many characters is ended as if by the token limit."""
_FINISH: dict[str, FinishReason] = {"length": "length"}
_TEXT, _END = "text", "end"


def key_hint(endpoint: str) -> str:
    return f"Give it the right key: keiko endpoints add {endpoint} URL --api-key-env VAR."


def generation_error(failure: EndpointRequestError, endpoint: str, model_id: str) -> KeikoError:
    """What a failure before any text means for a reply."""
    if failure.kind == "unauthorized":
        return GenerationError(
            f"The endpoint {endpoint} refused the API key (HTTP {failure.status}).",
            key_hint(endpoint),
        )
    if failure.kind == "not_found":
        return GenerationError(
            f"The endpoint {endpoint} has no model {model_id!r} ({failure.message})",
            f"Check the model's name: keiko endpoints list shows what {endpoint} offers.",
        )
    if failure.kind == "rate_limited":
        when = (
            f"in {failure.retry_after:.0f} s" if failure.retry_after is not None else "in a minute"
        )
        return ModelUnavailableError(failure.message, f"Try again {when}.")
    if failure.kind in UNREACHABLE:
        return ModelUnavailableError(
            failure.message, f"Check that {endpoint} is running and reachable, then try again."
        )
    return GenerationError(failure.message, "Check the endpoint's settings and its server log.")


def interrupted(endpoint: str) -> ReplyInterruptedError:
    return ReplyInterruptedError(
        f"The connection to {endpoint} was cut mid-reply; the text so far is kept.",
        "Ask again for a whole reply; if it keeps happening, check the server's log.",
    )


class OpenAIGeneration:
    """One reply being streamed. Iterate it once; ``cancel()`` closes the stream at once."""

    def __init__(self, model: OpenAIChatModel, body: dict[str, Any]) -> None:
        self._model = model
        self._body = body
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stats = GenerationStats()
        self._cancelled = False
        self._iterated = False
        self._held: list[str] = []
        self.calls = CallParts()
        """The ``tool_calls`` the stream carried (read by ``call_tools``)."""
        self.failure: EndpointRequestError | None = None
        """Why the stream failed before any text, if it did."""

    @property
    def stats(self) -> GenerationStats:
        """What the reply cost; complete once iteration has ended."""
        return self._stats

    def start(self) -> None:
        if self._task is None and not self._cancelled:
            self._task = asyncio.get_running_loop().create_task(self._pump())
            self._model._active.add(self)

    def cancel(self) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            self._stats = replace(self._stats, finish_reason="cancelled")
        elif self._task is None:
            self._stats = GenerationStats(finish_reason="cancelled")
        self._model._active.discard(self)
        self._queue.put_nowait((_END, None))

    def __aiter__(self) -> AsyncIterator[str]:
        if self._iterated:
            raise GenerationError("This reply has already been read.", "Call generate() again.")
        self._iterated = True
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        self.start()
        try:
            for piece in self._held:
                yield piece
            self._held = []
            while True:
                kind, value = await self._queue.get()
                if kind == _TEXT:
                    yield value
                elif kind == _END:
                    return
                else:
                    raise value
        finally:
            if self._task is not None and not self._task.done():
                self.cancel()  # the reader stopped early: stop the stream too

    async def first(self) -> str | None:
        """For ``call_tools``: wait for the first text that is not just white space (kept to
        be yielded first) or the end; the text, or None when the stream ended without any.
        A failure before any text is raised."""
        self.start()
        while True:
            kind, value = await self._queue.get()
            if kind == _TEXT:
                self._held.append(value)
                if value.strip():
                    return "".join(self._held)
            elif kind == _END:
                self._queue.put_nowait((kind, value))
                return None
            else:
                raise value

    async def _pump(self) -> None:
        model = self._model
        started = time.perf_counter()
        first: float | None = None
        chunks = chars = 0
        usage: dict[str, Any] = {}
        finish: str | None = None
        stream = model.client.stream("chat/completions", self._body)
        try:
            async for event in stream:
                if isinstance(event.get("usage"), dict):
                    usage = event["usage"]
                choices = event.get("choices")
                if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                    continue
                choice = choices[0]
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    text = delta.get("content")
                    if isinstance(text, str) and text:
                        if first is None:
                            first = time.perf_counter() - started
                        chunks += 1
                        chars += len(text)
                        self._queue.put_nowait((_TEXT, text))
                    if "tool_calls" in delta:
                        self.calls.add(delta["tool_calls"])
                if isinstance(choice.get("finish_reason"), str):
                    finish = choice["finish_reason"]
                if chars > MAX_REPLY_CHARS:
                    finish = "length"
                    break
        except EndpointRequestError as failure:
            self._fail(started, failure if first is None else None, first)
            return
        except Exception as exc:  # a bug or something unforeseen: still a plain error
            log.exception("reading a reply from %s failed", model.endpoint)
            odd = EndpointRequestError("bad_reply", f"{model.client.where}: {type(exc).__name__}.")
            self._fail(started, odd if first is None else None, first)
            return
        if finish is None and not stream.done:
            cut = f"{model.client.where} closed the stream before the reply was complete."
            self._fail(
                started, EndpointRequestError("network", cut) if first is None else None, first
            )
            return
        self._stats = GenerationStats(
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")) or chunks,
            time_to_first_token=first,
            total_time=time.perf_counter() - started,
            finish_reason=_FINISH.get(finish or "stop", "stop"),
        )
        self._end()

    def _fail(
        self, started: float, failure: EndpointRequestError | None, first: float | None
    ) -> None:
        """End with an error: ``failure`` before any text, else the reply was interrupted."""
        model = self._model
        self.failure = failure
        self._stats = GenerationStats(
            time_to_first_token=first,
            total_time=time.perf_counter() - started,
            finish_reason="error",
        )
        if failure is None:
            error: KeikoError = interrupted(model.endpoint)
        else:
            error = generation_error(failure, model.endpoint, model.model_id)
        self._queue.put_nowait(("error", error))
        self._end(put=False)

    def _end(self, put: bool = True) -> None:
        if put:
            self._queue.put_nowait((_END, None))
        self._model._active.discard(self)


class _Finished:
    """An answer already read whole (a server that could not stream with tools)."""

    def __init__(self, text: str, stats: GenerationStats) -> None:
        self._text = text
        self._stats = stats
        self._cancelled = False

    @property
    def stats(self) -> GenerationStats:
        return self._stats

    def cancel(self) -> None:
        self._cancelled = True

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        if self._text and not self._cancelled:
            yield self._text


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class OpenAIChatModel:
    """A model on an OpenAI-compatible endpoint; ``name`` is ``<endpoint>/<model id>``."""

    supports_tools = True

    def __init__(self, client: OpenAIClient, model_id: str, name: str, context_length: int) -> None:
        self.client = client
        self.endpoint = client.endpoint.name
        self.model_id = model_id
        self.name = name
        self.context_length = context_length
        self._active: set[OpenAIGeneration] = set()
        self._memo = CallMemo()
        self._stream_tools = True
        self._calls_made = 0

    def _body(self, messages: Sequence[ChatMessage], params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": to_wire(messages, self._memo),
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop[:4])
        return body

    def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> OpenAIGeneration:
        """Start a reply to ``messages``; the request is made when it is iterated."""
        return OpenAIGeneration(self, self._body(messages, params))

    async def call_tools(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        params: GenerationParams,
        *,
        require: bool = False,
    ) -> ToolTurn:
        """One turn with ``tools`` offered natively (see the module docstring)."""
        from keiko_desktop.core.agents.runner import with_data_note

        names = ToolNames([spec.qualified_name for spec in tools])
        body = self._body(with_data_note(messages), params)
        body["tools"] = tools_field(tools, names)
        if require and len(body["tools"]) == 1:
            body["tool_choice"] = {
                "type": "function",
                "function": {"name": body["tools"][0]["function"]["name"]},
            }
        else:
            body["tool_choice"] = "required" if require else "auto"
        if not self._stream_tools:
            return await self._call_tools_whole(body, names)
        generation = OpenAIGeneration(self, body)
        try:
            text = await generation.first()
        except ModelUnavailableError:
            if generation.failure is None or generation.failure.kind not in ("server", "network"):
                raise
            # llama.cpp's chatml-function-calling ends a streamed call's stream (HTTP 200)
            # before its first event; other servers answer such a request with a 5xx
            generation.cancel()
            log.info(
                "%s failed a streamed request with tools; asking without streaming", self.endpoint
            )
            turn = await self._call_tools_whole(body, names)
            self._stream_tools = False
            return turn
        except BaseException:
            generation.cancel()
            raise
        if text is not None:
            return ToolTurn(text="", answer=generation)
        async for _ in generation:  # the end (or the error) of a turn with calls
            pass
        return self._turn(generation.calls, names, generation.stats, "")

    async def _call_tools_whole(self, body: dict[str, Any], names: ToolNames) -> ToolTurn:
        body = {k: v for k, v in body.items() if k != "stream_options"} | {"stream": False}
        started = time.perf_counter()
        try:
            reply = await self.client.post_json("chat/completions", body)
        except EndpointRequestError as failure:
            raise generation_error(failure, self.endpoint, self.model_id) from None
        total = time.perf_counter() - started
        choices = reply.get("choices") if isinstance(reply, dict) else None
        choice = _object(choices[0] if isinstance(choices, list) and choices else None)
        message = _object(choice.get("message"))
        usage = _object(reply.get("usage") if isinstance(reply, dict) else None)
        stats = GenerationStats(
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
            time_to_first_token=total,
            total_time=total,
            finish_reason=_FINISH.get(str(choice.get("finish_reason")), "stop"),
        )
        parts = CallParts()
        parts.add(message.get("tool_calls"))
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        if not parts:
            return ToolTurn(answer=_Finished(text, stats))
        return self._turn(parts, names, stats, text)

    def _turn(
        self, parts: CallParts, names: ToolNames, stats: GenerationStats, text: str
    ) -> ToolTurn:
        """The calls of a turn as ``ToolCallRequest``s. Arguments that are not a JSON object
        make the turn an answer instead (no calls; ``generate()`` writes it), logged."""
        self._calls_made += 1
        wire = parts.calls(f"call_keiko_{self._calls_made}")
        if not wire:
            return ToolTurn(text=text, stats=stats)
        requests: list[ToolCallRequest] = []
        for call in wire:
            arguments = parse_arguments(call.arguments)
            qualified = names.qualified(call.name) or call.name[:128]
            if arguments is None:
                log.warning(
                    "%s: the model's call of %s had arguments that are not a JSON object "
                    "(%d characters); answering without tools",
                    self.endpoint,
                    qualified[:128],
                    len(call.arguments),
                )
                return ToolTurn(text=text, stats=stats)
            requests.append(ToolCallRequest(qualified, arguments))
        said = turn_text(wire, [r.name for r in requests])
        self._memo.remember(said, wire)
        return ToolTurn(calls=tuple(requests), text=said, stats=stats)

    async def aclose(self) -> None:
        for generation in list(self._active):
            generation.cancel()
        await self.client.aclose()

    def __repr__(self) -> str:
        return f"OpenAIChatModel(name={self.name!r}, endpoint={self.client.endpoint.base_url!r})"
