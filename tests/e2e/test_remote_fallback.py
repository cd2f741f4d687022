"""A conversation on a remote model whose endpoint dies: the real Core, a real
``llama_cpp.server`` (tests/helpers/llama_server.py) that wants an API key, the key in the
keychain (an in-memory backend), and the bundled model as the fallback. The first turn is
answered by the endpoint; the server is then killed, and the next turn is answered by the
fallback, with a note saying so. Then every file Keiko wrote is scanned: the key is in none."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings, save_settings
from keiko_desktop.core.endpoints import Endpoint, endpoint_key_name, save_endpoints
from tests.helpers.llama_server import llama_server
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.processes import stop

pytestmark = pytest.mark.model

KEY = "sk-test-7f3b2c9d1e8a4f6b0c5d2e9f"


async def test_the_fallback_answers_when_the_endpoint_dies_mid_conversation(
    memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    paths = Paths.from_env()
    paths.ensure()
    with llama_server(api_key=KEY) as server:
        assert server.process is not None
        save_endpoints(paths.config_dir, [Endpoint("box", server.url, api_key=True)])
        memory_keyring.set_password("keiko-desktop", endpoint_key_name("box"), KEY)
        remote = f"box/{server.model_id}"
        settings = Settings(
            model=remote,
            model_fallbacks=("smollm2-135m-instruct",),
            max_tokens=24,
            temperature=0.0,
        )
        save_settings(paths, settings)
        core = await build_core(paths, settings, with_tasks=False, with_voice=False)
        try:
            assert core.endpoints is not None
            first = await (await core.chat.send(None, "Why is the sky blue?")).result()
            assert first.status == "complete", first.error
            assert first.model == remote
            assert first.text.strip()
            assert first.note is None

            stop(server.process, grace=5)  # the endpoint dies between two turns
            reply = await core.chat.send(None, "Name a colour.")
            second = await reply.result()
            assert second.status == "complete", second.error
            assert second.model == "smollm2-135m-instruct"
            assert second.text.strip()
            assert second.note is not None
            assert second.note.startswith(f"Answered by smollm2-135m-instruct: {remote} could")
            stored = (await core.conversations.list_messages(reply.conversation_id))[-1]
            assert (stored.model, stored.note) == ("smollm2-135m-instruct", second.note)
        finally:
            await core.aclose()

    assert KEY not in caplog.text
    written = _files_under(paths.config_dir.parent, paths.data_dir)
    assert any(p.name == "endpoints.toml" for p in written)
    assert any(p.suffix == ".sqlite3" for p in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path


def _files_under(*roots: Path) -> list[Path]:
    """Every file Keiko wrote (settings, endpoints, the database and its WAL, logs)."""
    return sorted({p for root in roots for p in root.rglob("*") if p.is_file()})
