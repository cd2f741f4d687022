"""ModelManager: which model is loaded, loading it in the background, falling back on failure.

State changes are published as ``ModelStateChanged``; a ``ready`` state's detail is
``"fallback"`` (the chosen model failed) or the model's ``load_note`` (the context was lowered
to what the model or free RAM allows, and why), else empty. ``await manager.get()`` waits until
a model is ready, so a message typed while the model loads is sent as soon as it can be.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from keiko_desktop.core.errors import KeikoError, ModelLoadError
from keiko_desktop.core.events import EventBus, ModelState, ModelStateChanged
from keiko_desktop.core.ports import ChatModel, ModelInfo, ModelProvider

log = logging.getLogger(__name__)


def load_note(model: ChatModel) -> str:
    """A model's note on how it was loaded (``LlamaChatModel.load_note``), "" if it has none."""
    note = getattr(model, "load_note", "")
    return note if isinstance(note, str) else ""


class ModelManager:
    """Owns the current ChatModel. One load at a time; a new load replaces the old model."""

    def __init__(
        self, provider: ModelProvider, bus: EventBus, chosen: Callable[[], str] = lambda: ""
    ) -> None:
        self.provider = provider
        self._bus = bus
        self._chosen = chosen
        """The model the user chose (``Settings.model``): what ``get`` loads when nothing was."""
        self._model: ChatModel | None = None
        self._info: ModelInfo | None = None
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[ChatModel] | None = None
        self.state: ModelState = "unloaded"
        self.last_error: KeikoError | None = None
        self.load_note = ""
        """What the loaded model's backend said about the load (the context was lowered, and
        why); the ``ready`` state's detail unless the model is a fallback."""

    @property
    def info(self) -> ModelInfo | None:
        return self._info

    @property
    def current(self) -> ChatModel | None:
        return self._model

    def start_loading(self, name_or_path: str = "") -> asyncio.Task[ChatModel]:
        """Load in the background; returns the task. Safe to call before the UI is shown."""
        self._task = asyncio.get_running_loop().create_task(self.load(name_or_path))
        return self._task

    async def load(self, name_or_path: str = "") -> ChatModel:
        """Load ``name_or_path`` (empty: the default). On a bad model, load the default instead.

        The failure is kept in ``last_error`` and published, so the user hears about it, and
        the app keeps running on the bundled model.
        """
        async with self._lock:
            self._ready.clear()
            old, self._model = self._model, None
            if old is not None:
                await old.aclose()
            self.last_error = None
            self.load_note = ""
            try:
                info = self.provider.resolve(name_or_path)
                return await self._load_info(info)
            except ModelLoadError as exc:
                self.last_error = exc
                self._publish(name_or_path or "default", "error", str(exc))
                default = self.provider.default_model()
                if not name_or_path or name_or_path in (default.path, default.name):
                    raise
            log.warning("falling back to %s: %s", default.name, self.last_error.message)
            try:
                return await self._load_info(default)
            except ModelLoadError as exc:
                self._publish(default.name, "error", str(exc))
                raise

    async def _load_info(self, info: ModelInfo) -> ChatModel:
        self._publish(info.name, "loading")
        model = await self.provider.load(info)
        self._model, self._info = model, info
        self.load_note = load_note(model)
        if self.load_note:
            log.warning("%s: %s", info.name, self.load_note)
        self._ready.set()
        self._publish(info.name, "ready", "fallback" if self.last_error else self.load_note)
        return model

    async def get(self) -> ChatModel:
        """The ready model, waiting for a load in progress (or starting the chosen one: a
        task worker or an agent that did not load it first gets the user's model, too)."""
        if self._model is not None and self._ready.is_set():
            return self._model
        if self._task is None:
            self.start_loading(self._chosen())
        assert self._task is not None
        if self._task.done() and self._task.exception() is not None:
            raise self._task.exception()  # type: ignore[misc]
        waiter = asyncio.ensure_future(self._ready.wait())
        done, _ = await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            exc = self._task.exception()
            if exc is not None:
                raise exc
        assert self._model is not None
        return self._model

    def _publish(self, name: str, state: ModelState, detail: str = "") -> None:
        self.state = state
        self._bus.publish(ModelStateChanged(name, state, detail))

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._model is not None:
            await self._model.aclose()
            self._model = None
        self.state = "unloaded"
