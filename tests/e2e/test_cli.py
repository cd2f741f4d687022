"""The `keiko` CLI as a real subprocess with the bundled model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import keiko_env, run_keiko, write_settings

pytestmark = pytest.mark.model


@pytest.fixture
def home(keiko_home: Path) -> Path:
    write_settings(keiko_home, max_tokens=24, temperature=0.0)
    return keiko_home


def test_ask_json_reports_text_and_timings(home: Path) -> None:
    result = run_keiko(home, "ask", "--json", "What is the capital of France?")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "complete"
    assert out["text"].strip()
    assert out["model"] == "smollm2-135m-instruct"
    assert 0 < out["completion_tokens"] <= 24
    assert out["prompt_tokens"] > 5
    assert 0 < out["time_to_first_token"] < 30
    assert out["tokens_per_second"] > 0


def test_ask_streams_plain_text_then_history_and_search(home: Path) -> None:
    result = run_keiko(home, "ask", "Name", "a", "colour", "of", "the", "sky")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    listing = run_keiko(home, "history")
    assert listing.returncode == 0
    assert "Name a colour of the sky" in listing.stdout
    assert "2 msgs" in listing.stdout
    found = run_keiko(home, "history", "--search", "colour", "--json")
    hits = json.loads(found.stdout)
    assert hits
    assert hits[0]["role"] == "user"
    assert "[colour]" in hits[0]["snippet"]
    missing = run_keiko(home, "history", "--search", "zebra")
    assert "No messages match" in missing.stdout


def test_ask_continues_a_conversation(home: Path) -> None:
    first = json.loads(run_keiko(home, "ask", "--json", "Hello there").stdout)
    second = run_keiko(
        home, "ask", "--json", "--conversation", str(first["conversation_id"]), "And again"
    )
    assert json.loads(second.stdout)["conversation_id"] == first["conversation_id"]
    shown = json.loads(run_keiko(home, "history", str(first["conversation_id"]), "--json").stdout)
    assert [m["role"] for m in shown] == ["user", "assistant", "user", "assistant"]


def test_empty_prompt_is_refused(home: Path) -> None:
    result = run_keiko(home, "ask", "   ")
    assert result.returncode == 1
    assert "empty" in result.stderr.lower()
    assert run_keiko(home, "history", "--json").stdout.strip() == "[]"


def test_bad_model_names_the_file_and_falls_back(home: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("this is not a model")
    result = run_keiko(home, "ask", "--json", "--model", str(bogus), "Hi")
    assert result.returncode == 0, result.stderr
    assert str(bogus) in result.stderr
    assert "bundled" in result.stderr
    assert json.loads(result.stdout)["model"] == "smollm2-135m-instruct"


def test_mistyped_setting_is_a_clear_error(keiko_home: Path) -> None:
    write_settings(keiko_home, max_token=5)
    result = run_keiko(keiko_home, "ask", "Hi")
    assert result.returncode == 1
    assert "max_token" in result.stderr
    assert "Traceback" not in result.stderr


def test_interactive_chat_continues(home: Path) -> None:
    result = run_keiko(home, "chat", stdin="Hello\nWhat did I just say?\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("keiko> ") == 2
    conversations = json.loads(run_keiko(home, "history", "--json").stdout)
    assert len(conversations) == 1
    assert conversations[0]["message_count"] == 4


def test_doctor_reports_each_part(home: Path) -> None:
    result = run_keiko(home, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    for name in ("bundled model", "llama.cpp", "keyring", "display", "audio", "tray", "database"):
        assert name in checks
    assert checks["bundled model"]["level"] == "ok"
    assert checks["llama.cpp"]["level"] == "ok"
    for check in checks.values():
        if check["level"] != "ok":
            assert check["fix"], check


def test_a_cpu_variant_that_dies_of_sigill_is_skipped_at_first_start(
    home: Path, tmp_path: Path
) -> None:
    """A fresh probe where the fastest variant crashes: `keiko ask` still answers, on the next."""
    from keiko_desktop.llm import cpu_backends as cb

    scores = cb.probe_scores()
    order = cb.candidates(scores) or [cb.CpuConfig(cb.BUILTIN)]
    doomed = order[0].id
    cache = tmp_path / "fresh-probe.json"
    env = keiko_env(home, **{cb.CACHE_ENV: str(cache), "KEIKO_CPU_PROBE_CRASH": doomed})
    done = subprocess.run(
        [sys.executable, "-m", "keiko_desktop", "ask", "--max-tokens", "16", "Say hi."],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    saved = json.loads(cache.read_text(encoding="utf-8"))
    assert saved["outcomes"][0]["config"] == doomed
    assert saved["outcomes"][0]["detail"] == "crashed: SIGILL (illegal instruction)"
    assert saved["config"] != doomed
    doctor = subprocess.run(
        [sys.executable, "-m", "keiko_desktop", "doctor", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    cpu = {c["name"]: c for c in json.loads(doctor.stdout)}["llama.cpp CPU"]
    assert cpu["level"] == "ok"
    assert saved["config"] in cpu["detail"]
    assert "SIGILL" in cpu["detail"]


def test_models_add_and_list(home: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 10)
    added = run_keiko(home, "models", "add", str(bogus))
    assert added.returncode == 1
    assert str(bogus) in added.stderr
    listing = run_keiko(home, "models")
    assert "smollm2-135m-instruct" in listing.stdout
    assert listing.stdout.startswith("*")


def test_no_display_falls_back_to_the_terminal_chat(home: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env["KEIKO_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "keiko_desktop"],
        env=env,
        input="/exit\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no display" in result.stderr
    assert "you> " in result.stdout


def test_ask_with_tools_offers_the_built_in_tools(home: Path) -> None:
    write_settings(home, max_tokens=96, temperature=0.0, threads=1)
    result = run_keiko(home, "ask", "--json", "--tools", "What is the date today? Use the clock.")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "complete"
    assert not out["text"].lstrip().startswith("{")  # the loop's answer, never raw JSON
    shown = json.loads(run_keiko(home, "history", str(out["conversation_id"]), "--json").stdout)
    roles = [m["role"] for m in shown]
    assert roles[:2] == ["user", "assistant"]
    for message in shown[2:]:  # the calls the model chose to make, if any
        assert message["role"] == "tool"
        assert json.loads(message["content"])["tool"].split(".")[0] in ("clock", "files", "notes")
