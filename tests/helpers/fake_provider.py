"""A ModelProvider that hands out a scripted model, for logic tests of the chat service."""

from __future__ import annotations

import asyncio

from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.core.ports import ChatModel, ModelInfo
from tests.helpers.fake_model import FakeChatModel


class FakeProvider:
    def __init__(self, model: FakeChatModel | None = None, load_delay: float = 0.0) -> None:
        self.model = model or FakeChatModel()
        self.load_delay = load_delay
        self.loaded: list[str] = []
        self.default = ModelInfo("fake-default", "/models/default.gguf", 1, bundled=True)

    def list_models(self) -> list[ModelInfo]:
        return [self.default]

    def default_model(self) -> ModelInfo:
        return self.default

    def resolve(self, name_or_path: str) -> ModelInfo:
        if name_or_path in ("", "fake-default", self.default.path):
            return self.default
        raise ModelLoadError(f"Model file {name_or_path} does not exist.", "Pick another.")

    async def load(self, info: ModelInfo) -> ChatModel:
        await asyncio.sleep(self.load_delay)
        self.loaded.append(info.name)
        return self.model
