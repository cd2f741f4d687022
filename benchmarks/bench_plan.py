"""How much the orchestrator's concurrency buys: a 6-step plan of three independent branches
(a1 -> a2, b1 -> b2, c1 -> c2) on a scripted executor whose steps sleep a known time.

Reported per concurrency: wall time, wall / sum of step times (1.0 = no overlap at all) and
wall / critical path (1.0 = as fast as the dependencies allow), plus the scheduling overhead
(wall minus the ideal for that concurrency). The steps sleep, so this measures the
orchestrator (ordering, checkpoints, spans), not a model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from benchmarks.common import summary, write_results
from keiko_desktop.core.agents.orchestrator import Orchestrator
from keiko_desktop.core.agents.plan import Checkpoint, Plan, PlanStep
from keiko_desktop.core.agents.trace import Tracer

STEP_SECONDS = {"a1": 0.20, "a2": 0.10, "b1": 0.15, "b2": 0.15, "c1": 0.10, "c2": 0.20}
PLAN = Plan(
    "bench",
    tuple(
        PlanStep(
            step_id, "Writer", f"step {step_id}", (f"{step_id[0]}1",) if step_id[1] == "2" else ()
        )
        for step_id in STEP_SECONDS
    ),
)
SUM = sum(STEP_SECONDS.values())
CRITICAL_PATH = max(STEP_SECONDS[f"{b}1"] + STEP_SECONDS[f"{b}2"] for b in "abc")
ROUNDS = 5


async def execute(step: PlanStep, inputs: Mapping[str, str], attempt: int) -> str:
    await asyncio.sleep(STEP_SECONDS[step.id])
    return f"{step.id} after {','.join(inputs) or '-'}"


async def one_run(concurrency: int) -> tuple[float, int]:
    checkpoints = 0

    async def store(checkpoint: Checkpoint, step_id: str) -> None:
        nonlocal checkpoints
        checkpoints += 1

    orchestrator = Orchestrator(
        execute,
        retry_policy=lambda agent: (0, 0.0),
        concurrency=concurrency,
        on_checkpoint=store,
        tracer=Tracer(run_id=0),
    )
    start = time.perf_counter()
    result = await orchestrator.run(PLAN)
    wall = time.perf_counter() - start
    assert result.status == "completed", result.report
    return wall, checkpoints


async def main() -> None:
    runs: dict[str, object] = {}
    medians: dict[int, float] = {}
    headline: dict[str, object] = {
        "sum_of_steps_s": round(SUM, 3),
        "critical_path_s": round(CRITICAL_PATH, 3),
    }
    for concurrency in (1, 2, 3):
        walls = []
        checkpoints = 0
        for _ in range(ROUNDS):
            wall, checkpoints = await one_run(concurrency)
            walls.append(wall)
        median = medians[concurrency] = summary(walls)["median"]
        runs[f"concurrency_{concurrency}"] = {
            "wall_s": summary(walls),
            "wall_over_sum": round(median / SUM, 3),
            "wall_over_critical_path": round(median / CRITICAL_PATH, 3),
            "checkpoints_per_run": checkpoints,
        }
        headline[f"c{concurrency}_wall_s"] = round(median, 3)
        headline[f"c{concurrency}_wall_over_sum"] = round(median / SUM, 3)
        headline[f"c{concurrency}_wall_over_critical_path"] = round(median / CRITICAL_PATH, 3)
    # With three branches and concurrency 3 the ideal is the critical path itself.
    headline["c3_overhead_ms"] = round((medians[3] - CRITICAL_PATH) * 1000, 1)
    write_results(
        "plan", {"headline": headline, "steps_s": STEP_SECONDS, "rounds": ROUNDS, "runs": runs}
    )


if __name__ == "__main__":
    asyncio.run(main())
