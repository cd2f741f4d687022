"""A small ``ModelLibrary`` for UI tests: a catalog in memory, downloads that move only when the
test says so (``progress``, ``finish``, ``fail``), each change published on the bus as
``ModelDownloadChanged`` like the real library does. Every request is noted in ``calls``.
"""

from __future__ import annotations

import dataclasses

from keiko_desktop.core.downloads import (
    CatalogModel,
    DownloadState,
    DownloadStatus,
    ModelDownloadChanged,
    ModelOptions,
)
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus

GB = 1024**3


def catalog_model(
    name: str,
    *,
    title: str = "",
    size_bytes: int = GB,
    ram_gb: float = 2.0,
    fits: bool = True,
    bundled: bool = False,
    installed_path: str = "",
) -> CatalogModel:
    return CatalogModel(
        name=name,
        title=title or name.title(),
        parameters="1.5B",
        quantization="Q4_K_M",
        size_bytes=size_bytes,
        ram_gb=ram_gb,
        license="Apache-2.0",
        description=f"The {name} model.",
        bundled=bundled,
        fits=fits,
        installed_path=installed_path,
    )


class FakeLibrary:
    """Implements ``core.downloads.ModelLibrary`` in memory.

    ``refuse``: model name -> the KeikoError ``download`` raises for it (not enough disk...).
    """

    def __init__(
        self, models: list[CatalogModel], bus: EventBus | None = None, gpu_offload: bool = False
    ) -> None:
        self.models = {m.name: m for m in models}
        self.states: dict[str, DownloadState] = {}
        self.bus = bus
        self.gpu_offload = gpu_offload
        self.refuse: dict[str, KeikoError] = {}
        self.saved_options: dict[str, ModelOptions] = {}
        self.calls: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ the port
    def catalog(self) -> list[CatalogModel]:
        return [
            dataclasses.replace(m, download=self.states.get(m.name)) for m in self.models.values()
        ]

    def downloads(self) -> list[DownloadState]:
        return list(self.states.values())

    async def download(self, name: str) -> DownloadState:
        self.calls.append(("download", name))
        if name in self.refuse:
            raise self.refuse[name]
        model = self.models[name]
        old = self.states.get(name)
        done = old.done_bytes if old is not None else 0
        return self._set(name, "downloading", done, total=model.size_bytes)

    async def pause(self, name: str) -> None:
        self.calls.append(("pause", name))
        state = self.states[name]
        self._set(name, "paused", state.done_bytes)

    async def resume_interrupted(self) -> list[str]:
        return []

    async def remove(self, name_or_path: str) -> None:
        self.calls.append(("remove", name_or_path))
        self.states.pop(name_or_path, None)
        model = self.models.get(name_or_path)
        if model is not None:
            self.models[name_or_path] = dataclasses.replace(model, installed_path="")

    def options(self, model: str) -> ModelOptions:
        return self.saved_options.get(model, ModelOptions())

    def set_options(self, model: str, options: ModelOptions) -> None:
        self.calls.append(("set_options", model))
        self.saved_options[model] = options

    async def aclose(self) -> None:
        return None

    # ------------------------------------------------------------------ the test's levers
    def progress(self, name: str, done: int, speed: float) -> DownloadState:
        return self._set(name, "downloading", done, speed=speed)

    def fail(self, name: str, error: str, hint: str) -> DownloadState:
        state = self.states[name]
        return self._set(name, "failed", state.done_bytes, error=error, hint=hint)

    def verify(self, name: str) -> DownloadState:
        """The whole file is there and being checked."""
        return self._set(name, "verifying", self.models[name].size_bytes)

    def finish(self, name: str, path: str) -> DownloadState:
        model = self.models[name]
        self.models[name] = dataclasses.replace(model, installed_path=path)
        return self._set(name, "done", model.size_bytes)

    def _set(
        self,
        name: str,
        status: DownloadStatus,
        done: int,
        *,
        total: int | None = None,
        speed: float = 0.0,
        error: str = "",
        hint: str = "",
    ) -> DownloadState:
        model = self.models[name]
        state = DownloadState(
            name=name,
            url=f"https://huggingface.co/x/{name}/resolve/main/{name}.gguf",
            path=f"/models/{name}.gguf.part",
            total_bytes=total if total is not None else model.size_bytes,
            done_bytes=done,
            status=status,
            error=error,
            hint=hint,
            bytes_per_second=speed,
        )
        self.states[name] = state
        if self.bus is not None:
            self.bus.publish(ModelDownloadChanged(state))
        return state
