"""The bundled model for tests that need the real one."""

from __future__ import annotations

from pathlib import Path

from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.llm.registry import locate_bundled_model


def bundled_gguf() -> Path | None:
    """The bundled SmolLM2 GGUF, or None where the model package is not installed."""
    try:
        return locate_bundled_model()
    except ModelLoadError:
        return None
