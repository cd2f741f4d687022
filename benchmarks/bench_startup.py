"""`keiko ask` as a whole process against a plain llama-cpp-python script, interleaved.

Both answer the same question with the bundled model, greedy, 64 tokens, 2 threads, in a fresh
process each run; the figure is wall time from start to exit (medians of interleaved runs).
Both send the same messages (Keiko's default system prompt and the question). The raw script
loads the same llama.cpp CPU variant Keiko's probe chose (the least a script
using this build must do), then calls ``create_chat_completion``. Keiko's side is the real
command: settings, the SQLite store (the question and the answer written), the model, output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import summary, write_results
from keiko_desktop.core.config import Settings
from keiko_desktop.llm import cpu_backends as cb
from keiko_desktop.llm.registry import locate_bundled_model

ROUNDS = int(os.environ.get("KEIKO_BENCH_ROUNDS", "7"))
QUESTION = "Count from 1 to 100, separated by commas."
TOKENS = 64
THREADS = 2

RAW = """
import ctypes, sys
lib, variant, model, question, tokens, threads, system = sys.argv[1:8]
if variant:
    import llama_cpp
    ctypes.CDLL(lib).ggml_backend_load(variant.encode())
from llama_cpp import Llama
llm = Llama(model_path=model, n_ctx=4096, n_threads=int(threads), verbose=False)
out = llm.create_chat_completion(
    messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
    temperature=0.0,
    max_tokens=int(tokens),
)
print(out["choices"][0]["message"]["content"])
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=300)
    return time.perf_counter() - start


def main() -> None:
    model = str(locate_bundled_model())
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cpu.json"
        choice = cb.CpuPlanner(cache).choose(model, THREADS)
        variants = cb.variant_files(cb.lib_dir())
        variant = str(variants.get(choice.config.variant, ""))
        lib = str(cb._ggml_library()._name) if variants else ""
        home = Path(tmp) / "home"
        env = {
            **os.environ,
            "KEIKO_HOME": str(home),
            cb.CACHE_ENV: str(cache),
            cb.OVERRIDE_ENV: choice.config.id,
        }
        raw_cmd = [sys.executable, "-c", RAW, lib, variant, model, QUESTION, str(TOKENS)]
        raw_cmd += [str(THREADS), Settings().system_prompt]  # the messages Keiko sends
        keiko_cmd = [sys.executable, "-m", "keiko_desktop", "ask", QUESTION]
        keiko_cmd += ["--temperature", "0", "--max-tokens", str(TOKENS)]
        settings = home / "config" / "settings.toml"
        settings.parent.mkdir(parents=True)
        settings.write_text(f"schema_version = 2\n[model]\nthreads = {THREADS}\n")
        timed(raw_cmd, env)  # warm the page cache for both
        timed(keiko_cmd, env)
        raw: list[float] = []
        ours: list[float] = []
        for i in range(ROUNDS):
            pair = [("raw", raw_cmd), ("keiko", keiko_cmd)]
            for name, cmd in pair if i % 2 == 0 else reversed(pair):
                (raw if name == "raw" else ours).append(timed(cmd, env))
    raw_s, ours_s = summary(raw), summary(ours)
    headline = {
        "ask_over_raw_script": ours_s["median"] / raw_s["median"],
        "keiko_ask_s_median": ours_s["median"],
        "raw_script_s_median": raw_s["median"],
        "cpu_config": choice.config.id,
        "target": "<= 1.2",
    }
    write_results("startup", {"headline": headline, "raw_s": raw, "keiko_ask_s": ours})


if __name__ == "__main__":
    main()
