"""`keiko serve`'s app on a real socket (uvicorn in this loop) over a scripted model: the
guard, the routes, the SSE encoding, the per-model turn and client disconnects. The logic here
is not about the model; tests/e2e/test_serve.py runs the real command and model."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx2
import pytest

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.ports import ChatMessage, ChatModel, GenerationParams
from keiko_desktop.openai_api.app import ServeOptions, build_app, sse
from keiko_desktop.openai_api.server import ApiServer, bind_local
from tests.helpers.fake_model import FakeChatModel, FakeGeneration

TOKEN = "t" * 43


class Model(FakeChatModel):
    """The scripted model, remembering each generation and its params."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.params: list[GenerationParams] = []
        self.generations: list[FakeGeneration] = []

    def generate(self, messages: Sequence[ChatMessage], params: GenerationParams) -> FakeGeneration:
        self.params.append(params)
        generation = super().generate(messages, params)
        self.generations.append(generation)
        return generation


class Fixture:
    def __init__(self, model: Model, max_waiting: int = 4) -> None:
        self.model = model
        self.leases: list[str] = []
        self.active = 0
        self.max_waiting = max_waiting
        self.fail_lease: BaseException | None = None

    @contextlib.asynccontextmanager
    async def lease(self, name: str) -> AsyncIterator[ChatModel]:
        if self.fail_lease is not None:
            raise self.fail_lease
        self.leases.append(name)
        self.active += 1
        try:
            yield self.model
        finally:
            self.active -= 1


@contextlib.asynccontextmanager
async def serving(fixture: Fixture) -> AsyncIterator[tuple[httpx2.AsyncClient, int]]:
    sock = bind_local(0)
    port = sock.getsockname()[1]
    options = ServeOptions(
        token=TOKEN,
        port=port,
        models=lambda: ["smol", "other"],
        default_model=lambda: "smol",
        lease=fixture.lease,
        defaults=lambda: GenerationParams(temperature=0.2, max_tokens=40),
        max_waiting=fixture.max_waiting,
    )
    server = ApiServer(build_app(options), sock)
    await server.start()
    client = httpx2.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/v1",
        headers={"Authorization": f"Bearer {TOKEN}"},
        trust_env=False,
        timeout=10,
    )
    try:
        yield client, port
    finally:
        await client.aclose()
        await server.stop()


@pytest.fixture
def fixture() -> Fixture:
    return Fixture(Model())


HI = {"messages": [{"role": "user", "content": "hi"}]}


def events(text: str) -> list[Any]:
    """The data of each SSE event in ``text``, checking the framing."""
    assert text.endswith("\n\n")
    out = []
    for block in text.split("\n\n")[:-1]:
        assert block.startswith("data: "), block
        data = block[len("data: ") :]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


async def test_a_missing_or_wrong_token_is_401_without_a_hint(fixture: Fixture) -> None:
    async with serving(fixture) as (client, port):
        for headers in (
            {"Authorization": ""},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ):
            for path in ("/models", "/chat/completions", "/nothing/here"):
                reply = await client.post(path, json=HI, headers=headers)
                assert reply.status_code == 401, (headers, path)
                assert reply.json()["error"]["code"] == "invalid_api_key"
                assert TOKEN[:8] not in reply.text
                assert reply.headers["www-authenticate"] == "Bearer"
        bare = httpx2.AsyncClient(trust_env=False)
        try:
            reply = await bare.get(f"http://127.0.0.1:{port}/v1/models")
        finally:
            await bare.aclose()
        assert reply.status_code == 401
        assert fixture.model.params == []  # nothing reached the model
        ok = await client.get("/models", headers={"Authorization": f"bearer {TOKEN}"})
        assert ok.status_code == 200


