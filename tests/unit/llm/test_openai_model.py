"""OpenAIChatModel.generate against a real local HTTP server (tests/helpers/openai_stub_server):
the stream, its stats, every failure and what it becomes, cancelling, and the API key's secrecy."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from keiko_desktop.core.endpoints import Endpoint
from keiko_desktop.core.errors import (
    GenerationError,
    KeikoError,
    ModelUnavailableError,
    ReplyInterruptedError,
)
from keiko_desktop.core.ports import ChatMessage, GenerationParams
from keiko_desktop.llm.openai_client import OpenAIClient
from keiko_desktop.llm.openai_model import OpenAIChatModel
from tests.helpers.openai_stub_server import (
    StubServer,
    chunk,
    hang,
    json_reply,
    openai_stub,
    raw_reply,
    refused_url,
    sse_reply,
    text_chunks,
)

CHAT = "/v1/chat/completions"
KEY = "sk-test-0123456789-very-secret"
MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "Say hello.")]
PARAMS = GenerationParams(temperature=0.0, max_tokens=32)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with openai_stub() as server:
        yield server


def model_for(url: str, *, key: str | None = KEY, timeout: float = 5.0) -> OpenAIChatModel:
    client = OpenAIClient(
        Endpoint("stub", url, api_key=key is not None, timeout=timeout), lambda: key
    )
    return OpenAIChatModel(client, "tiny-model", "stub/tiny-model", 2048)


async def collect(model: OpenAIChatModel) -> tuple[list[str], KeikoError | None]:
    pieces: list[str] = []
    generation = model.generate(MESSAGES, PARAMS)
    try:
        async for piece in generation:
            pieces.append(piece)
    except KeikoError as exc:
        return pieces, exc
    finally:
        await model.aclose()
    return pieces, None


async def test_streams_pieces_and_reads_usage(stub: StubServer) -> None:
    stub.on(CHAT, sse_reply(text_chunks(["Hel", "lo", "!"], usage=(17, 3)), delay=0.02))
    model = model_for(stub.url)
    generation = model.generate(MESSAGES, PARAMS)
    pieces = [p async for p in generation]
    await model.aclose()
    assert pieces == ["Hel", "lo", "!"]
    stats = generation.stats
    assert (stats.prompt_tokens, stats.completion_tokens) == (17, 3)
    assert stats.finish_reason == "stop"
    assert stats.time_to_first_token is not None
    assert stats.total_time >= stats.time_to_first_token + 0.03  # two 20 ms gaps after the first
    request = stub.chat_requests()[0]
    assert request.body["model"] == "tiny-model"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello."},
    ]
    assert request.headers["authorization"] == f"Bearer {KEY}"


async def test_without_usage_counts_chunks_and_reads_length(stub: StubServer) -> None:
    stub.on(CHAT, sse_reply(text_chunks(["a", "b", "c", "d"], finish="length"), done=False))
    model = model_for(stub.url, key=None)
    generation = model.generate(MESSAGES, PARAMS)
    assert [p async for p in generation] == ["a", "b", "c", "d"]
    await model.aclose()
    assert generation.stats.completion_tokens == 4
    assert generation.stats.finish_reason == "length"  # finish_reason without [DONE] is an end
    assert "authorization" not in stub.chat_requests()[0].headers


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key_is_a_generation_error_with_the_hint(
    stub: StubServer, status: int
) -> None:
    stub.on(CHAT, json_reply({"error": {"message": "bad key"}}, status))
    pieces, error = await collect(model_for(stub.url))
    assert pieces == []
    assert type(error) is GenerationError
    assert "refused the API key" in error.message
    assert f"HTTP {status}" in error.message
    assert "keiko endpoints add stub" in error.hint
    assert "--api-key-env" in error.hint


async def test_unknown_model_names_model_and_endpoint(stub: StubServer) -> None:
    stub.on(CHAT, json_reply({"error": {"message": "model 'tiny-model' not found"}}, 404))
    _, error = await collect(model_for(stub.url))
    assert type(error) is GenerationError
    assert "'tiny-model'" in error.message
    assert "stub" in error.message
    assert "not found" in error.message  # the server's own words, on one line


async def test_429_with_a_short_retry_after_is_waited_for_once(stub: StubServer) -> None:
    stub.on(
        CHAT,
        json_reply({"error": {"message": "slow down"}}, 429, {"Retry-After": "1"}),
        sse_reply(text_chunks(["ok"])),
    )
    started = time.monotonic()
    pieces, error = await collect(model_for(stub.url))
    assert error is None
    assert pieces == ["ok"]
    assert time.monotonic() - started >= 0.95
    assert len(stub.chat_requests()) == 2


async def test_429_again_or_long_wait_is_unavailable_saying_when(stub: StubServer) -> None:
    stub.on(CHAT, json_reply({}, 429, {"Retry-After": "120"}))
    started = time.monotonic()
    _, error = await collect(model_for(stub.url))
    assert time.monotonic() - started < 2  # not waited for
    assert isinstance(error, ModelUnavailableError)
    assert "429" in error.message
    assert "in 120 s" in error.hint
    assert len(stub.chat_requests()) == 1
    stub.on(CHAT, json_reply({}, 429, {"Retry-After": "0"}))
    _, error = await collect(model_for(stub.url))
    assert isinstance(error, ModelUnavailableError)
    assert len(stub.chat_requests()) == 3  # one wait and retry, then it stands


async def test_server_error_is_unavailable(stub: StubServer) -> None:
    stub.on(CHAT, raw_reply("Internal Server Error", 500))
    _, error = await collect(model_for(stub.url))
    assert isinstance(error, ModelUnavailableError)
    assert "HTTP 500" in error.message
    assert "Internal Server Error" in error.message


async def test_bad_request_is_a_generation_error_with_the_servers_words(stub: StubServer) -> None:
    stub.on(CHAT, json_reply({"detail": "temperature\nmust be <= 2"}, 400))
    _, error = await collect(model_for(stub.url))
    assert type(error) is GenerationError
    assert "HTTP 400" in error.message
    assert "temperature" in error.message
    assert "\n" not in error.message


async def test_no_answer_is_a_timeout(stub: StubServer) -> None:
    stub.on(CHAT, hang())
    started = time.monotonic()
    _, error = await collect(model_for(stub.url, timeout=0.5))
    assert 0.4 < time.monotonic() - started < 3
    assert isinstance(error, ModelUnavailableError)
    assert "sent nothing for 0.5 s" in error.message


async def test_refused_connection_is_unavailable() -> None:
    _, error = await collect(model_for(refused_url()))
    assert isinstance(error, ModelUnavailableError)
    assert "refused the connection" in error.message


async def test_cut_stream_keeps_the_text_so_far(stub: StubServer) -> None:
    # role chunk, "one ", "two " then the connection drops mid-body
    stub.on(CHAT, sse_reply(text_chunks(["one ", "two ", "three"]), cut_after=3))
    pieces, error = await collect(model_for(stub.url))
    assert pieces == ["one ", "two "]
    assert isinstance(error, ReplyInterruptedError)
    assert error.message == ("The connection to stub was cut mid-reply; the text so far is kept.")


async def test_clean_end_without_done_or_finish_after_text_is_interrupted(
    stub: StubServer,
) -> None:
    stub.on(CHAT, sse_reply(text_chunks(["one ", "two "]), end_after=3))
    pieces, error = await collect(model_for(stub.url))
    assert pieces == ["one ", "two "]
    assert isinstance(error, ReplyInterruptedError)


async def test_stall_after_text_is_interrupted(stub: StubServer) -> None:
    stub.on(CHAT, sse_reply(text_chunks(["one ", "two "]), hang_after=2))
    pieces, error = await collect(model_for(stub.url, timeout=0.5))
    assert pieces == ["one "]
    assert isinstance(error, ReplyInterruptedError)


async def test_cut_before_any_text_is_unavailable(stub: StubServer) -> None:
    stub.on(CHAT, sse_reply(text_chunks(["one"]), cut_after=1))
    pieces, error = await collect(model_for(stub.url))
    assert pieces == []
    assert isinstance(error, ModelUnavailableError)


async def test_a_line_over_a_mebibyte_ends_the_stream(stub: StubServer) -> None:
    stub.on(CHAT, sse_reply([chunk("x" * (1 << 20))]))
    _, error = await collect(model_for(stub.url))
    assert type(error) is GenerationError
    assert "line longer than 1 MiB" in error.message


async def test_an_event_that_is_not_json(stub: StubServer) -> None:
    stub.on(CHAT, sse_reply([chunk("a"), "{not json"]))
    pieces, error = await collect(model_for(stub.url))
    assert pieces == ["a"]
    assert isinstance(error, ReplyInterruptedError)


async def test_cancel_closes_the_stream_at_once(stub: StubServer) -> None:
    stub.on(CHAT, sse_reply(text_chunks([f"w{i} " for i in range(200)]), delay=0.05))
    model = model_for(stub.url)
    generation = model.generate(MESSAGES, PARAMS)
    pieces = []
    async for piece in generation:
        pieces.append(piece)
        if len(pieces) == 3:
            cancelled = time.monotonic()
            generation.cancel()
    assert len(pieces) == 3
    assert generation.stats.finish_reason == "cancelled"
    for _ in range(100):
        if stub.disconnects:
            break
        await asyncio.sleep(0.01)
    assert stub.disconnects == 1
    assert stub.disconnected_at - cancelled < 0.3
    await model.aclose()


async def test_stopping_reading_closes_the_stream(stub: StubServer) -> None:
    stub.on(CHAT, sse_reply(text_chunks([f"w{i} " for i in range(200)]), delay=0.05))
    model = model_for(stub.url)
    pieces = model.generate(MESSAGES, PARAMS).__aiter__()
    assert await anext(pieces) == "w0 "
    await pieces.aclose()  # type: ignore[attr-defined]
    for _ in range(100):
        if stub.disconnects:
            break
        await asyncio.sleep(0.01)
    assert stub.disconnects == 1
    await model.aclose()


async def test_the_key_is_in_no_error_and_no_log_record(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}", "key": KEY}}
    errors: list[KeikoError] = []
    for reply in [
        json_reply(echo, 401),
        json_reply(echo, 400),
        json_reply(echo, 500),
        json_reply(echo, 404),
        sse_reply([chunk("a"), {"error": {"message": f"boom {KEY}"}}]),
        sse_reply([{"error": {"message": f"boom {KEY}"}}]),
    ]:
        stub.on(CHAT, reply)
        _, error = await collect(model_for(stub.url))
        assert error is not None
        errors.append(error)
    stub.on(CHAT, hang())
    _, error = await collect(model_for(stub.url, timeout=0.3))
    assert error is not None
    errors.append(error)
    assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in stub.requests)
    for error in errors:
        assert KEY not in str(error)
        assert KEY not in repr(error)
        assert KEY not in repr(error.__cause__)
        assert KEY not in repr(error.__context__)
    assert "***" in errors[1].message  # the server's words, with the key cut out
    assert caplog.records  # httpx2 logged the requests
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in str(record.args)
