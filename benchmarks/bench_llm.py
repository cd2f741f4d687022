"""LLM streaming through Keiko's core versus raw llama-cpp-python, interleaved in one run.

Two raw baselines: ``create_chat_completion(stream=True)`` (what most apps call) and the bare
``Llama.generate`` token loop (the fastest llama-cpp-python can go).

Both sides: the bundled SmolLM2-135M model, the same system prompt and question, greedy sampling
(temperature 0), the same context size and threads. Keiko's side is the whole ChatService path
(user message and reply written to a real SQLite file, the reply flushed while it grows). Also:
the longest event-loop stall while a reply streams, and `keiko ask` from process start to first
token, cold.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import summary, write_results
from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.llm.cpu_backends import CpuPlanner, activate
from keiko_desktop.llm.registry import locate_bundled_model

SYSTEM = "You are a helpful assistant."
QUESTION = "Count from 1 to 100, separated by commas."
MAX_TOKENS = int(os.environ.get("KEIKO_BENCH_TOKENS", "160"))
ROUNDS = int(os.environ.get("KEIKO_BENCH_ROUNDS", "5"))
THREADS = 2
N_CTX = 2048


def raw_run(llm: Any) -> dict[str, float]:
    """One streamed reply straight from llama-cpp-python."""
    start = time.perf_counter()
    first = last = 0.0
    tokens = 0
    text = []
    for chunk in llm.create_chat_completion(
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
        temperature=0.0,
        max_tokens=MAX_TOKENS,
        stream=True,
    ):
        piece = chunk["choices"][0]["delta"].get("content")
        if not piece:
            continue
        now = time.perf_counter()
        if tokens == 0:
            first = now
        last = now
        tokens += 1
        text.append(piece)
    return {
        "ttft": first - start,
        "tokens": tokens,
        "decode_tps": (tokens - 1) / (last - first),
        "chars": len("".join(text)),
    }


def raw_prompt_tokens(llm: Any) -> list[int]:
    """The chat prompt rendered with the GGUF's template, as llama-cpp-python itself does."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm.detokenize([llm.token_eos()]).decode(),
        bos_token=llm.detokenize([llm.token_bos()]).decode(),
    )
    prompt = formatter(
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    ).prompt
    return list(llm.tokenize(prompt.encode(), add_bos=False, special=True))


def raw_generate_run(llm: Any, prompt: list[int]) -> dict[str, float]:
    """The lowest-level baseline: llama-cpp-python's token generator, greedy."""
    start = time.perf_counter()
    first = last = 0.0
    tokens = 0
    for token in llm.generate(prompt, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
        if token == llm.token_eos():
            break
        llm.detokenize([token])
        now = time.perf_counter()
        if tokens == 0:
            first = now
        last = now
        tokens += 1
        if tokens >= MAX_TOKENS:
            break
    return {"ttft": first - start, "tokens": tokens, "decode_tps": (tokens - 1) / (last - first)}


async def core_run(core: Any) -> dict[str, float]:
    """One streamed reply through ChatService (store writes included)."""
    stalls: list[float] = []
    streaming = True

    async def probe() -> None:
        while streaming:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - t - 0.001)

    prober = asyncio.create_task(probe())
    start = time.perf_counter()
    reply = await core.chat.send(None, QUESTION)
    first = last = 0.0
    pieces = 0
    async for _piece in reply:
        now = time.perf_counter()
        if pieces == 0:
            first = now
        last = now
        pieces += 1
    result = await reply.result()
    streaming = False
    await prober
    tokens = result.stats.completion_tokens
    return {
        "ttft": first - start,
        "tokens": tokens,
        "pieces": pieces,
        "decode_tps": (tokens - 1) / (last - first),
        "chars": len(result.text),
        "max_loop_stall_ms": max(stalls) * 1000,
    }


def cold_ask(home: Path) -> float:
    """Seconds from process start to the first byte of the answer on stdout."""
    env = dict(os.environ, KEIKO_HOME=str(home), PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "ask", "Say hello."],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    proc.stdout.read(1)
    elapsed = time.perf_counter() - start
    proc.communicate(timeout=120)
    return elapsed


async def main() -> None:
    from llama_cpp import Llama

    model_path = str(locate_bundled_model())
    # Raw llama-cpp-python on this build must load a CPU variant first: the one Keiko chose.
    activate(CpuPlanner.default().choose(model_path, THREADS).config)
    raw = Llama(model_path=model_path, n_ctx=N_CTX, n_threads=THREADS, verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(Path(tmp) / "c", Path(tmp) / "d", Path(tmp) / "x")
        settings = Settings(
            system_prompt=SYSTEM,
            temperature=0.0,
            max_tokens=MAX_TOKENS,
            context_size=N_CTX,
            threads=THREADS,
        )
        core = await build_core(paths, settings)
        await core.models.get()
        prompt = raw_prompt_tokens(raw)
        raw_run(raw)  # warm every side once
        raw_generate_run(raw, prompt)
        await core_run(core)
        raws: list[dict[str, float]] = []
        gens: list[dict[str, float]] = []
        cores: list[dict[str, float]] = []
        for i in range(ROUNDS):
            for side in ("raw", "generate", "core")[:: 1 if i % 2 == 0 else -1]:
                if side == "raw":
                    raws.append(raw_run(raw))
                elif side == "generate":
                    gens.append(raw_generate_run(raw, prompt))
                else:
                    cores.append(await core_run(core))
        await core.aclose()
    del raw

    with tempfile.TemporaryDirectory() as tmp:
        cold = [cold_ask(Path(tmp) / f"h{i}") for i in range(3)]

    gen_tps = summary([g["decode_tps"] for g in gens])
    raw_tps = summary([r["decode_tps"] for r in raws])
    core_tps = summary([c["decode_tps"] for c in cores])
    raw_ttft = summary([r["ttft"] * 1000 for r in raws])
    core_ttft = summary([c["ttft"] * 1000 for c in cores])
    stall = summary([c["max_loop_stall_ms"] for c in cores])
    headline = {
        "decode_tps_ratio_core_over_raw": core_tps["median"] / raw_tps["median"],
        "decode_tps_ratio_core_over_raw_generate": core_tps["median"] / gen_tps["median"],
        "raw_decode_tps_median": raw_tps["median"],
        "raw_generate_decode_tps_median": gen_tps["median"],
        "core_decode_tps_median": core_tps["median"],
        "ttft_added_ms_median": core_ttft["median"] - raw_ttft["median"],
        "raw_ttft_ms_median": raw_ttft["median"],
        "core_ttft_ms_median": core_ttft["median"],
        "max_loop_stall_ms_worst": stall["max"],
        "max_loop_stall_ms_median": stall["median"],
        "cold_ask_first_token_s": cold,
        "targets": {"ratio": ">= 0.97", "ttft_added_ms": "<= 20", "loop_stall_ms": "< 10"},
    }
    write_results(
        "llm",
        {
            "headline": headline,
            "config": {"max_tokens": MAX_TOKENS, "rounds": ROUNDS, "threads": THREADS},
            "raw_chat_completion": raws,
            "raw_generate": gens,
            "core": cores,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
