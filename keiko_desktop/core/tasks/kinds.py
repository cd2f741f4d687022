"""Task kinds: what a task does, its parameters with their bounds, and the registry.

A kind is a ``TaskKind``: a name, a label, its ``Param`` declarations and an async ``run``
handler. ``TaskKinds.check`` refuses an unknown kind or bad parameters when a task is added
(``TaskParamError`` naming the field) and gives the parameters normalized (defaults filled,
numbers as numbers), so a handler only ever sees checked values. Every kind Keiko ships is
registered in one place, ``builtin.builtin_kinds``.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from keiko_desktop.core.tasks.errors import TaskParamError
from keiko_desktop.core.tasks.records import NewTask, TaskRecord

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from keiko_desktop.core.agents.service import AgentService
    from keiko_desktop.core.config import Settings
    from keiko_desktop.core.ports import ChatModel
    from keiko_desktop.core.tools.service import ToolService
    from keiko_desktop.core.voice.service import VoiceService

ParamType = Literal["text", "int", "float", "bool", "choice", "path", "folder", "json", "time"]
MAX_TEXT = 20_000
"""Characters of a text parameter at most (unless the param says less)."""
MAX_JSON = 64_000
MAX_PARAMS = 32


@dataclass(frozen=True)
class Param:
    """One parameter. ``minimum``/``maximum`` bound numbers; ``max_length`` bounds text;
    ``choices`` lists allowed values of a ``choice``; ``path``/``folder`` are absolute after
    ``~`` expansion (existence is the handler's business: the file may come later)."""

    name: str
    type: ParamType
    label: str
    required: bool = True
    default: Any = None
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = MAX_TEXT
    choices: tuple[str, ...] = ()
    multiline: bool = False


@dataclass(frozen=True)
class Done:
    """A task's work is done: ``result`` is stored (and shown), ``run_id`` links a trace."""

    result: str = ""
    run_id: int | None = None


@dataclass(frozen=True)
class Spawn:
    """The task made child tasks; it finishes when they all have (progress: how many have).
    Children with the same idempotency key as existing ones are not added again."""

    children: Sequence[NewTask]
    summary: str = ""


Outcome = Done | Spawn


class TaskContext:
    """What a running attempt gets: its task, progress reporting, and the services.

    ``progress`` may be called as often as wished (the engine throttles it) from the loop
    thread; code in a worker thread calls ``progress_threadsafe`` and checks
    ``cancel_event`` between pieces of work (set when the task is cancelled or times out).
    """

    def __init__(
        self,
        task: TaskRecord,
        services: TaskServices,
        report: Callable[[float, str], None],
        link_run: Callable[[int], Awaitable[None]],
        loop_call: Callable[..., object] | None = None,
    ) -> None:
        self.task = task
        self.services = services
        self.cancel_event = threading.Event()
        self._report = report
        self._link_run = link_run
        self._loop_call = loop_call

    @property
    def attempt(self) -> int:
        return self.task.attempts

    def progress(self, percent: float, text: str = "") -> None:
        if not math.isfinite(percent):
            percent = 0.0
        self._report(min(100.0, max(0.0, float(percent))), text[:300])

    def progress_threadsafe(self, percent: float, text: str = "") -> None:
        if self._loop_call is None:
            self.progress(percent, text)
        else:
            self._loop_call(self.progress, percent, text)

    async def link_run(self, run_id: int) -> None:
        """Store that this task's trace is agent run ``run_id`` (shown in its detail)."""
        await self._link_run(run_id)


@dataclass
class TaskServices:
    """The services kinds use, wired by the composition root (``app.build_tasks``)."""

    settings: Callable[[], Settings]
    agents: AgentService | None = None
    tools: Callable[[], Awaitable[ToolService | None]] | None = None
    """Starts the tool system if needed and gives it (None: no tools)."""
    model: Callable[[], AbstractAsyncContextManager[ChatModel]] | None = None
    """A lease on the chat's model (summaries)."""
    voice: VoiceService | None = None
    """Speech to text (``transcribe``); its engine loads on first use."""


Handler = Callable[[TaskContext, Mapping[str, Any]], Coroutine[Any, Any, Outcome]]


@dataclass(frozen=True)
class TaskKind:
    name: str
    label: str
    description: str
    run: Handler
    params: tuple[Param, ...] = ()
    max_attempts: int | None = None
    """None: the ``task_retries`` setting + 1."""
    timeout: float | None = None
    """None: the ``task_timeout`` setting."""
    extra_check: Callable[[Mapping[str, Any]], None] | None = field(default=None, repr=False)
    """Checks across parameters, raising ``TaskParamError``."""


class TaskKinds:
    """The registry of kinds (one per name)."""

    def __init__(self, kinds: Sequence[TaskKind] = ()) -> None:
        self._kinds: dict[str, TaskKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: TaskKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"task kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind

    def __iter__(self) -> Iterator[TaskKind]:
        return iter(self._kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def names(self) -> list[str]:
        return list(self._kinds)

    def get(self, name: str) -> TaskKind:
        kind = self._kinds.get(name)
        if kind is None:
            known = ", ".join(self._kinds) or "none"
            raise TaskParamError("kind", f"there is no task kind {name!r}", f"Use one of: {known}.")
        return kind

    def check(self, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters checked and normalized, or ``TaskParamError`` naming the field."""
        kind = self.get(name)
        if len(params) > MAX_PARAMS:
            raise TaskParamError("params", f"at most {MAX_PARAMS} parameters, not {len(params)}")
        declared = {p.name: p for p in kind.params}
        unknown = sorted(set(params) - set(declared))
        if unknown:
            known = ", ".join(declared) or "none"
            raise TaskParamError(
                unknown[0], f"{kind.name} takes no such parameter", f"It takes: {known}."
            )
        checked: dict[str, Any] = {}
        for param in kind.params:
            value = params.get(param.name)
            if value is None or value == "":
                if param.required and param.default is None:
                    raise TaskParamError(param.name, "is required", param.help or "Give it.")
                if param.default is not None:
                    checked[param.name] = param.default
                continue
            checked[param.name] = coerce(param, value)
        if kind.extra_check is not None:
            kind.extra_check(checked)
        return checked


def coerce(param: Param, value: Any) -> Any:
    """``value`` (typed in as text, or from JSON) as the parameter's type, within bounds."""
    name = param.name
    if param.type in ("int", "float"):
        number = _number(param, value)
        if param.minimum is not None and number < param.minimum:
            raise TaskParamError(name, f"must be at least {param.minimum:g}, not {number:g}")
        if param.maximum is not None and number > param.maximum:
            raise TaskParamError(name, f"must be at most {param.maximum:g}, not {number:g}")
        return number
    if param.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise TaskParamError(name, f"must be true or false, not {str(value)[:40]!r}")
    if param.type == "json":
        if isinstance(value, str):
            if len(value) > MAX_JSON:
                raise TaskParamError(name, f"is longer than {MAX_JSON} characters")
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise TaskParamError(name, f"is not valid JSON ({error.msg})") from None
        if not isinstance(value, dict):
            raise TaskParamError(name, "must be a JSON object")
        if len(json.dumps(value)) > MAX_JSON:
            raise TaskParamError(name, f"is longer than {MAX_JSON} characters")
        return value
    if not isinstance(value, str):
        raise TaskParamError(name, f"must be text, not {type(value).__name__}")
    if "\x00" in value:
        raise TaskParamError(name, "must not contain a NUL character")
    limit = min(param.max_length, MAX_TEXT)
    if len(value) > limit:
        raise TaskParamError(name, f"is longer than {limit} characters ({len(value)})")
    if param.type == "choice":
        if value not in param.choices:
            raise TaskParamError(name, f"must be one of {', '.join(param.choices)}, not {value!r}")
        return value
    if param.type in ("path", "folder"):
        import os

        expanded = os.path.expanduser(value.strip())
        if not os.path.isabs(expanded):
            raise TaskParamError(name, f"must be an absolute path, not {value!r}")
        return os.path.normpath(expanded)
    if not param.multiline and ("\n" in value or "\r" in value):
        raise TaskParamError(name, "must be one line")
    return value


def _number(param: Param, value: Any) -> float | int:
    if isinstance(value, bool):
        raise TaskParamError(param.name, "must be a number, not true or false")
    try:
        number = float(value) if param.type == "float" else int(str(value).strip())
    except (TypeError, ValueError):
        kind = "a whole number" if param.type == "int" else "a number"
        raise TaskParamError(param.name, f"must be {kind}, not {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise TaskParamError(param.name, "must be a finite number")
    return number
