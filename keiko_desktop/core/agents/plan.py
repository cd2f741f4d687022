"""Plans: steps (id, agent, instruction, depends_on), their checks, and a run's checkpoint.

A ``Plan`` is what the coordinator proposes and the user edits. ``check_plan`` refuses one
that names an unknown agent, repeats an id, depends on a missing step or on itself through a
cycle. ``Checkpoint`` is what a run has done so far (per step: status, output, attempts,
error); it is stored after every step, so a run interrupted by a crash or a quit resumes from
its last completed step without redoing the finished ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from keiko_desktop.core.agents.errors import PlanError

STEP_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_STEPS = 50
MAX_INSTRUCTION = 4000
MAX_GOAL = 8000

StepStatus = Literal["pending", "running", "done", "failed", "skipped", "cancelled"]


@dataclass(frozen=True)
class PlanStep:
    id: str
    agent: str
    instruction: str
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    goal: str
    steps: tuple[PlanStep, ...] = ()

    def step(self, step_id: str) -> PlanStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "goal": self.goal,
            "steps": [
                {
                    "id": s.id,
                    "agent": s.agent,
                    "instruction": s.instruction,
                    "depends_on": list(s.depends_on),
                }
                for s in self.steps
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def plan_from_data(data: Any, goal: str = "") -> Plan:
    """A plan from JSON data: ``{"steps": [...]}`` (or a bare list of steps); PlanError names
    the step and field at fault. Not checked against agents (see ``check_plan``)."""
    if isinstance(data, list):
        data = {"steps": data}
    if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
        raise PlanError("The plan must be a JSON object with a list of steps.")
    goal = data.get("goal", goal) if isinstance(data.get("goal", goal), str) else goal
    raw = data["steps"]
    if len(raw) > MAX_STEPS:
        raise PlanError(f"The plan has {len(raw)} steps; at most {MAX_STEPS} are allowed.")
    steps = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise PlanError(f"Step {i + 1} must be a JSON object.")
        values = {}
        for key in ("id", "agent", "instruction"):
            value = item.get(key)
            if not isinstance(value, str):
                raise PlanError(f"Step {i + 1}: '{key}' must be text.")
            values[key] = value.strip()
        deps = item.get("depends_on", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise PlanError(f"Step {i + 1}: 'depends_on' must be a list of step ids.")
        steps.append(PlanStep(values["id"], values["agent"], values["instruction"], tuple(deps)))
    return Plan(goal[:MAX_GOAL], tuple(steps))


def plan_from_json(text: str, goal: str = "") -> Plan:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise PlanError(
            "The plan is not valid JSON.", "Ask for a new plan, or fix it by hand."
        ) from None
    return plan_from_data(data, goal)


def check_plan(plan: Plan, agents: Iterable[str]) -> Plan:
    """``plan`` if every step is runnable: a valid unique id, a known agent, an instruction,
    dependencies on earlier-listed or later steps that exist, and no cycle. PlanError naming
    the first problem otherwise."""
    known = set(agents)
    if not plan.steps:
        raise PlanError("The plan has no steps.", "Add a step.")
    if len(plan.steps) > MAX_STEPS:
        raise PlanError(f"The plan has {len(plan.steps)} steps; at most {MAX_STEPS}.")
    ids: set[str] = set()
    for n, step in enumerate(plan.steps, 1):
        if not STEP_ID.fullmatch(step.id):
            raise PlanError(
                f"Step {n}: the id {step.id!r} must be 1 to 32 letters, digits, - or _."
            )
        if step.id in ids:
            raise PlanError(f"Step {n}: the id {step.id!r} is used twice.")
        ids.add(step.id)
        if step.agent not in known:
            raise PlanError(
                f"Step {step.id}: there is no agent named {step.agent!r}.",
                f"Choose one of: {', '.join(sorted(known))}.",
            )
        if not step.instruction.strip():
            raise PlanError(f"Step {step.id}: the instruction is empty.")
        if len(step.instruction) > MAX_INSTRUCTION:
            raise PlanError(
                f"Step {step.id}: the instruction is over {MAX_INSTRUCTION} characters."
            )
    for step in plan.steps:
        for dep in step.depends_on:
            if dep not in ids:
                raise PlanError(f"Step {step.id} depends on {dep!r}, which is not a step.")
            if dep == step.id:
                raise PlanError(f"Step {step.id} depends on itself.")
    order = execution_order(plan)  # raises on a cycle
    assert len(order) == len(plan.steps)
    return plan


def execution_order(plan: Plan) -> list[str]:
    """Step ids, each after its dependencies (plan order among equals); PlanError on a cycle."""
    done: list[str] = []
    left = list(plan.steps)
    while left:
        ready = [s for s in left if all(d in done for d in s.depends_on)]
        if not ready:
            cycle = ", ".join(s.id for s in left)
            raise PlanError(f"The steps {cycle} depend on each other in a circle.")
        done.append(ready[0].id)
        left.remove(ready[0])
    return done


@dataclass(frozen=True)
class StepState:
    status: StepStatus = "pending"
    output: str = ""
    attempts: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    """Each step's state, by id; stored as JSON after every step."""

    steps: Mapping[str, StepState] = field(default_factory=dict)

    def state(self, step_id: str) -> StepState:
        return self.steps.get(step_id, StepState())

    def with_step(self, step_id: str, state: StepState) -> Checkpoint:
        return Checkpoint({**self.steps, step_id: state})

    def done(self) -> set[str]:
        return {k for k, v in self.steps.items() if v.status == "done"}

    def for_resume(self) -> Checkpoint:
        """The steps done stay done; everything else starts again (attempts kept)."""
        return Checkpoint(
            {
                k: v if v.status == "done" else replace(v, status="pending", error=None)
                for k, v in self.steps.items()
            }
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                k: {
                    "status": v.status,
                    "output": v.output,
                    "attempts": v.attempts,
                    "error": v.error,
                }
                for k, v in self.steps.items()
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | None) -> Checkpoint:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            {
                k: StepState(v["status"], v.get("output", ""), v.get("attempts", 0), v.get("error"))
                for k, v in data.items()
            }
        )
