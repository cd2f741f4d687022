"""Which llama.cpp CPU code this machine runs, chosen by a crash-proof probe and cached.

Keiko's llama-cpp-python is built once for every x86-64 CPU (``GGML_BACKEND_DL`` with
``GGML_CPU_ALL_VARIANTS``, see the Makefile): its ``lib/`` folder holds one
``libggml-cpu-<variant>.so`` per CPU generation (``x64`` … ``haswell`` … ``zen4``,
``sapphirerapids``). llama-cpp-python loads none of them by itself, and choosing by CPU flags
alone is not safe: on Xeons that advertise AMX, the AMX code dies with SIGILL on batched prompts
(llama.cpp PR #26954). So the choice is made by trying, in child processes:

1. a ``scores`` child asks each variant's own ``ggml_backend_score()`` whether this CPU can run
   it (0 = no) and how well (higher = newer instructions);
2. from the highest score down, a ``run`` child loads that variant and a model, evaluates a
   batched prompt and decodes a few tokens; the first that exits cleanly wins. A SIGILL, a
   crash or a timeout there is only a fallback to the next candidate;
3. when every variant fails with weight repacking ("extra buffer types", where the AMX tiles
   live), the same order is tried once more without it.

The result is cached in a small JSON file, keyed by the llama-cpp-python version, its library
files and this CPU's signature, so a new build or a new CPU probes again. A build without
loadable variants (a plain ``pip install llama-cpp-python``) has one variant, ``builtin``, probed
with and without repacking. ``Settings.cpu_backend`` (or ``KEIKO_CPU_BACKEND``) overrides it.

Nothing here imports ``llama_cpp`` except ``activate`` (on the model's worker thread) and the
child (``llm.cpu_probe``).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from keiko_desktop.core.private_files import private_dir, write_private_text
from keiko_desktop.frozen import module_command

log = logging.getLogger(__name__)

PROBE_VERSION = 1
BUILTIN = "builtin"
AUTO = "auto"
NO_REPACK = ":no-repack"
CACHE_ENV = "KEIKO_CPU_PROBE_CACHE"
OVERRIDE_ENV = "KEIKO_CPU_BACKEND"
CHILD_TIMEOUT = 120.0
_SUFFIXES = {"win32": ".dll", "darwin": ".so"}


@dataclass(frozen=True)
class CpuConfig:
    """One way to run llama.cpp here: a CPU variant, with or without weight repacking."""

    variant: str
    repack: bool = True

    @property
    def id(self) -> str:
        return self.variant if self.repack else self.variant + NO_REPACK

    @classmethod
    def parse(cls, text: str) -> CpuConfig:
        text = text.strip()
        if text.endswith(NO_REPACK):
            return cls(text.removesuffix(NO_REPACK), repack=False)
        return cls(text)


@dataclass(frozen=True)
class ProbeOutcome:
    """What one probe child did."""

    config: str
    ok: bool
    detail: str
    prompt_tokens_per_second: float | None = None
    decode_tokens_per_second: float | None = None


@dataclass(frozen=True)
class CpuChoice:
    """The configuration in use and how it was chosen."""

    config: CpuConfig
    source: str
    """``probe`` (just now), ``cache``, ``setting`` (an override) or ``fallback``."""
    key: str = ""
    outcomes: tuple[ProbeOutcome, ...] = ()
    available: tuple[str, ...] = ()
    """Every configuration id this build offers (for Settings and ``keiko doctor``)."""
    note: str = ""

    def describe(self) -> str:
        how = {
            "probe": "chosen by the probe",
            "cache": "chosen by an earlier probe",
            "setting": "set in Settings",
            "fallback": "fallback",
        }.get(self.source, self.source)
        return f"{self.config.id} ({how})" + (f"; {self.note}" if self.note else "")


# ---------------------------------------------------------------------------- the build
def lib_dir() -> Path | None:
    """llama-cpp-python's ``lib/`` folder, found without importing it."""
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "lib"
        if candidate.is_dir():
            return candidate
    return None


def _variant_folders(folder: Path) -> list[Path]:
    # ggml installs the variants to <prefix>/bin unless built with GGML_BACKEND_DIR; under
    # pip that prefix is site-packages, two levels above llama_cpp/lib.
    return [f for f in (folder, folder.parent.parent / "bin") if f.is_dir()]


