"""Agent profiles: what an agent is (prompt, model, tools, limits), checked field by field.

A profile is a frozen ``AgentProfile``. ``profile_from_dict`` reads one from JSON data (an
imported file, the editor) and raises ``AgentProfileError`` naming the first bad field; every
field has a bound. ``tools`` is the allowlist: ``server`` allows each tool of that server,
``server.tool`` one tool; an agent can never call a tool outside it, whatever the model emits
(``AgentProfile.allows``, enforced by the runner's ``allowlist`` middleware).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from keiko_desktop.core.agents.errors import AgentProfileError
from keiko_desktop.core.safe_text import printable

AgentStatus = Literal["inactive", "ready", "busy", "error"]
"""inactive: idle, its model not loaded; ready: idle, its model loaded; busy: running;
error: its last run failed or it cannot run (the detail says why)."""

ICONS: tuple[str, ...] = (
    "sparkles",
    "agents",
    "search",
    "edit",
    "chat",
    "tasks",
    "copy",
    "check",
    "pin",
    "settings",
)
"""Icons a profile may name (SVGs in ``resources/icons``)."""

TOOL_ENTRY = re.compile(r"[A-Za-z0-9_.-]{1,200}")
EXPORT_FORMAT = "keiko-agent"
EXPORT_VERSION = 1
MAX_IMPORT_BYTES = 1_000_000
MAX_AGENTS_PER_FILE = 200


@dataclass(frozen=True)
class AgentProfile:
    """One agent. ``model`` empty: the model chat uses. ``tools``: the allowlist (see module
    docs). ``max_steps``: most tool calls per run; ``step_timeout``: seconds one model or tool
    call may take; ``retries``/``retry_backoff``: how often a failed plan step is tried again,
    and the wait before the first retry (doubling after)."""

    name: str
    description: str = ""
    system_prompt: str = ""
    icon: str = "sparkles"
    model: str = ""
    fallbacks: tuple[str, ...] = ()
    """Models tried in order when ``model`` cannot be reached (empty: the chat's chain)."""
    tools: tuple[str, ...] = ()
    temperature: float = 0.7
    max_tokens: int = 512
    max_steps: int = 4
    step_timeout: float = 120.0
    retries: int = 1
    retry_backoff: float = 1.0
    tags: tuple[str, ...] = ()
    builtin: bool = False
    """Shipped with Keiko (it may still be edited or deleted)."""
    id: int | None = field(default=None, compare=False)

    def allows(self, qualified_name: str) -> bool:
        """Whether ``server.tool`` is on this agent's allowlist."""
        server = qualified_name.split(".", 1)[0]
        return qualified_name in self.tools or server in self.tools

    def validate(self) -> AgentProfile:
        """Check every field; ``AgentProfileError`` naming the first bad one."""
        profile_from_dict(profile_to_dict(self))
        return self

    def renamed(self, name: str) -> AgentProfile:
        return replace(self, name=name, id=None, builtin=False)


# field -> (kind, minimum, maximum): numbers bound the value, text its length, lists their size
BOUNDS: dict[str, tuple[type, float, float]] = {
    "name": (str, 1, 64),
    "description": (str, 0, 500),
    "system_prompt": (str, 0, 20_000),
    "icon": (str, 1, 32),
    "model": (str, 0, 4096),
    "fallbacks": (tuple, 0, 8),
    "tools": (tuple, 0, 200),
    "temperature": (float, 0.0, 2.0),
    "max_tokens": (int, 16, 32768),
    "max_steps": (int, 0, 32),
    "step_timeout": (float, 1.0, 3600.0),
    "retries": (int, 0, 10),
    "retry_backoff": (float, 0.0, 600.0),
    "tags": (tuple, 0, 20),
    "builtin": (bool, 0, 1),
}
_KIND_WORDS = {
    str: "text",
    int: "a whole number",
    float: "a number",
    tuple: "a list of text",
    bool: "true or false",
}


def _check(name: str, value: Any) -> Any:
    kind, low, high = BOUNDS[name]
    word = _KIND_WORDS[kind]
    if kind is bool:
        if not isinstance(value, bool):
            raise AgentProfileError(name, f"must be {word}, not {_shown(value)}.")
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is tuple and isinstance(value, list):
        value = tuple(value)
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, kind):
            raise AgentProfileError(name, f"must be {word}, not {_shown(value)}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise AgentProfileError(name, "must be a finite number.")
        if not low <= value <= high:
            raise AgentProfileError(name, f"must be between {low:g} and {high:g}, not {value:g}.")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise AgentProfileError(name, f"must be {word}, not {_shown(value)}.")
        if not low <= len(value) <= high:
            raise AgentProfileError(
                name, f"must be {low:g} to {high:g} characters long, not {len(value)}."
            )
        _check_text(name, value)
        return value
    if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
        raise AgentProfileError(name, f"must be {word}, not {_shown(value)}.")
    if len(value) > high:
        raise AgentProfileError(name, f"may hold at most {high:g} entries, not {len(value)}.")
    return value


def _check_text(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AgentProfileError(name, "is not valid text.") from exc
    one_line_fields = ("name", "icon", "model")
    if name in one_line_fields and printable(value) != value:
        raise AgentProfileError(name, "may not hold control or invisible characters.")


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return printable(text[:60])


def profile_from_dict(data: Any, where: str = "") -> AgentProfile:
    """A profile from JSON data; ``AgentProfileError`` naming the first bad field (prefixed
    with ``where``, e.g. ``agents[2].``)."""
    if not isinstance(data, Mapping):
        raise AgentProfileError(where.rstrip(".") or "agent", "must be a JSON object.")
    known = {f.name for f in fields(AgentProfile)} - {"id"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise AgentProfileError(
            where + _shown(str(unknown[0]))[1:-1],
            "is not a field of an agent.",
            f"Known fields: {', '.join(sorted(known))}.",
        )
    if "name" not in data:
        raise AgentProfileError(where + "name", "is missing.", "Every agent needs a name.")
    values: dict[str, Any] = {}
    for key in sorted(data, key=list(BOUNDS).index):
        try:
            values[key] = _check(key, data[key])
        except AgentProfileError as exc:
            raise AgentProfileError(where + key, exc.message.split(": ", 1)[1], exc.hint) from None
    values["name"] = values["name"].strip()
    if not values["name"]:
        raise AgentProfileError(where + "name", "is empty.", "Give the agent a name.")
    if values.get("icon", "sparkles") not in ICONS:
        raise AgentProfileError(
            where + "icon",
            f"{_shown(values['icon'])} is not an icon.",
            f"Use one of {', '.join(ICONS)}.",
        )
    for i, entry in enumerate(values.get("tools", ())):
        if not TOOL_ENTRY.fullmatch(entry):
            raise AgentProfileError(
                f"{where}tools[{i}]",
                f"{_shown(entry)} is not a server or a server.tool name.",
                "Use names like files or files.read_file.",
            )
    for i, fallback in enumerate(values.get("fallbacks", ())):
        if not 1 <= len(fallback) <= 4096 or printable(fallback) != fallback:
            raise AgentProfileError(
                f"{where}fallbacks[{i}]", "must be a model name or path on one line.", ""
            )
    for i, tag in enumerate(values.get("tags", ())):
        if not 1 <= len(tag) <= 32 or printable(tag) != tag:
            raise AgentProfileError(
                f"{where}tags[{i}]", "must be 1 to 32 visible characters.", "Shorten the tag."
            )
    return AgentProfile(**values)


def profile_to_dict(profile: AgentProfile) -> dict[str, Any]:
    """The profile as JSON data (no id), the inverse of ``profile_from_dict``."""
    data = asdict(profile)
    data.pop("id")
    for key in ("tools", "tags", "fallbacks"):
        data[key] = list(data[key])
    return data


def export_json(profiles: Sequence[AgentProfile]) -> str:
    """A file of agents, to import elsewhere (``import_json``)."""
    agents = []
    for profile in profiles:
        data = profile_to_dict(profile)
        data.pop("builtin")
        agents.append(data)
    document = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "agents": agents}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def import_json(text: str) -> list[AgentProfile]:
    """Agents from a file made by ``export_json`` (or one agent object alone). Errors name the
    field: ``agents[1].temperature: must be between 0 and 2, not 9``."""
    if len(text) > MAX_IMPORT_BYTES:
        raise AgentProfileError(
            "file", f"is over {MAX_IMPORT_BYTES:,} characters.", "Is it an agents file?"
        )
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise AgentProfileError(
            "file", f"is not valid JSON{where}.", "Export the agents from Keiko again."
        ) from None
    if isinstance(document, Mapping) and "agents" in document:
        if document.get("format", EXPORT_FORMAT) != EXPORT_FORMAT:
            raise AgentProfileError(
                "format", f"must be {EXPORT_FORMAT!r}.", "Is it a Keiko agents file?"
            )
        version = document.get("version", EXPORT_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version > EXPORT_VERSION:
            raise AgentProfileError(
                "version", f"{_shown(version)} is not a version this Keiko reads.", "Update Keiko."
            )
        items = document["agents"]
        if not isinstance(items, list):
            raise AgentProfileError("agents", "must be a list of agents.")
        if len(items) > MAX_AGENTS_PER_FILE:
            raise AgentProfileError("agents", f"may hold at most {MAX_AGENTS_PER_FILE} agents.")
        profiles = [profile_from_dict(item, f"agents[{i}].") for i, item in enumerate(items)]
    else:
        profiles = [profile_from_dict(document)]
    names = [p.name.casefold() for p in profiles]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise AgentProfileError(f"agents[{i}].name", f"{profiles[i].name!r} appears twice.")
    return [replace(p, builtin=False) for p in profiles]


SHIPPED_PROFILES: tuple[AgentProfile, ...] = (
    AgentProfile(
        name="General assistant",
        icon="sparkles",
        description="Answers questions and helps with everyday work.",
        system_prompt="You are Keiko, a helpful, concise assistant running on the user's computer.",
        tools=("clock", "notes"),
        max_steps=2,
        tags=("general",),
        builtin=True,
    ),
    AgentProfile(
        name="Researcher",
        icon="search",
        description="Looks things up in your granted folders and notes, and reports what it found.",
        system_prompt=(
            "You are a careful researcher. Look things up with the tools before you answer, "
            "quote what you found and say where it came from. Say so when you found nothing."
        ),
        tools=("files.list_files", "files.read_file", "files.search_text", "notes", "clock"),
        temperature=0.2,
        max_steps=6,
        tags=("research", "files", "notes"),
        builtin=True,
    ),
    AgentProfile(
        name="Writer",
        icon="edit",
        description="Drafts and rewrites text: emails, posts, documents.",
        system_prompt=(
            "You are a skilled writer. Write clear, well-structured text in the tone asked for. "
            "Give only the text, without comments about it."
        ),
        tools=("notes",),
        temperature=0.8,
        max_tokens=1024,
        tags=("writing",),
        builtin=True,
    ),
    AgentProfile(
        name="Summarizer",
        icon="copy",
        description="Condenses text or files into the points that matter.",
        system_prompt=(
            "You summarise. Keep the points that matter, drop the rest, and never add facts "
            "that are not in the text. Use short bullet points."
        ),
        tools=("files.read_file", "files.list_files"),
        temperature=0.2,
        tags=("summary", "files"),
        builtin=True,
    ),
    AgentProfile(
        name="Coder",
        icon="tasks",
        description="Writes and explains code; may save files in a granted folder (asks first).",
        system_prompt=(
            "You are an expert programmer. Write correct, simple code with short explanations. "
            "Save a file only when asked to."
        ),
        tools=("files",),
        temperature=0.2,
        max_tokens=1024,
        max_steps=6,
        tags=("code", "files"),
        builtin=True,
    ),
)
