"""`keiko serve` as a real subprocess with the bundled model, spoken to over real HTTP."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.helpers.cli import keiko_env, write_settings
from tests.helpers.processes import stop

pytestmark = pytest.mark.model

READY = re.compile(r"Keiko serves (\d+) models? at (http://127\.0\.0\.1:(\d+)/v1) \(token: (.+)\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "keiko_desktop", "serve", *args],
            env=keiko_env(home, **(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def ready(self, timeout: float = 120) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"serve exited: {self.proc.wait()} {self.stderr()}")
            match = READY.search(line)
            if match:
                return match

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


@pytest.fixture
def home(keiko_home: Path) -> Path:
    write_settings(keiko_home, max_tokens=24, temperature=0.0)
    return keiko_home


@pytest.fixture
def served(home: Path) -> Iterator[Served]:
    server = Served(home, "--port", str(free_port()))
    try:
        yield server
    finally:
        stop(server.proc)


def sse_data(lines: list[str]) -> list[Any]:
    return [
        line[6:] if line == "data: [DONE]" else json.loads(line[6:])
        for line in lines
        if line.startswith("data: ")
    ]


def test_serve_answers_streams_survives_a_disconnect_and_exits_on_sigterm(
    home: Path, served: Served
) -> None:
    match = served.ready()
    count, url, port, token = int(match[1]), match[2], int(match[3]), match[4]
    assert count == 1
    token_file = home / "config" / "serve-token"
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token not in "".join(p.read_text() for p in (home / "logs").glob("*.log*"))

    with httpx2.Client(base_url=url, trust_env=False, timeout=120) as bare:
        assert bare.get("/models").status_code == 401
        wrong = bare.get("/models", headers={"Authorization": "Bearer " + "x" * len(token)})
        assert wrong.status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=url, headers=auth, trust_env=False, timeout=120) as client:
        models = client.get("/models").json()
        assert [m["id"] for m in models["data"]] == ["smollm2-135m-instruct"]
        assert client.get("/models", headers={"Host": f"rebound.example:{port}"}).status_code == 421

        question = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
        started = time.monotonic()
        whole = client.post("/chat/completions", json={**question, "max_tokens": 16})
        short_reply = time.monotonic() - started
        assert whole.status_code == 200, whole.text
        body = whole.json()
        assert body["model"] == "smollm2-135m-instruct"
        assert body["choices"][0]["message"]["content"].strip()
        assert body["usage"]["prompt_tokens"] > 5
        assert 0 < body["usage"]["completion_tokens"] <= 16

        streamed = {**question, "stream": True, "stream_options": {"include_usage": True}}
        with client.stream("POST", "/chat/completions", json=streamed) as reply:
            assert reply.status_code == 200
            events = sse_data(list(reply.iter_lines()))
        assert events[-1] == "[DONE]"
        text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-2])
        assert re.search(r"[A-Za-z]{2}", text), text
        assert events[-2]["usage"]["completion_tokens"] > 0

        long = {
            "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
            "stream": True,
            "max_tokens": 2000,
        }
        with client.stream("POST", "/chat/completions", json=long) as reply:
            got = 0
            for line in reply.iter_lines():
                got += line.startswith("data: ")
                if got >= 4:
                    break  # the client goes away mid-reply
        started = time.monotonic()
        after = client.post("/chat/completions", json={**question, "max_tokens": 8})
        assert after.status_code == 200
        assert after.json()["choices"][0]["message"]["content"].strip()
        waited = time.monotonic() - started
        print(f"a short reply: {short_reply:.2f} s; after a gone client: {waited:.2f} s")
        assert waited < short_reply + 2.0  # not behind 2,000 tokens nobody reads

        bad = client.post(
            "/chat/completions", json={"messages": [{"role": "tool", "content": "x"}]}
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "unsupported_role"

    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 143
    assert "Traceback" not in served.stderr()


def test_token_from_env_ctrl_c_and_a_port_in_use(home: Path) -> None:
    port = free_port()
    secret = "s3cret-token-from-the-environment"
    server = Served(home, "--port", str(port), "--token-env", "MY_TOKEN", env={"MY_TOKEN": secret})
    try:
        match = server.ready()
        assert match[4] == "from $MY_TOKEN"
        assert secret not in "".join(server.stdout)
        assert not (home / "config" / "serve-token").exists()
        with httpx2.Client(trust_env=False, timeout=30) as client:
            ok = client.get(f"{match[2]}/models", headers={"Authorization": f"Bearer {secret}"})
            assert ok.status_code == 200

        second = subprocess.run(
            [sys.executable, "-m", "keiko_desktop", "serve", "--port", str(port)],
            env=keiko_env(home),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1
        assert f"port {port} is in use; try --port " in second.stderr

        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(30) == 130
    finally:
        stop(server.proc)

    short = subprocess.run(
        [sys.executable, "-m", "keiko_desktop", "serve", "--token-env", "MY_TOKEN"],
        env={**keiko_env(home), "MY_TOKEN": "short"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert short.returncode == 2
    assert "16 to 512 characters" in short.stderr
    assert "short" not in short.stderr  # the value is never shown
    assert os.environ.get("MY_TOKEN") is None
