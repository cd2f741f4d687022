"""llama.cpp CPU configurations on this machine: decode and prompt speed of each, and the probe's
choice against the fastest one that does not crash.

Each configuration runs in its own child (``keiko_desktop.llm.cpu_probe run``), so a variant that
dies of SIGILL is a row marked crashed, not a dead benchmark. Per round and configuration: a
short prompt then 200 greedy tokens (decode tokens/s), and a 1,000-token prompt in one batch
(seconds). Rounds interleave the configurations, so the machine's noise hits all of them alike.

Set ``KEIKO_BENCH_NATIVE_PYTHON`` to the python of a venv holding pip's default native build of
llama-cpp-python to add it (as ``native`` and ``native:no-repack``) to the table.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import summary, write_results
from keiko_desktop.llm import cpu_backends as cb
from keiko_desktop.llm.registry import locate_bundled_model

ROUNDS = int(os.environ.get("KEIKO_BENCH_ROUNDS", "3"))
THREADS = 2
DECODE = 200
LONG_PROMPT = 1000
ROOT = Path(__file__).resolve().parent.parent


def child(python: str, config: str, model: str, prompt: int, decode: int) -> dict[str, Any]:
    args = ["run", "--config", config, "--model", model, "--threads", str(THREADS)]
    args += ["--prompt-tokens", str(prompt), "--decode", str(decode)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = cb.run_child(args, 300, python=python, env=env)
    data = cb.last_json(result.stdout) if result.returncode == 0 else None
    if data is None:
        return {"ok": False, "detail": cb.describe_exit(result)}
    return data


def main() -> None:
    model = str(locate_bundled_model())
    planner = cb.CpuPlanner(
        Path(os.environ.get(cb.CACHE_ENV) or ROOT / "benchmarks" / "results" / "llama-cpu.json")
    )
    choice = planner.choose(model, THREADS, reprobe=True)
    scores = cb.probe_scores()
    order = cb.candidates(scores)
    with_repack = [c for c in order if c.repack]
    picked = with_repack[:4] + [c for c in with_repack if c.variant in ("haswell", "x64")]
    picked += [cb.CpuConfig(choice.config.variant, repack=False)]
    rows: dict[str, tuple[str, str]] = {c.id: (sys.executable, c.id) for c in picked}
    rows.setdefault(choice.config.id, (sys.executable, choice.config.id))
    native = os.environ.get("KEIKO_BENCH_NATIVE_PYTHON")
    if native:
        rows["native"] = (native, "builtin")
        rows["native:no-repack"] = (native, "builtin:no-repack")
    runs: dict[str, dict[str, list[Any]]] = {k: {"decode": [], "prompt": []} for k in rows}
    crashed: dict[str, str] = {}
    for i in range(ROUNDS):
        names = list(rows) if i % 2 == 0 else list(reversed(rows))
        for name in names:
            if name in crashed:
                continue
            python, config = rows[name]
            short = child(python, config, model, 32, DECODE)
            long = child(python, config, model, LONG_PROMPT, 1)
            if not short.get("ok") or not long.get("ok"):
                crashed[name] = str(short.get("detail") or long.get("detail"))
                continue
            runs[name]["decode"].append(short["decode_tokens_per_second"])
            runs[name]["prompt"].append(long["prompt_seconds"])
            print(name, short["decode_tokens_per_second"], long["prompt_seconds"], flush=True)
    table = {
        name: {"decode_tps": summary(r["decode"]), "prompt_1000_s": summary(r["prompt"])}
        for name, r in runs.items()
        if r["decode"]
    }
    fastest = max(table, key=lambda n: table[n]["decode_tps"]["median"])
    chosen = table.get(choice.config.id)
    safe = "native:no-repack" if "native:no-repack" in table else "haswell"
    headline: dict[str, Any] = {
        "chosen": choice.config.id,
        "probe_outcomes": [o.detail for o in choice.outcomes],
        "fastest_crash_free": fastest,
        "crashed": crashed,
    }
    if chosen is not None:
        headline["decode_ratio_chosen_over_fastest"] = (
            chosen["decode_tps"]["median"] / table[fastest]["decode_tps"]["median"]
        )
        if safe in table:
            headline[f"prompt_time_ratio_chosen_over_{safe}"] = (
                chosen["prompt_1000_s"]["median"] / table[safe]["prompt_1000_s"]["median"]
            )
    headline["targets"] = {"decode_ratio": ">= 0.95", "prompt_time_ratio": "<= 1.0"}
    write_results(
        "cpu",
        {
            "headline": headline,
            "table": table,
            "config": {"rounds": ROUNDS, "threads": THREADS, "decode": DECODE},
        },
    )


if __name__ == "__main__":
    main()
