"""models.toml: per-model options, bounded, owner-only, atomic; and LlamaCppBackend.load using
them with the real bundled model (context length, threads, a chat template override)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.downloads import ModelOptions
from keiko_desktop.core.errors import SettingsError
from keiko_desktop.core.ports import ChatMessage, ModelInfo
from keiko_desktop.llm.llama_backend import LlamaCppBackend
from keiko_desktop.llm.model_options import (
    MODELS_FILE,
    ModelOptionsStore,
    check_options,
    load_model_options,
)

TEMPLATE = (
    "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
    "{% if add_generation_prompt %}[assistant] {% endif %}"
)


def test_options_round_trip_and_defaults_are_left_out(tmp_path: Path) -> None:
    store = ModelOptionsStore(tmp_path)
    store.set("qwen", ModelOptions(context_length=8192, threads=4))
    store.set("/models/mine.gguf", ModelOptions(chat_template=TEMPLATE, gpu_layers=20))
    store.set("gone", ModelOptions(threads=2))
    store.set("gone", ModelOptions())  # back to the defaults: its table goes
    again = ModelOptionsStore(tmp_path)
    assert again.get("qwen") == ModelOptions(context_length=8192, threads=4)
    assert again.get("nope", "/models/mine.gguf").chat_template == TEMPLATE
    assert again.get("gone") == ModelOptions()
    text = (tmp_path / MODELS_FILE).read_text()
    assert "gone" not in text
    assert "gpu_layers = 20" in text
    assert oct((tmp_path / MODELS_FILE).stat().st_mode & 0o777) == "0o600"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (ModelOptions(context_length=8), "context_length must be 0"),
        (ModelOptions(context_length=300_000), "context_length must be 0"),
        (ModelOptions(threads=257), "threads must be 0 to 256"),
        (ModelOptions(threads=-1), "threads must be 0 to 256"),
        (ModelOptions(gpu_layers=1000), "gpu_layers must be 0 to 999"),
        (ModelOptions(chat_template="{% for m in messages %}"), "not a valid Jinja template"),
        (ModelOptions(chat_template="x" * (64 * 1024 + 1)), "longer than 64 KiB"),
    ],
)
def test_out_of_bounds_values_are_refused(options: ModelOptions, words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        check_options(options, "m")


def test_a_bad_file_names_the_model_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / MODELS_FILE
    path.write_text("[models.qwen]\nthreads = 999\n")
    with pytest.raises(SettingsError, match=r"qwen.*threads must be"):
        load_model_options(tmp_path)
    path.write_text('[models.qwen]\ncolour = "red"\n')
    with pytest.raises(SettingsError, match="unknown fields: colour"):
        load_model_options(tmp_path)
    path.write_text('[models.qwen]\nthreads = "four"\n')
    with pytest.raises(SettingsError, match="whole number"):
        load_model_options(tmp_path)
    path.write_text("x = [" * 10)
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_model_options(tmp_path)
    path.write_bytes(b"#" * (1024 * 1024 + 1))
    with pytest.raises(SettingsError, match="larger than 1024 KiB"):
        load_model_options(tmp_path)
    path.unlink()
    assert load_model_options(tmp_path) == {}


async def test_the_llama_backend_loads_with_a_models_options(bundled_gguf: Path) -> None:
    info = ModelInfo(name="smol", path=str(bundled_gguf), size_bytes=0)  # size: not used
    options = ModelOptions(context_length=768, threads=1, chat_template=TEMPLATE, gpu_layers=5)
    backend = LlamaCppBackend(options=lambda i: options if i.name == "smol" else ModelOptions())
    model = await backend.load(info, Settings(context_size=2048, threads=2))
    try:
        assert model.context_length == 768  # the model's own, not the general 2048
        engine = model._engine
        assert engine is not None
        assert engine.renderer.template == TEMPLATE
        assert engine.llm.n_threads == 1
        prompt = engine.renderer.render([ChatMessage("user", "hi")])
        assert prompt == "[user] hi\n[assistant] "
        assert await model.count_tokens([ChatMessage("user", "hi")]) > 3
    finally:
        await model.aclose()
    plain = await LlamaCppBackend().load(info, Settings(context_size=256, threads=1))
    try:
        assert plain.context_length == 256
        assert plain._engine is not None
        assert plain._engine.renderer.template != TEMPLATE
    finally:
        await plain.aclose()
