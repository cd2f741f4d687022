"""`keiko say` and `keiko transcribe` as real subprocesses with the bundled voice and tiny.en:
speech written to a WAV and heard back (text and --json), markdown read as a person would,
the rate; missing, non-audio and bad input with their exit codes; `keiko say` without a sound
device; a `transcribe` task run by `keiko tasks worker`; `keiko doctor`'s voice lines; and
neither command touching the database, the chat model or Qt it does not need."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keiko_desktop.core.voice.types import AudioClip
from tests.helpers.cli import keiko_env, run_keiko
from tests.helpers.pulse import pulse_server
from tests.helpers.speech_samples import normalize, word_error_rate

pytestmark = pytest.mark.timeout(240)

SENTENCE = "The train to the city leaves every twenty minutes."
NO_SERVER = {"PULSE_SERVER": "unix:/nonexistent/keiko-test/native"}
"""No sound server: Qt finds no device, whatever this machine runs."""


def keiko(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keiko_desktop", *args],
        env=keiko_env(home, **NO_SERVER),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def spoken(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """SENTENCE said by `keiko say --out`, once for the module: the WAV, and the run."""
    folder = tmp_path_factory.mktemp("said")
    home = folder / "home"
    out = folder / "said.wav"
    done = keiko(home, "say", SENTENCE, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, done


def wer(reference: str, heard: str) -> float:
    return word_error_rate([reference], [heard])


# ---------------------------------------------------------------------- say, then transcribe
def test_say_writes_a_wav_that_transcribes_back_to_its_words(
    spoken: tuple[Path, subprocess.CompletedProcess[str]], keiko_home: Path
) -> None:
    out, said = spoken
    clip = AudioClip.from_wav(out.read_bytes())
    assert clip.sample_rate == 22050  # the voice's own rate
    assert 2.0 < clip.duration < 8.0
    assert said.stdout == f"Wrote {out} ({clip.duration:.1f} s of speech).\n"
    assert not list(out.parent.glob(".said.wav.*"))  # no temporary file left
    assert not (out.parent / "home" / "data" / "keiko.sqlite3").exists()  # no database

    heard = run_keiko(keiko_home, "transcribe", str(out))
    assert heard.returncode == 0, heard.stderr
    assert wer(SENTENCE, heard.stdout) <= 0.12, heard.stdout  # one word of nine at most
    assert heard.stdout.count("\n") == 1
    assert heard.stdout.endswith("\n")
    assert not (keiko_home / "data" / "keiko.sqlite3").exists()

    as_json = run_keiko(keiko_home, "transcribe", str(out), "--json", "--beam-size", "1")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert set(data) == {"text", "language", "duration", "elapsed", "segments"}
    assert data["language"] == "en"
    assert abs(data["duration"] - clip.duration) < 0.1
    assert 0 < data["elapsed"] < 60
    assert data["segments"], data
    for segment in data["segments"]:
        assert 0 <= segment["start"] < segment["end"] <= clip.duration + 0.5
    assert " ".join(s["text"].strip() for s in data["segments"]) == data["text"].strip()
    assert wer(SENTENCE, data["text"]) <= 0.12


def test_say_reads_markdown_from_stdin_as_a_person_would(tmp_path: Path) -> None:
    reply = (
        "# Shopping\n\nBuy **milk** and `bread` today.\n\n"
        "```python\nprint('launch the rockets')\n```\n"
    )
    out = tmp_path / "reply.wav"
    said = keiko(tmp_path / "home", "say", "--out", str(out), stdin=reply)
    assert said.returncode == 0, said.stderr
    heard = keiko(tmp_path / "home", "transcribe", str(out))
    assert heard.returncode == 0, heard.stderr
    words = normalize(heard.stdout)
    assert {"milk", "bread"} <= set(words), heard.stdout
    assert not {"print", "launch", "rockets", "python"} & set(words), heard.stdout  # code not read


def test_a_faster_rate_says_it_in_less_time(tmp_path: Path) -> None:
    durations = []
    for rate in ("1", "2"):
        out = tmp_path / f"rate{rate}.wav"
        said = keiko(tmp_path / "home", "say", SENTENCE, "--rate", rate, "--out", str(out))
        assert said.returncode == 0, said.stderr
        durations.append(AudioClip.from_wav(out.read_bytes()).duration)
    assert durations[1] < 0.7 * durations[0], durations


# ---------------------------------------------------------------------- what cannot work
def test_files_that_are_missing_or_not_audio_fail_with_exit_1(tmp_path: Path) -> None:
    home = tmp_path / "home"
    notes = tmp_path / "notes.wav"
    notes.write_text("these are notes, not sound\n" * 50)
    cases = {
        str(tmp_path / "gone.wav"): "gone.wav does not exist",
        str(tmp_path): "is a folder, not an audio file",
        str(notes): "notes.wav",
    }
    for path, words in cases.items():
        done = keiko(home, "transcribe", path)
        assert done.returncode == 1, (path, done.stderr)
        assert words in done.stderr
        assert done.stderr.startswith("keiko: ")
        assert "Traceback" not in done.stderr
        assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("transcribe", "x.wav", "--beam-size", "0"), "--beam-size"),
        (("transcribe", "x.wav", "--beam-size", "many"), "invalid int value"),
        (("transcribe", "x.wav", "--language", "en!"), "is not a language code"),
        (("say", "hello", "--rate", "3"), "--rate is 3; it must be between 0.5 and 2"),
        (("say", "hello", "--out", "hello.mp3"), "Keiko writes WAV files"),
        (("say", "hello", "--out", "/nonexistent-dir/hello.wav"), "does not exist"),
        (("say", "   "), "Nothing to say"),
        (("say", "!!! ..."), "nothing to say in that text"),
    ],
)
def test_bad_input_is_refused_with_exit_2(
    keiko_home: Path, args: tuple[str, ...], words: str
) -> None:
    done = keiko(keiko_home, *args)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_say_refuses_binary_stdin_and_reads_stray_bytes_leniently(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    cmd = [sys.executable, "-m", "keiko_desktop", "say", "--out", str(out)]
    env = keiko_env(tmp_path / "home", **NO_SERVER)
    binary = subprocess.run(cmd, env=env, input=b"\x7fELF\x00\x00", capture_output=True, timeout=60)
    assert binary.returncode == 2
    assert b"NUL character" in binary.stderr
    assert not out.exists()
    stray = subprocess.run(cmd, env=env, input=b"Caf\xe9 time.", capture_output=True, timeout=60)
    assert stray.returncode == 0, stray.stderr
    assert AudioClip.from_wav(out.read_bytes()).duration > 0.3


def test_say_without_a_sound_device_says_how_to_write_a_file(keiko_home: Path) -> None:
    done = keiko(keiko_home, "say", "Hello there.")
    assert done.returncode == 1, done.stderr
    assert "No sound output device" in done.stderr
    assert "--out FILE.wav" in done.stderr
    assert "Traceback" not in done.stderr


def test_say_plays_through_the_speaker_sentence_by_sentence(tmp_path: Path) -> None:
    """Through a real PulseAudio sink, recorded and heard back."""
    text = "Good morning. The train to the city leaves every twenty minutes."
    with pulse_server(tmp_path / "pulse") as server:
        done = subprocess.run(
            [sys.executable, "-m", "keiko_desktop", "say", text],
            env=keiko_env(tmp_path / "home", **server.env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        time.sleep(0.3)  # the speaker's last block reaches the reader
        recorded = server.played()
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    played = tmp_path / "played.wav"
    played.write_bytes(recorded.to_wav())
    heard = keiko(tmp_path / "home", "transcribe", str(played))
    assert heard.returncode == 0, heard.stderr
    assert wer(text, " ".join(heard.stdout.split())) <= 0.1, heard.stdout


# ---------------------------------------------------------------------- the rest of Keiko
def test_a_transcribe_task_runs_in_a_worker(
    spoken: tuple[Path, subprocess.CompletedProcess[str]], keiko_home: Path
) -> None:
    out, _ = spoken
    added = run_keiko(keiko_home, "tasks", "add", "transcribe", "--param", f"path={out}", "--json")
    assert added.returncode == 0, added.stderr
    task = json.loads(added.stdout)
    assert task["name"] == "Transcribe: said.wav"
    worker = run_keiko(keiko_home, "tasks", "worker", "--until-idle")
    assert worker.returncode == 0, worker.stderr
    shown = run_keiko(keiko_home, "tasks", "show", str(task["id"]), "--json")
    detail = json.loads(shown.stdout)
    assert (detail["status"], detail["progress"]) == ("completed", 100), detail
    assert wer(SENTENCE, detail["result"]) <= 0.12, detail["result"]


def test_doctor_names_the_models_and_why_there_is_no_microphone(keiko_home: Path) -> None:
    done = keiko(keiko_home, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["speech model"]["level"] == "ok"
    assert checks["speech model"]["detail"].startswith("tiny.en (bundled): ")
    assert checks["voice"]["level"] == "ok"
    mic = checks["microphone"]
    assert mic["level"] == "warn"
    assert mic["detail"].startswith("No microphone found."), mic  # as the mic button says
    assert checks["speaker"]["level"] == "warn"
    assert "push-to-talk" in checks
    assert checks["audio"]["level"] in ("ok", "warn")  # the older line stays


def test_the_commands_load_only_what_they_use(tmp_path: Path) -> None:
    """In one process: building the parser imports no engine; `say --out` then loads piper
    but no database, chat model, Qt or whisper."""
    script = (
        "import sys\n"
        "from keiko_desktop.cli import build_parser, main\n"
        "HEAVY = ('faster_whisper', 'ctranslate2', 'piper', 'onnxruntime', 'av', 'PySide6',\n"
        "         'sqlalchemy', 'llama_cpp', 'mcp')\n"
        "build_parser()\n"
        "print([m for m in HEAVY if m in sys.modules])\n"
        "code = main(['say', 'Hi.', '--out', sys.argv[1]])\n"
        "print(code, [m for m in HEAVY if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "hi.wav")],
        env=keiko_env(tmp_path / "home", **NO_SERVER),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    parser_line, said_line = done.stdout.splitlines()[0], done.stdout.splitlines()[-1]
    assert parser_line == "[]"
    assert said_line == "0 ['piper', 'onnxruntime']", done.stdout
