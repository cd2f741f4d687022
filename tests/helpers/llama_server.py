"""A real OpenAI-compatible server: ``python -m llama_cpp.server`` with the bundled model.

This build of llama.cpp loads its CPU code as a backend chosen at run time (docs §2d), which
the plain server does not do: ``BOOT`` activates Keiko's choice for the model, then runs the
server's own ``__main__`` with the same arguments.
``llama_server()`` starts it on a free port (``--chat_format chatml-function-calling``, so it
takes ``tools``; SmolLM2's own template is ChatML too, so plain replies read the same), waits
until ``/v1/models`` answers (bounded), yields its base URL and the model id it serves, and
stops it. Used by tests/e2e/test_remote_llama_server.py and benchmarks/bench_remote.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from keiko_desktop.llm.registry import locate_bundled_model
from tests.helpers.openai_stub_server import free_port
from tests.helpers.processes import stop

START_LIMIT = 90.0
BOOT = """
import runpy, sys
from keiko_desktop.llm.cpu_backends import CpuPlanner, activate
model, threads = sys.argv[1], int(sys.argv[2])
activate(CpuPlanner.default().choose(model, threads).config)
sys.argv = ["llama_cpp.server", *sys.argv[3:]]
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class LlamaServer:
    url: str
    """The base URL, ``http://127.0.0.1:PORT/v1``."""
    model_id: str
    """The id ``/v1/models`` lists (the model's alias)."""
    log: Path
    process: subprocess.Popen[bytes] | None = None
    """The server (a test may stop it: an endpoint that dies)."""


class LlamaServerError(RuntimeError):
    pass


@contextlib.contextmanager
def llama_server(
    *,
    threads: int = 2,
    n_ctx: int = 2048,
    chat_format: str = "chatml-function-calling",
    api_key: str | None = None,
) -> Iterator[LlamaServer]:
    """The server running; with ``api_key`` it answers only requests that carry it."""
    model = locate_bundled_model()
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
    command = [
        sys.executable,
        "-c",
        BOOT,
        str(model),
        str(threads),
        "--model",
        str(model),
        "--model_alias",
        "smollm2-135m",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--chat_format",
        chat_format,
        *(["--api_key", api_key] if api_key else []),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        model_id = _wait_ready(process, url, log, api_key)
        yield LlamaServer(url, model_id, log, process)
    finally:
        stop(process, grace=10)
        log.unlink(missing_ok=True)


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, log: Path, api_key: str | None = None
) -> str:
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise LlamaServerError(f"llama_cpp.server exited ({process.returncode}):\n{tail}")
        try:
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            request = urllib.request.Request(f"{url}/models", headers=headers)
            with urllib.request.urlopen(request, timeout=2) as response:
                data = json.loads(response.read(1 << 20))
            return str(data["data"][0]["id"])
        except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError):
            time.sleep(0.2)
    raise LlamaServerError(f"llama_cpp.server did not answer within {START_LIMIT:g} s ({log})")
