"""OpenAIBackend against a real local HTTP server: listing models (bounded and checked), the
endpoint's state and why, resolving ids, loading, and the registry's view of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.endpoints import Endpoint, EndpointStatusChanged
from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.core.events import EventBus
from keiko_desktop.llm.openai_backend import MAX_MODELS, OpenAIBackend
from keiko_desktop.llm.openai_model import OpenAIChatModel
from keiko_desktop.llm.registry import ModelRegistry
from tests.helpers.openai_stub_server import (
    StubServer,
    drop,
    hang,
    json_reply,
    models_reply,
    openai_stub,
    raw_reply,
    refused_url,
)

MODELS = "/v1/models"


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with openai_stub() as server:
        yield server


def backend_for(url: str, timeout: float = 5.0, bus: EventBus | None = None) -> OpenAIBackend:
    return OpenAIBackend(Endpoint("lab", url, timeout=timeout), lambda: "sk-k", bus=bus)


async def test_online_lists_checked_ids(stub: StubServer) -> None:
    stub.on(
        MODELS,
        json_reply(
            {
                "data": [
                    {"id": "llama3:8b"},
                    {"id": "qwen/qwen2.5-7b"},
                    {"id": "bad\nid"},
                    {"id": "x" * 201},
                    {"id": 7},
                    "nope",
                    {"id": "llama3:8b"},
                ]
            }
        ),
    )
    backend = backend_for(stub.url)
    status = await backend.refresh()
    await backend.aclose()
    assert status.state == "online"
    assert status.models == ("llama3:8b", "qwen/qwen2.5-7b")
    assert "online with 2 models" in status.detail
    assert "5 more entries" in status.detail
    infos = backend.list_models()
    assert [i.name for i in infos] == ["lab/llama3:8b", "lab/qwen/qwen2.5-7b"]
    assert infos[0].path == "llama3:8b"
    assert infos[0].backend == "lab"
    assert infos[0].size_bytes == 0
    assert infos[0].description == f"on lab ({stub.url})"
    assert stub.requests[0].headers["authorization"] == "Bearer sk-k"


async def test_at_most_500_models(stub: StubServer) -> None:
    stub.on(MODELS, models_reply(*[f"m{i}" for i in range(MAX_MODELS + 20)]))
    backend = backend_for(stub.url)
    status = await backend.refresh()
    await backend.aclose()
    assert len(status.models) == MAX_MODELS
    assert "20 more entries" in status.detail


async def test_a_model_list_over_4_mib_is_an_error(stub: StubServer) -> None:
    stub.on(MODELS, models_reply(*[f"model-{i:07d}-" + "x" * 180 for i in range(22_000)]))
    backend = backend_for(stub.url)
    status = await backend.refresh()
    await backend.aclose()
    assert status.state == "error"
    assert "more than 4096 KiB" in status.detail


@pytest.mark.parametrize(
    ("reply", "state", "words"),
    [
        (json_reply({"error": "bad key"}, 401), "unauthorized", "refused the API key"),
        (json_reply({"error": "no"}, 403), "unauthorized", "refused the API key"),
        (raw_reply("oops", 500), "error", "HTTP 500"),
        (raw_reply("<html>hi</html>"), "error", "not JSON"),
        (json_reply({"models": []}), "error", "not an OpenAI-style"),
    ],
)
async def test_states_of_a_server_that_answers(
    stub: StubServer, reply: object, state: str, words: str
) -> None:
    stub.on(MODELS, reply)  # type: ignore[arg-type]
    backend = backend_for(stub.url)
    status = await backend.refresh()
    await backend.aclose()
    assert status.state == state
    assert words in status.detail
    assert status.models == ()


async def test_offline_says_why() -> None:
    refused = await backend_for(refused_url()).refresh()
    assert refused.state == "offline"
    assert "refused the connection" in refused.detail
    dns = await backend_for("http://no-such-host.invalid/v1").refresh()
    assert dns.state == "offline"
    assert "DNS" in dns.detail


async def test_offline_on_timeout(stub: StubServer) -> None:
    stub.on(MODELS, hang())
    backend = backend_for(stub.url, timeout=0.5)
    status = await backend.refresh()
    await backend.aclose()
    assert status.state == "offline"
    assert "sent nothing for 0.5 s" in status.detail


async def test_status_changes_are_published_once(stub: StubServer) -> None:
    bus = EventBus()
    seen: list[EndpointStatusChanged] = []
    bus.subscribe(EndpointStatusChanged, seen.append)
    stub.on(MODELS, models_reply("a"))
    backend = backend_for(stub.url, bus=bus)
    await backend.refresh()
    await backend.refresh()
    stub.on(MODELS, raw_reply("down", 503))
    await backend.refresh()
    await backend.aclose()
    assert [e.status.state for e in seen] == ["online", "error"]


def test_resolve_claims_only_its_own_prefix() -> None:
    backend = backend_for("http://127.0.0.1:9/v1")
    info = backend.resolve("lab/some:model")
    assert info is not None
    assert info.name == "lab/some:model"
    assert info.path == "some:model"
    assert backend.resolve("other/some") is None
    assert backend.resolve("lab/") is None
    assert backend.resolve("lab") is None
    assert backend.resolve("lab/" + "x" * 201) is None


async def test_load_online_and_offline(stub: StubServer) -> None:
    stub.on(MODELS, models_reply("m1"))
    backend = backend_for(stub.url)
    settings = replace(Settings(), context_size=3072)
    info = backend.resolve("lab/m1")
    assert info is not None
    model = await backend.load(info, settings)
    assert isinstance(model, OpenAIChatModel)
    assert (model.name, model.model_id, model.context_length) == ("lab/m1", "m1", 3072)
    await model.aclose()
    missing = backend.resolve("lab/m2")
    assert missing is not None
    with pytest.raises(ModelLoadError, match="does not offer the model 'm2'") as exc:
        await backend.load(missing, settings)
    assert "m1" in exc.value.hint
    stub.on(MODELS, json_reply({}, 401))
    with pytest.raises(ModelLoadError, match="refused the API key") as exc:
        await backend.load(info, settings)
    assert "--api-key-env" in exc.value.hint
    await backend.aclose()
    offline = backend_for(refused_url())
    with pytest.raises(ModelLoadError, match="refused the connection") as exc:
        await offline.load(info, settings)
    assert "bundled model" in exc.value.hint


async def test_registry_resolves_and_loads_through_it(stub: StubServer) -> None:
    stub.on(MODELS, models_reply("m1"))
    backend = backend_for(stub.url)
    registry = ModelRegistry(Settings())
    registry.register_backend(backend)
    assert registry.resolve("lab/m1").backend == "lab"  # before any refresh: offline is fine
    await backend.refresh()
    assert "lab/m1" in [i.name for i in registry.list_models()]
    model = await registry.load(registry.resolve("lab/m1"))
    assert isinstance(model, OpenAIChatModel)
    await model.aclose()
    await backend.aclose()


async def test_a_connection_closed_before_any_answer_is_tried_once_more(stub: StubServer) -> None:
    stub.on(MODELS, drop(), models_reply("a"))
    backend = backend_for(stub.url)
    status = await backend.refresh()
    assert status.state == "online"
    assert len(stub.requests) == 2
    stub.on(MODELS, drop())  # twice: it stands
    status = await backend.refresh()
    await backend.aclose()
    assert status.state == "offline"
    assert "connection broke" in status.detail
    assert len(stub.requests) == 4