async def test_other_hosts_are_refused_and_no_cors_headers(fixture: Fixture) -> None:
    async with serving(fixture) as (client, port):
        for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}", ""):
            reply = await client.get("/models", headers={"Host": host})
            assert reply.status_code == 421, host
            assert reply.json()["error"]["code"] == "invalid_host"
        assert (
            await client.get("/models", headers={"Host": f"localhost:{port}"})
        ).status_code == 200
        preflight = await client.options(
            "/chat/completions",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        reply = await client.get("/models", headers={"Origin": "http://evil.example"})
        for r in (preflight, reply):
            assert not [h for h in r.headers if h.lower().startswith("access-control-")]


async def test_models_are_listed_and_unknown_ones_are_404(fixture: Fixture) -> None:
    async with serving(fixture) as (client, _):
        listing = (await client.get("/models")).json()
        assert listing["object"] == "list"
        assert [m["id"] for m in listing["data"]] == ["smol", "other"]
        assert (await client.get("/models/other")).json()["id"] == "other"
        assert (await client.get("/models/nope")).status_code == 404
        reply = await client.post("/chat/completions", json={**HI, "model": "/etc/passwd"})
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "model_not_found"
        assert fixture.leases == []
        assert (await client.get("/chat/completions")).status_code == 405
        missing = await client.get("/files")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"


async def test_a_completion_has_the_text_and_usage(fixture: Fixture) -> None:
    fixture.model.enqueue(["Hel", "lo"])
    async with serving(fixture) as (client, _):
        reply = await client.post(
            "/chat/completions",
            json={
                "model": "other",
                "messages": [
                    {"role": "system", "content": "brief"},
                    {"role": "user", "content": "hi"},
                ],
                "max_tokens": 9,
                "seed": 4,
            },
        )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "other"
    assert body["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}
    ]
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert fixture.leases == ["other"]
    assert fixture.model.calls == [[ChatMessage("system", "brief"), ChatMessage("user", "hi")]]
    assert fixture.model.params == [GenerationParams(temperature=0.2, max_tokens=9, seed=4)]
    assert fixture.active == 0


async def test_a_stream_is_sse_chunks_then_usage_then_done(fixture: Fixture) -> None:
    fixture.model.enqueue(["Hel", "lo", ' "you"\n'])
    fixture.model.enqueue(["x"])
    async with serving(fixture) as (client, _):
        request = {**HI, "stream": True, "stream_options": {"include_usage": True}}
        reply = await client.post("/chat/completions", json=request)
        plain = await client.post("/chat/completions", json={**HI, "stream": True})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    got = events(reply.text)
    assert got[-1] == "[DONE]"
    chunks = got[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert {c["model"] for c in chunks} == {"smol"}  # "" is the default model
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
    assert text == 'Hello "you"\n'
    assert chunks[-2]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    plain_chunks = events(plain.text)[:-1]
    assert "usage" not in plain_chunks[-1]
    assert plain_chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert fixture.leases == ["", ""]
    assert fixture.active == 0


def test_sse_escapes_what_could_break_framing() -> None:
    event = sse({"t": "a\n\ndata: [DONE]\n\r\u2028\ud800"})
    assert event.endswith(b"\n\n")
    assert event.count(b"\n") == 2
    assert json.loads(event[len(b"data: ") :])["t"] == "a\n\ndata: [DONE]\n\r\u2028\ud800"


async def test_a_failure_mid_stream_is_an_error_event(fixture: Fixture) -> None:
    fixture.model.enqueue(["a", "b", "c"], fail_after=2)
    fixture.model.enqueue(["a"], fail_after=0)
    async with serving(fixture) as (client, _):
        streamed = await client.post("/chat/completions", json={**HI, "stream": True})
        whole = await client.post("/chat/completions", json=HI)
        fixture.fail_lease = KeikoError("The model file is gone.", "Add it again.")
        lease_failed = await client.post("/chat/completions", json=HI)
    got = events(streamed.text)
    assert got[-1]["error"]["type"] == "server_error"
    assert "[DONE]" not in got
    assert "scripted failure" not in streamed.text  # not Keiko's message: not passed on
    assert whole.status_code == 500
    assert whole.json()["error"]["message"] == "Keiko failed to answer; see its log."
    assert lease_failed.status_code == 500
    assert lease_failed.json()["error"]["message"] == "The model file is gone."
    assert fixture.active == 0


async def test_a_client_that_leaves_mid_stream_cancels_the_generation(fixture: Fixture) -> None:
    fixture.model.delay = 0.05
    fixture.model.enqueue([f"w{i} " for i in range(400)])  # 20 s if nobody stops it
    fixture.model.enqueue(["next"])
    async with serving(fixture) as (client, _):
        async with client.stream("POST", "/chat/completions", json={**HI, "stream": True}) as r:
            lines = r.aiter_lines()
            seen = 0
            async for line in lines:
                seen += line.startswith("data: ")
                if seen >= 3:
                    break
        for _ in range(100):
            if fixture.active == 0:
                break
            await asyncio.sleep(0.02)
        assert fixture.active == 0
        first = fixture.model.generations[0]
        assert first._cancelled
        reply = await client.post("/chat/completions", json=HI)
        assert reply.json()["choices"][0]["message"]["content"] == "next"


async def test_a_client_that_leaves_a_whole_reply_cancels_it(fixture: Fixture) -> None:
    fixture.model.delay = 0.05
    fixture.model.enqueue([f"w{i} " for i in range(400)])
    async with serving(fixture) as (client, _):
        with pytest.raises(httpx2.ReadTimeout):
            await client.post("/chat/completions", json=HI, timeout=0.3)
        for _ in range(100):
            if fixture.active == 0:
                break
            await asyncio.sleep(0.02)
        assert fixture.active == 0
        assert fixture.model.generations[0]._cancelled


async def test_one_request_at_a_time_per_model_and_429_when_the_queue_is_full() -> None:
    fixture = Fixture(Model(delay=0.05), max_waiting=1)
    for _ in range(3):
        fixture.model.enqueue(["a", "b", "c", "d"])
    async with serving(fixture) as (client, _):
        running = asyncio.ensure_future(client.post("/chat/completions", json=HI))
        for _ in range(200):  # until the first holds the model
            if fixture.active:
                break
            await asyncio.sleep(0.01)
        waiting = asyncio.ensure_future(client.post("/chat/completions", json=HI))
        await asyncio.sleep(0.05)
        refused = await client.post("/chat/completions", json=HI)
        other = await client.post("/chat/completions", json={**HI, "model": "other"})
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert other.status_code == 200  # another model has its own turn
        assert (await running).status_code == 200
        assert (await waiting).status_code == 200
    assert fixture.active == 0


async def test_bodies_over_the_limit_are_413_before_they_are_read(fixture: Fixture) -> None:
    async with serving(fixture) as (client, _):
        big = b"x" * (4 * 1024 * 1024 + 1)
        reply = await client.post("/chat/completions", content=big)
        assert reply.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            for _ in range(5):
                yield b" " * (1024 * 1024)

        reply = await client.post("/chat/completions", content=chunks())
        assert reply.status_code == 413
        bad = await client.post("/chat/completions", json={"messages": [{"role": "tool"}]})
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "messages[0].role"
