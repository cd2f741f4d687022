"""ModelManager.get with nothing loaded yet loads the model the user chose, not the default."""

from __future__ import annotations

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.events import EventBus
from tests.helpers.fake_provider import FakeProvider


async def test_get_before_any_load_loads_the_chosen_model(bus: EventBus) -> None:
    provider = FakeProvider()
    chosen = provider.add_model("/models/Remote-Or-Big.gguf")
    manager = ModelManager(provider, bus, chosen=lambda: chosen.path)
    await manager.get()  # a task worker's first summary, say
    assert provider.loaded == [chosen.name]
    assert manager.info == chosen


async def test_without_a_choice_get_loads_the_default(bus: EventBus) -> None:
    provider = FakeProvider()
    manager = ModelManager(provider, bus)
    await manager.get()
    assert provider.loaded == [provider.default.name]