def variant_files(folder: Path | None) -> dict[str, Path]:
    """``{variant: library file}`` of a build with loadable CPU variants; empty otherwise."""
    if folder is None:
        return {}
    suffix = _SUFFIXES.get(sys.platform, ".so")
    out: dict[str, Path] = {}
    for path in sorted(p for f in _variant_folders(folder) for p in f.iterdir()):
        name = path.name
        if not name.endswith(suffix):
            continue
        stem = name.removesuffix(suffix).removeprefix("lib")
        if stem.startswith("ggml-cpu-"):
            out.setdefault(stem.removeprefix("ggml-cpu-"), path)
    return out


def cpu_signature() -> str:
    """The CPU's model name and feature flags (Linux), or what the platform says."""
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        wanted: dict[str, str] = {}
        for line in text.splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "flags", "Features", "vendor_id") and key not in wanted:
                wanted[key] = value.strip()
        if wanted:
            return json.dumps(wanted, sort_keys=True)
    return f"{platform.machine()} {platform.processor()}"


def build_key(folder: Path | None) -> str:
    """Changes when llama-cpp-python, its libraries or the CPU change."""
    try:
        version = importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    parts = [f"probe {PROBE_VERSION}", version, cpu_signature()]
    if folder is not None:
        files = [p for f in _variant_folders(folder) for p in f.iterdir() if "ggml" in p.name]
        for path in sorted(files):
            with contextlib.suppress(OSError):
                st = path.stat()
                parts.append(f"{path.name} {st.st_size} {int(st.st_mtime)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def candidates(scores: dict[str, int]) -> list[CpuConfig]:
    """Configurations to try, fastest first: by score with repacking, then without."""
    usable = sorted((v for v, s in scores.items() if s > 0), key=lambda v: (-scores[v], v))
    return [CpuConfig(v) for v in usable] + [CpuConfig(v, repack=False) for v in usable]


# Oldest first, as ggml's CMake lists them; used only when the variants cannot score themselves.
_X86_ORDER = [
    "x64",
    "sse42",
    "sandybridge",
    "ivybridge",
    "piledriver",
    "haswell",
    "alderlake",
    "skylakex",
    "cannonlake",
    "cascadelake",
    "icelake",
    "cooperlake",
    "zen4",
    "sapphirerapids",
]


def _guess_score(variant: str) -> int:
    return _X86_ORDER.index(variant) + 1 if variant in _X86_ORDER else 1


def available_ids(variants: Sequence[str]) -> tuple[str, ...]:
    names = list(variants) or [BUILTIN]
    return tuple(names) + tuple(v + NO_REPACK for v in names)


# ---------------------------------------------------------------------------- children
Runner = Callable[[Sequence[str], float], "ChildResult"]


@dataclass(frozen=True)
class ChildResult:
    returncode: int
    stdout: str
    stderr: str


def run_child(
    args: Sequence[str],
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> ChildResult:
    """``python -m keiko_desktop.llm.cpu_probe ARGS`` in a child (in a bundle ``keiko
    --run-module …``, keiko_desktop/frozen.py); a hang counts as a crash."""
    cmd = module_command("keiko_desktop.llm.cpu_probe", *args)
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ChildResult(-9, "", f"timed out after {timeout:.0f} s")
    return ChildResult(done.returncode, done.stdout, done.stderr)


def last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                return value if isinstance(value, dict) else None
    return None


def describe_exit(result: ChildResult) -> str:
    """``crashed: SIGILL (illegal instruction)``, ``exit 1: <last line>``, ``timed out…``."""
    code = result.returncode
    if code < 0:
        if "timed out" in result.stderr:
            return result.stderr.strip()
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = {"SIGILL": "illegal instruction", "SIGSEGV": "segmentation fault"}.get(name, "")
        return f"crashed: {name}" + (f" ({why})" if why else "")
    tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return f"exit {code}: {tail[:200]}"


def probe_scores(runner: Runner = run_child) -> dict[str, int]:
    """Each variant's ``ggml_backend_score()`` on this CPU, asked in a child."""
    result = runner(["scores"], CHILD_TIMEOUT)
    data = last_json(result.stdout) if result.returncode == 0 else None
    if data is None:
        log.warning("llama.cpp CPU scores failed: %s", describe_exit(result))
        return {}
    return {str(k): int(v) for k, v in data.items()}


def probe_config(
    config: CpuConfig, model: str, threads: int, runner: Runner = run_child
) -> ProbeOutcome:
    """Run ``config`` in a child: batched prompt plus a few decode steps."""
    args = ["run", "--config", config.id, "--model", model, "--threads", str(threads)]
    result = runner(args, CHILD_TIMEOUT)
    data = last_json(result.stdout)
    if result.returncode != 0 or data is None or not data.get("ok"):
        return ProbeOutcome(config.id, False, describe_exit(result))
    return ProbeOutcome(
        config.id,
        True,
        "ok",
        prompt_tokens_per_second=data.get("prompt_tokens_per_second"),
        decode_tokens_per_second=data.get("decode_tokens_per_second"),
    )


def probe(
    model: str,
    threads: int,
    folder: Path | None,
    runner: Runner = run_child,
    key: str = "",
) -> CpuChoice:
    """Try configurations fastest first; the first that runs cleanly is the choice."""
    variants = variant_files(folder)
    if variants:
        scores = probe_scores(runner)
        order = candidates(scores)
        if not order:  # the scores child itself failed: try every variant, newest first
            order = candidates({v: _guess_score(v) for v in variants})
    else:
        order = [CpuConfig(BUILTIN), CpuConfig(BUILTIN, repack=False)]
    outcomes: list[ProbeOutcome] = []
    for config in order:
        outcome = probe_config(config, model, threads, runner)
        outcomes.append(outcome)
        log.info("llama.cpp CPU probe %s: %s", config.id, outcome.detail)
        if outcome.ok:
            return CpuChoice(config, "probe", key, tuple(outcomes), available_ids(list(variants)))
    safest = order[-1] if order else CpuConfig(BUILTIN, repack=False)
    return CpuChoice(
        safest,
        "fallback",
        key,
        tuple(outcomes),
        available_ids(list(variants)),
        note="no configuration passed the probe; llama.cpp may crash on this CPU",
    )


# ---------------------------------------------------------------------------- the cache
def default_cache_file(cache_dir: Path) -> Path:
    """Where the choice is kept: ``KEIKO_CPU_PROBE_CACHE``, else the cache dir."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else cache_dir / "llama-cpu.json"


def load_cached(path: Path, key: str) -> CpuChoice | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key or data.get("source") == "fallback":
            return None  # a new build or CPU; or nothing passed last time: try again
        return CpuChoice(
            CpuConfig.parse(data["config"]),
            "cache",
            key,
            tuple(ProbeOutcome(**o) for o in data.get("outcomes", [])),
            tuple(data.get("available", [])),
            note=str(data.get("note", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_cached(path: Path, choice: CpuChoice) -> None:
    data = {
        "key": choice.key,
        "config": choice.config.id,
        "source": choice.source,
        "outcomes": [asdict(o) for o in choice.outcomes],
        "available": list(choice.available),
        "note": choice.note,
    }
    try:  # owner-only; a folder of KEIKO_CPU_PROBE_CACHE that exists is left as it is
        private_dir(path.parent, tighten=False)
        write_private_text(path, json.dumps(data, indent=1))
    except OSError as exc:
        log.warning("cannot save the llama.cpp CPU choice to %s: %s", path, exc)


@dataclass
class CpuPlanner:
    """Chooses the configuration once per process (probing when the cache is stale)."""

    cache_file: Path
    override: Callable[[], str] = lambda: AUTO
    runner: Runner = run_child
    probe_model: Callable[[], str | None] = lambda: None
    """A small model to probe with (the bundled one); else the model being loaded."""
    _choice: CpuChoice | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _checked: dict[str, ProbeOutcome] = field(default_factory=dict, repr=False)

    @classmethod
    def default(cls) -> CpuPlanner:
        """A planner caching in the cache dir of ``Paths.from_env()``; see ``OVERRIDE_ENV``."""
        from keiko_desktop.core.config import Paths

        return cls(default_cache_file(Paths.from_env().cache_dir))

    def choose(self, model: str, threads: int, *, reprobe: bool = False) -> CpuChoice:
        """The configuration to use (blocking: call off the event loop)."""
        with self._lock:
            if self._choice is not None and not reprobe:
                return self._apply_override(self._choice, model, threads)
            folder = lib_dir()
            key = build_key(folder)
            choice = None if reprobe else load_cached(self.cache_file, key)
            if choice is None:
                choice = probe(self._probe_subject(model), threads, folder, self.runner, key)
                save_cached(self.cache_file, choice)
            self._choice = choice
            return self._apply_override(choice, model, threads)

    def _probe_subject(self, model: str) -> str:
        small = self.probe_model()
        return small if small and Path(small).is_file() else model

    def current(self) -> CpuChoice | None:
        """The last choice, if one was made in this process."""
        return self._choice

    def choices(self) -> tuple[str, ...]:
        """Every configuration id this build offers (``core.ports.CpuBackends``)."""
        if self._choice is not None and self._choice.available:
            return self._choice.available
        return available_ids(list(variant_files(lib_dir())))

    def describe(self) -> str:
        """What runs now (``core.ports.CpuBackends``)."""
        if self._choice is None:
            return "not chosen yet (the model has not loaded)"
        wanted = self._apply_override(self._choice)
        running = active()
        if running is not None and running != wanted.config:
            return f"{running.id} in use; {wanted.config.id} applies after a restart"
        return wanted.describe()

    def _apply_override(
        self, choice: CpuChoice, model: str | None = None, threads: int = 1
    ) -> CpuChoice:
        """``choice`` with the setting applied. With ``model``, a configuration the probe did not
        pass is tried in a child first (once), so a bad setting cannot crash the app either."""
        wanted = (os.environ.get(OVERRIDE_ENV) or self.override() or AUTO).strip()
        if wanted == AUTO or wanted == choice.config.id:
            return choice

        def keep(note: str) -> CpuChoice:
            return CpuChoice(
                choice.config, choice.source, choice.key, choice.outcomes, choice.available, note
            )

        if choice.available and wanted not in choice.available:
            return keep(f"the setting {wanted!r} is not in this build; using the probe's choice")
        config = CpuConfig.parse(wanted)
        passed = {o.config: o for o in choice.outcomes if o.ok}
        if config.id not in passed and model is not None:
            outcome = self._checked.get(config.id)
            if outcome is None:
                outcome = probe_config(config, self._probe_subject(model), threads, self.runner)
                self._checked[config.id] = outcome
            if not outcome.ok:
                return keep(f"the setting {wanted!r} failed its probe ({outcome.detail})")
        return CpuChoice(config, "setting", choice.key, choice.outcomes, choice.available)


# ---------------------------------------------------------------------------- in process
def _ggml_library() -> ctypes.CDLL:
    """The libggml that libllama itself links to (by soname).

    The wheel holds ``libggml.so`` and ``libggml.so.0`` as two copies, not a symlink, and each
    has its own backend registry: a variant loaded through the wrong one is invisible to llama.
    """
    folder = lib_dir()
    names: list[Path] = []
    if folder is not None:
        if sys.platform == "win32":
            names = [folder / "ggml.dll"]
        elif sys.platform == "darwin":
            names = [*sorted(folder.glob("libggml.*.dylib")), folder / "libggml.dylib"]
        else:
            names = sorted(folder.glob("libggml.so.*"), key=lambda p: len(p.name))
            names.append(folder / "libggml.so")
    for path in names:
        if path.is_file():
            return ctypes.CDLL(str(path))
    raise OSError(f"llama.cpp's ggml library is missing from {folder}")


_active: list[CpuConfig] = []
_active_lock = threading.Lock()


def active() -> CpuConfig | None:
    """The configuration loaded into this process, if any."""
    return _active[0] if _active else None


def activate(config: CpuConfig) -> CpuConfig:
    """Load ``config``'s CPU variant into this process and set repacking (once per process).

    A process can hold one CPU variant: asking for another later keeps the first (a restart
    applies it) and returns the one in use. Imports ``llama_cpp``.
    """
    with _active_lock:
        if _active:
            if _active[0] != config:
                log.warning(
                    "llama.cpp CPU %s is loaded; %s applies after a restart",
                    _active[0].id,
                    config.id,
                )
            return _active[0]
        import llama_cpp.llama_cpp as lib

        variants = variant_files(lib_dir())
        if variants:
            path = variants.get(config.variant)
            if path is None:
                raise OSError(f"llama.cpp CPU variant {config.variant!r} is not in this build")
            load = _ggml_library().ggml_backend_load
            load.argtypes = [ctypes.c_char_p]
            load.restype = ctypes.c_void_p
            if not load(os.fsencode(path)):
                raise OSError(f"llama.cpp could not load {path}")
        if not config.repack:
            defaults = lib.llama_model_default_params

            def no_repack() -> Any:
                params = defaults()
                params.use_extra_bufts = False
                return params

            lib.llama_model_default_params = no_repack
        _active.append(config)
        return config
