"""The one fake ModelProvider: hands out one model, scripted unless the test passes another."""

from __future__ import annotations

import asyncio
from pathlib import Path

from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.core.ports import ChatModel, ModelInfo
from tests.helpers.fake_model import FakeChatModel


class FakeProvider:
    """A ``ModelProvider`` that knows one model file, ``default`` (``fake-model``), and those
    added with ``add_model``. ``resolve`` finds them by name or path ("" is the default) and
    raises ModelLoadError for anything else, as the registry does. ``load`` waits
    ``load_delay`` seconds, notes the name in ``loaded`` and hands out ``model`` (a
    ``FakeChatModel`` unless given; the real model works too) whichever model was asked for.
    """

    def __init__(self, model: ChatModel | None = None, load_delay: float = 0.0) -> None:
        self.model: ChatModel = model if model is not None else FakeChatModel()
        self.load_delay = load_delay
        self.default = ModelInfo("fake-model", "/models/fake.gguf", 1000, bundled=True)
        self.added: list[ModelInfo] = []
        self.loaded: list[str] = []

    def list_models(self) -> list[ModelInfo]:
        return [self.default, *self.added]

    def default_model(self) -> ModelInfo:
        return self.default

    def resolve(self, name_or_path: str) -> ModelInfo:
        if not name_or_path:
            return self.default
        for info in self.list_models():
            if name_or_path in (info.name, info.path):
                return info
        raise ModelLoadError(f"Model file {name_or_path} does not exist.", "Pick another.")

    def add_model(self, path: str) -> ModelInfo:
        for info in self.list_models():
            if info.path == path:
                return info
        info = ModelInfo(Path(path).stem.lower(), path, 0)
        self.added.append(info)
        return info

    async def load(self, info: ModelInfo) -> ChatModel:
        await asyncio.sleep(self.load_delay)
        self.loaded.append(info.name)
        return self.model
