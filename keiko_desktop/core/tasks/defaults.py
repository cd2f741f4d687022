"""A new task made complete: parameters checked by its kind, a name, its attempts and time
limit from the task, else its kind, else the settings; every field within its bounds."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.errors import TaskParamError
from keiko_desktop.core.tasks.kinds import TaskKind, TaskKinds
from keiko_desktop.core.tasks.records import MAX_NAME, PRIORITIES, NewTask

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

MAX_ATTEMPTS = 11
MAX_TIMEOUT = 86400.0
MAX_KEY = 200
DEFAULT_NAME = 60


def default_name(kind: TaskKind, params: Mapping[str, Any]) -> str:
    """The kind's label and what its first text parameter says: "Reminder: Call Ann"."""
    for param in kind.params:
        value = params.get(param.name)
        if param.type in ("text", "path", "folder", "choice") and isinstance(value, str) and value:
            if param.type in ("path", "folder"):
                value = os.path.basename(value.rstrip("/\\")) or value  # "notes", not its path
            return one_line(f"{kind.label}: {value.strip()}", DEFAULT_NAME)
    return kind.label


def resolved(new: NewTask, kinds: TaskKinds, settings: Settings) -> NewTask:
    """``new`` checked and with every default filled in, or ``TaskParamError``."""
    kind = kinds.get(new.kind)
    params = kinds.check(new.kind, new.params)
    if new.priority not in PRIORITIES:
        raise TaskParamError(
            "priority", f"must be one of {', '.join(PRIORITIES)}, not {new.priority!r}"
        )
    name = one_line(new.name.strip(), MAX_NAME) or default_name(kind, params)
    attempts = new.max_attempts
    if attempts is None:
        attempts = kind.max_attempts if kind.max_attempts is not None else settings.task_retries + 1
    if not 1 <= attempts <= MAX_ATTEMPTS:
        raise TaskParamError("retries", f"must be between 0 and {MAX_ATTEMPTS - 1}")
    timeout = new.timeout
    if timeout is None:
        timeout = kind.timeout if kind.timeout is not None else settings.task_timeout
    if not math.isfinite(timeout) or not 0 <= timeout <= MAX_TIMEOUT:
        raise TaskParamError("timeout", f"must be between 0 and {MAX_TIMEOUT:g} seconds")
    key = new.idempotency_key
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise TaskParamError("key", f"must be 1 to {MAX_KEY} characters")
    return dataclasses.replace(
        new, params=params, name=name, max_attempts=attempts, timeout=float(timeout)
    )
