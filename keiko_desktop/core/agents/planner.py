"""The coordinator: a model splits a goal into plan steps for the agents there are.

``propose_plan`` asks the model for JSON constrained by ``plan_grammar``, a GBNF grammar
written for the agents at hand::

    {"steps": [{"id": "s1", "agent": "Researcher", "instruction": "...", "depends_on": []},
               {"id": "s2", "agent": "Writer", "instruction": "...", "depends_on": ["s1"]}]}

The grammar admits only the real agent names, 1 to ``max_steps`` steps numbered s1, s2, … in
order, ``depends_on`` naming only earlier steps (so every plan it admits is a DAG), and
instructions of at most ``max_instruction`` characters (a tiny model cannot ramble on until the
token limit). A backend that cannot constrain ignores the grammar, so the reply is repaired
anyway where that is safe (``repair_plan``): duplicate ids renumbered, dependencies on unknown
or later steps dropped, an empty instruction replaced by the goal; then ``check_plan`` decides.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace

from keiko_desktop.core.agents.errors import PlanError
from keiko_desktop.core.agents.plan import (
    MAX_GOAL,
    MAX_INSTRUCTION,
    MAX_STEPS,
    STEP_ID,
    Plan,
    PlanStep,
    check_plan,
    plan_from_json,
)
from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.ports import ChatMessage, ChatModel, GenerationParams
from keiko_desktop.core.safe_text import one_line

log = logging.getLogger(__name__)

DEFAULT_MAX_STEPS = 5
"""Steps a proposed plan may have. The grammar grows with it, and llama.cpp pays for that on
every token: with the bundled model, 8 steps cost about 630 ms a token, 5 about 48 ms."""
MAX_PLAN_INSTRUCTION = 200
"""Characters a proposed instruction may take (the grammar's bound; an edited plan may hold
up to ``plan.MAX_INSTRUCTION``)."""
RETRY_TOKENS = 4096
"""The token limit of the one retry after a plan was cut off."""


def _gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal (quotes, backslashes and controls escaped)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _json_string_literal(text: str) -> str:
    """The GBNF literal that matches ``text`` written as a JSON string."""
    return _gbnf_literal(json.dumps(text, ensure_ascii=False))


def plan_grammar(
    agent_names: Sequence[str],
    max_steps: int = DEFAULT_MAX_STEPS,
    max_instruction: int = MAX_PLAN_INSTRUCTION,
) -> str:
    """A GBNF grammar for a plan over ``agent_names`` (see the module docs).

    Step k is rule ``stepk``: its id is the literal ``"sk"`` and its ``depends_on`` lists only
    ``s1`` … ``s(k-1)``; the steps nest (``step1 ("," step2 ("," step3 …)?)?``), so the plan
    ends after any step. Whitespace between tokens is bounded too."""
    names = list(dict.fromkeys(agent_names))
    if not names:
        raise PlanError("There are no agents to plan for.", "Create an agent first.")
    if not 1 <= max_steps <= MAX_STEPS:
        raise PlanError(f"A plan may have 1 to {MAX_STEPS} steps, not {max_steps}.")
    if not 1 <= max_instruction <= MAX_INSTRUCTION:
        raise PlanError(f"An instruction may have 1 to {MAX_INSTRUCTION} characters.")
    lines = [
        'root ::= "{" ws "\\"steps\\"" ws ":" ws "[" ws steps ws "]" ws "}"',
        "agent ::= " + " | ".join(_json_string_literal(name) for name in names),
        f'instruction ::= "\\"" char{{1,{max_instruction}}} "\\""',
        'char ::= [^"\\\\\\x00-\\x1F\\x7F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})',
        "ws ::= [ \\t\\n]{0,12}",
    ]
    nested = f"step{max_steps}"
    for k in range(max_steps - 1, 0, -1):
        nested = f'step{k} (ws "," ws {nested})?'
    lines.append(f"steps ::= {nested}")
    for k in range(1, max_steps + 1):
        lines.append(
            f'step{k} ::= "{{" ws "\\"id\\"" ws ":" ws "\\"s{k}\\"" ws "," ws '
            '"\\"agent\\"" ws ":" ws agent ws "," ws '
            '"\\"instruction\\"" ws ":" ws instruction ws "," ws '
            f'"\\"depends_on\\"" ws ":" ws deps{k} ws "}}"'
        )
        if k == 1:
            lines.append('deps1 ::= "[" ws "]"')
        else:
            earlier = " | ".join(f'"\\"s{j}\\""' for j in range(1, k))
            lines.append(f"id{k} ::= {earlier}")
            repeat = f'(ws "," ws id{k}){{0,{k - 2}}}' if k > 2 else ""
            lines.append(f'deps{k} ::= "[" ws ( id{k} {repeat} ws )? "]"'.replace("  ", " "))
    return "\n".join(lines) + "\n"


_SYSTEM = """You are the coordinator. Split the user's goal into a short plan of steps. Each \
step is done by one of these agents:
{agents}
Use only those agent names, exactly as written. Give each step one clear instruction for its \
agent. A step that needs the result of earlier steps lists their ids in "depends_on"; steps \
that do not depend on each other can run at the same time. Use as few steps as the goal needs \
(at most {max_steps}). The goal is in the user's message: plan for it, do not answer it.
Reply with JSON only, like:
{{"steps": [{{"id": "s1", "agent": {first}, "instruction": "...", "depends_on": []}}, \
{{"id": "s2", "agent": {first}, "instruction": "...", "depends_on": ["s1"]}}]}}"""


def plan_messages(
    goal: str, agents: Sequence[AgentProfile], max_steps: int = DEFAULT_MAX_STEPS
) -> list[ChatMessage]:
    """The coordinator's prompt: the agents (name, description, tags; one line each, escaped)
    in the system message, the goal alone in the user message, as data."""
    if not agents:
        raise PlanError("There are no agents to plan for.", "Create an agent first.")
    rows = []
    for agent in agents:
        row = f"- {json.dumps(agent.name, ensure_ascii=False)}"
        if agent.description:
            row += f": {one_line(agent.description, 200)}"
        if agent.tags:
            row += f" (tags: {one_line(', '.join(agent.tags), 120)})"
        rows.append(row)
    system = _SYSTEM.format(
        agents="\n".join(rows),
        max_steps=max_steps,
        first=json.dumps(agents[0].name, ensure_ascii=False),
    )
    return [ChatMessage("system", system), ChatMessage("user", goal)]


def _parse(text: str, goal: str) -> Plan:
    """The plan in ``text``; a reply that wraps the JSON in prose or a code fence (a backend
    without grammars) is cut to its outermost braces first."""
    try:
        return plan_from_json(text, goal)
    except PlanError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise
        return plan_from_json(text[start : end + 1], goal)


def repair_plan(plan: Plan, agents: Sequence[str], max_steps: int = MAX_STEPS) -> Plan:
    """Fix what a grammar cannot enforce (or a backend ignored): at most ``max_steps`` steps;
    an id that is invalid or used before becomes the next free ``sN``; ``depends_on`` keeps
    only earlier steps (by the id they were given, the nearest one when repeated), once each;
    an agent named in another case becomes the real name; an empty instruction becomes the
    goal, an overlong one is cut. Not checked (``check_plan`` does that)."""
    by_fold = {name.casefold(): name for name in agents}
    taken = {s.id for s in plan.steps if STEP_ID.fullmatch(s.id)}
    used: set[str] = set()
    earlier: dict[str, str] = {}  # the id a step was given -> its id now
    counter = 0
    steps = []
    for step in plan.steps[:max_steps]:
        new_id = step.id
        if new_id in used or not STEP_ID.fullmatch(new_id):
            while True:
                counter += 1
                new_id = f"s{counter}"
                if new_id not in taken and new_id not in used:
                    break
        used.add(new_id)
        deps = tuple(dict.fromkeys(earlier[d] for d in step.depends_on if d in earlier))
        earlier[step.id] = new_id
        agent = by_fold.get(step.agent.casefold(), step.agent)
        if step.agent in agents:
            agent = step.agent
        instruction = step.instruction.strip() or plan.goal.strip()
        steps.append(PlanStep(new_id, agent, instruction[:MAX_INSTRUCTION], deps))
    return replace(plan, steps=tuple(steps))


async def _generate(
    model: ChatModel, messages: list[ChatMessage], params: GenerationParams
) -> tuple[str, str]:
    generation = model.generate(messages, params)
    text = "".join([piece async for piece in generation])
    return text, generation.stats.finish_reason


async def propose_plan(
    model: ChatModel,
    goal: str,
    agents: Sequence[AgentProfile],
    *,
    seed: int | None = None,
    max_tokens: int = 768,
    temperature: float = 0.3,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Plan:
    """A checked plan toward ``goal`` for ``agents``, proposed by ``model``.

    A reply cut off by ``max_tokens`` (a tiny model repeating itself inside an instruction)
    is asked for once more, with ``RETRY_TOKENS`` and the next seed. PlanError
    when the goal is empty or too long, or the reply still is not a usable plan (the message
    says why). A model that fails raises its own error (``GenerationError``)."""
    goal = goal.strip()
    if not goal:
        raise PlanError("The goal is empty.", "Say what the agents should do.")
    if len(goal) > MAX_GOAL:
        raise PlanError(
            f"The goal is {len(goal):,} characters long; at most {MAX_GOAL:,} are allowed.",
            "Shorten it, or put the details in a file an agent can read.",
        )
    names = [agent.name for agent in agents]
    messages = plan_messages(goal, agents, max_steps)
    params = GenerationParams(
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        grammar=plan_grammar(names, max_steps),
    )
    text, reason = await _generate(model, messages, params)
    if reason == "length" and max_tokens < RETRY_TOKENS:
        log.info("plan cut off at %d tokens; asking again with %d", max_tokens, RETRY_TOKENS)
        # Another seed: the same one replays the loop a tiny model got stuck in.
        again = None if seed is None else seed + 1
        params = replace(params, max_tokens=RETRY_TOKENS, seed=again)
        text, reason = await _generate(model, messages, params)
    if reason == "length":
        raise PlanError(
            f"The plan was cut off after {params.max_tokens} tokens.",
            "Ask again, or write the plan by hand.",
        )
    if reason == "cancelled":
        raise PlanError("Making the plan was stopped.", "Ask again.")
    try:
        plan = _parse(text, goal)
    except PlanError as exc:
        raise PlanError(
            f"The model did not write a usable plan: {exc.message}",
            "Ask again (another try often works), or write the plan by hand.",
        ) from None
    plan = repair_plan(plan, names, max_steps)
    try:
        return check_plan(plan, names)
    except PlanError as exc:
        raise PlanError(
            f"The model's plan cannot run: {exc.message}",
            exc.hint or "Ask again, or edit the plan.",
        ) from None
