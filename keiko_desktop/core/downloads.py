"""The model manager's port: recommended models, their downloads, and per-model settings.

``ModelLibrary`` is implemented by ``llm/model_library.py`` (HTTP downloads with Range resume,
sha256 checks, a free-disk check first, state that survives a restart) and handed to the window
and the CLI on the ``Core``. Values here are frozen and Qt-free; progress is published as
``ModelDownloadChanged`` (at most ten times a second per download, and on every status change).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from keiko_desktop.core.events import Event

DownloadStatus = Literal["queued", "downloading", "paused", "verifying", "done", "failed"]


@dataclass(frozen=True)
class DownloadState:
    """One download: where it goes, how far it got, and what went wrong (message and hint)."""

    name: str
    url: str
    path: str
    total_bytes: int
    done_bytes: int
    status: DownloadStatus
    error: str = ""
    hint: str = ""
    bytes_per_second: float = 0.0

    @property
    def fraction(self) -> float:
        return min(1.0, self.done_bytes / self.total_bytes) if self.total_bytes > 0 else 0.0


@dataclass(frozen=True)
class CatalogModel:
    """A recommended model (``llm/catalog.toml``), as the model manager shows it."""

    name: str
    title: str
    parameters: str
    quantization: str
    size_bytes: int
    ram_gb: float
    license: str
    description: str
    bundled: bool
    fits: bool
    """Its ``ram_gb`` fits in this machine's RAM (total, lowered to a cgroup cap)."""
    installed_path: str = ""
    """The GGUF file when it is on disk (downloaded, or the bundled one); else ""."""
    download: DownloadState | None = None


@dataclass(frozen=True)
class ModelOptions:
    """Per-model settings, kept by model (registry name or file path) in ``models.toml``.

    0 / "" means "use the general setting" (context size, threads) or "the model's own"
    (chat template)."""

    chat_template: str = ""
    """A Jinja chat template that replaces the one in the GGUF file."""
    context_length: int = 0
    threads: int = 0
    gpu_layers: int = 0
    """Layers offloaded to the GPU; only used when llama.cpp was built with a GPU backend."""


@dataclass(frozen=True)
class ModelDownloadChanged(Event):
    """A download moved on (progress) or changed status."""

    state: DownloadState


class ModelLibrary(Protocol):
    """Recommended models, their downloads and per-model settings. Every method is safe on the
    event loop (file work runs in a thread)."""

    def catalog(self) -> list[CatalogModel]: ...

    def downloads(self) -> list[DownloadState]: ...

    async def download(self, name: str) -> DownloadState:
        """Start (or resume) downloading catalog model ``name``; returns at once with its state.

        Raises a ``KeikoError`` when it cannot start: unknown name, not enough free disk (what
        is free and what is needed), already installed."""
        ...

    async def pause(self, name: str) -> None:
        """Stop a download, keeping what was fetched (``paused``); ``download`` resumes it."""
        ...

    async def resume_interrupted(self) -> list[str]:
        """At start: resume the downloads that were running when Keiko last closed."""
        ...

    async def remove(self, name_or_path: str) -> None:
        """Delete a downloaded model's file (or a partial download) and forget it; a model
        the user added by path is only forgotten, never deleted."""
        ...

    def options(self, model: str) -> ModelOptions: ...

    def set_options(self, model: str, options: ModelOptions) -> None: ...

    gpu_offload: bool
    """Whether llama.cpp here was built with a GPU backend (else ``gpu_layers`` is ignored)."""

    async def aclose(self) -> None:
        """Pause every running download (they resume at the next start)."""
        ...
