"""Overhead of the agent runner and its middleware per step, against a bare model call.

The same prompt, the bundled model, greedy decoding with a fixed token count, so both do the
same work: (1) bare: ``model.generate`` read to its end; (2) runner: ``AgentRunner.complete``
with the whole default middleware onion and an in-memory tracer; (3) service: a full
``AgentService.start_run`` (a stored run, its spans written to SQLite, status events). Runs
alternate, so drift on this shared machine hits all three alike. Ratio = median time ÷ bare
median time (target: runner ≤ 1.05). The order rotates each round.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import summary, write_results
from keiko_desktop.app import build_core
from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.agents.runner import AgentRunner
from keiko_desktop.core.agents.trace import Tracer
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.ports import ChatMessage, GenerationParams

PROMPT = "Write a few sentences about the sea."
TOKENS = 96
ROUNDS = 15
PROFILE = AgentProfile(
    "Bench", system_prompt="You are a writer.", temperature=0.0, max_tokens=TOKENS, retries=0
)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(Path(tmp) / "c", Path(tmp) / "d", Path(tmp) / "x")
        core = await build_core(paths, Settings(threads=2))
        assert core.agents is not None
        await core.agents.save_agent(PROFILE)
        model = await core.models.get()
        messages = [ChatMessage("system", PROFILE.system_prompt), ChatMessage("user", PROMPT)]
        # A stop nobody meets and no end-of-text: every reply is TOKENS long (checked below).
        params = GenerationParams(temperature=0.0, max_tokens=TOKENS, seed=1)
        times: dict[str, list[float]] = {"bare": [], "runner": [], "service": []}
        tokens: dict[str, list[int]] = {"bare": [], "runner": [], "service": []}

        async def bare() -> int:
            generation = model.generate(messages, params)
            async for _ in generation:
                pass
            return generation.stats.completion_tokens

        async def runner() -> int:
            run = AgentRunner(model, None, profile=PROFILE, tracer=Tracer(0))
            done = await run.complete(messages, [], params)
            return done.stats.completion_tokens

        async def service() -> int:
            assert core.agents is not None
            handle = core.agents.start_run("Bench", PROMPT)
            outcome = await handle.result()
            spans = await core.agents.spans(outcome.run_id)
            return sum(s.completion_tokens for s in spans)

        await bare()  # warm up
        order = [("bare", bare), ("runner", runner), ("service", service)]
        for n in range(ROUNDS):
            for name, fn in order[n % 3 :] + order[: n % 3]:  # each goes first as often
                start = time.perf_counter()
                tokens[name].append(await fn())
                times[name].append(time.perf_counter() - start)
        await core.aclose()
    base = statistics.median(times["bare"])
    headline = {
        "runner_over_bare": round(statistics.median(times["runner"]) / base, 3),
        "service_over_bare": round(statistics.median(times["service"]) / base, 3),
        "bare_median_s": round(base, 3),
        "tokens_per_reply": {k: statistics.median(v) for k, v in tokens.items()},
    }
    write_results(
        "agent_step",
        {
            "headline": headline,
            "seconds": {k: summary(v) for k, v in times.items()},
            "rounds": ROUNDS,
            "max_tokens": TOKENS,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
