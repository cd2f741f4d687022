"""A remote (OpenAI-compatible) model through Keiko versus a bare client, interleaved.

The server: ``llama_cpp.server`` with the bundled SmolLM2-135M model on this machine
(tests/helpers/llama_server.py). The same prompt, greedy, the same token limit, N rounds
alternating: Keiko's ``OpenAIChatModel.generate`` (its own task reading the SSE stream and
handing pieces over a queue) against a bare ``httpx2`` client reading the SSE lines itself.
Both keep their connection alive across rounds. Reported: decode tokens/s of each (content
chunks after the first over the time after the first), their ratio (target >= 0.97), and the
first-token delay Keiko adds (target <= 10 ms).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from typing import Any

import httpx2

from benchmarks.common import summary, write_results
from keiko_desktop.core.endpoints import Endpoint
from keiko_desktop.core.ports import ChatMessage, GenerationParams
from keiko_desktop.llm.openai_client import OpenAIClient
from keiko_desktop.llm.openai_model import OpenAIChatModel
from tests.helpers.llama_server import llama_server

SYSTEM = "You are a helpful assistant."
QUESTION = "Count from 1 to 100, separated by commas."
MAX_TOKENS = int(os.environ.get("KEIKO_BENCH_TOKENS", "160"))
ROUNDS = int(os.environ.get("KEIKO_BENCH_ROUNDS", "8"))
THREADS = int(os.environ.get("KEIKO_BENCH_SERVER_THREADS", "1"))
"""One server thread leaves a core to the client, as a server on another machine would."""
RATIO_TARGET = 0.97
FIRST_TOKEN_TARGET_MS = 10.0


def _result(start: float, first: float, last: float, tokens: int, cpu: float) -> dict[str, float]:
    decode = last - first
    return {
        "client_cpu_us_per_token": (time.process_time() - cpu) * 1e6 / max(1, tokens),
        "first_token_ms": (first - start) * 1000,
        "tokens": tokens,
        "tokens_per_second": (tokens - 1) / decode if tokens > 1 and decode > 0 else 0.0,
        "total_ms": (last - start) * 1000,
    }


async def bare_run(http: httpx2.AsyncClient, url: str, model_id: str) -> dict[str, float]:
    body = {
        "model": model_id,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
        "stream": True,
        "temperature": 0.0,
        "max_tokens": MAX_TOKENS,
    }
    start = time.perf_counter()
    cpu = time.process_time()
    first = last = 0.0
    tokens = 0
    async with http.stream("POST", f"{url}/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                break
            choices = json.loads(data).get("choices") or [{}]
            piece = choices[0].get("delta", {}).get("content")
            if piece:
                last = time.perf_counter()
                if not tokens:
                    first = last
                tokens += 1
    return _result(start, first, last, tokens, cpu)


async def keiko_run(model: OpenAIChatModel) -> dict[str, float]:
    messages = [ChatMessage("system", SYSTEM), ChatMessage("user", QUESTION)]
    params = GenerationParams(temperature=0.0, max_tokens=MAX_TOKENS)
    start = time.perf_counter()
    cpu = time.process_time()
    first = last = 0.0
    tokens = 0
    async for _piece in model.generate(messages, params):
        last = time.perf_counter()
        if not tokens:
            first = last
        tokens += 1
    return _result(start, first, last, tokens, cpu)


async def measure(url: str, model_id: str) -> dict[str, Any]:
    client = OpenAIClient(Endpoint("bench", url, timeout=120), lambda: None)
    model = OpenAIChatModel(client, model_id, f"bench/{model_id}", 2048)
    runs: dict[str, list[dict[str, float]]] = {"keiko": [], "bare": []}
    async with httpx2.AsyncClient(timeout=120) as http:
        await bare_run(http, url, model_id)  # warm both connections and the server's cache
        await keiko_run(model)
        for n in range(ROUNDS):
            order = ("keiko", "bare") if n % 2 == 0 else ("bare", "keiko")
            for side in order:
                run = await (keiko_run(model) if side == "keiko" else bare_run(http, url, model_id))
                runs[side].append(run)
                print(
                    f"round {n + 1} {side:5}: {run['tokens']:.0f} tokens, "
                    f"{run['tokens_per_second']:.1f} tok/s, first {run['first_token_ms']:.1f} ms",
                    flush=True,
                )
    await model.aclose()
    return runs


def main() -> None:
    with llama_server(threads=THREADS) as server:
        runs = asyncio.run(measure(server.url, server.model_id))
    keiko_tps = statistics.median(r["tokens_per_second"] for r in runs["keiko"])
    bare_tps = statistics.median(r["tokens_per_second"] for r in runs["bare"])
    keiko_first = statistics.median(r["first_token_ms"] for r in runs["keiko"])
    bare_first = statistics.median(r["first_token_ms"] for r in runs["bare"])
    ratio = keiko_tps / bare_tps if bare_tps else 0.0
    # each round's pair ran back to back: their ratio is less disturbed by a busy machine
    paired = statistics.median(
        k["tokens_per_second"] / b["tokens_per_second"]
        for k, b in zip(runs["keiko"], runs["bare"], strict=True)
        if b["tokens_per_second"]
    )
    paired_first = statistics.median(
        k["first_token_ms"] - b["first_token_ms"]
        for k, b in zip(runs["keiko"], runs["bare"], strict=True)
    )
    cpu = {
        side: statistics.median(r["client_cpu_us_per_token"] for r in runs[side])
        for side in ("keiko", "bare")
    }
    added = keiko_first - bare_first
    headline = {
        "keiko_tokens_per_second": round(keiko_tps, 1),
        "bare_tokens_per_second": round(bare_tps, 1),
        "ratio": round(ratio, 3),
        "paired_ratio": round(paired, 3),
        "ratio_target": RATIO_TARGET,
        "first_token_added_ms": round(added, 2),
        "paired_first_token_added_ms": round(paired_first, 2),
        "first_token_target_ms": FIRST_TOKEN_TARGET_MS,
        "client_cpu_us_per_token": {k: round(v, 1) for k, v in cpu.items()},
        "meets_targets": paired >= RATIO_TARGET and paired_first <= FIRST_TOKEN_TARGET_MS,
    }
    write_results(
        "remote",
        {
            "headline": headline,
            "settings": {"max_tokens": MAX_TOKENS, "rounds": ROUNDS, "server_threads": THREADS},
            "keiko": {
                "tokens_per_second": summary([r["tokens_per_second"] for r in runs["keiko"]]),
                "first_token_ms": summary([r["first_token_ms"] for r in runs["keiko"]]),
            },
            "bare": {
                "tokens_per_second": summary([r["tokens_per_second"] for r in runs["bare"]]),
                "first_token_ms": summary([r["first_token_ms"] for r in runs["bare"]]),
            },
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
