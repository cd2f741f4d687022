"""The nouns of tool use: a tool's spec, a call, its result, a server's state.

Tools are named ``server.tool`` everywhere outside the pool; server names never contain a dot,
so the first dot splits the two.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

ServerStatus = Literal["starting", "ready", "error", "stopped"]
ServerKind = Literal["builtin", "stdio", "http"]

Decision = Literal[
    "auto",
    "approved",
    "cached",
    "denied",
    "timed_out",
    "blocked",
    "not_allowed",
    "invalid",
    "unusable",
    "error",
]
"""How a call was let through or stopped: ``auto`` (policy Always), ``approved`` (Ask, the user
allowed it), ``denied`` (Ask, the user refused or nobody could be asked), ``timed_out`` (Ask, no
answer in time), ``blocked`` (policy Never), ``invalid`` (arguments failed the tool's schema),
``unusable`` (the tool's own schema is broken, so nothing can be checked or approved), ``error``
(the call failed before any decision was made), ``not_allowed`` (outside the calling agent's
allowlist), ``cached`` (an identical read-only call earlier in the same run answered it). Only
``auto`` and ``approved`` ran; ``cached`` reused a result of one that did."""

DENIED_DECISIONS: frozenset[str] = frozenset(
    {"denied", "timed_out", "blocked", "not_allowed", "invalid", "unusable", "error"}
)

TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
"""The MCP spec's tool-name rule: 1 to 128 of ``A-Z a-z 0-9 _ - .``; nothing else is accepted,
so a name can never carry a newline, an escape sequence or look like another tool's line."""


def tool_name_problem(name: str) -> str | None:
    """Why ``name`` is not an acceptable tool name, or None."""
    if TOOL_NAME.match(name):
        return None
    return "tool names may only use letters, digits, '_', '-' and '.' (1 to 128 of them)"


class Policy(StrEnum):
    """What happens when a tool is called."""

    ALWAYS = "always"
    ASK = "ask"
    NEVER = "never"


@dataclass(frozen=True)
class StoredPolicy:
    """A policy as stored: its value and the ``ToolSpec.fingerprint`` it was given for."""

    policy: str
    fingerprint: str | None = None


class ApprovalAnswer(StrEnum):
    """The user's answer to an Ask."""

    ALLOW_ONCE = "allow_once"
    ALWAYS_ALLOW = "always_allow"
    DENY = "deny"


def split_name(qualified: str) -> tuple[str, str]:
    """``"files.read_file"`` -> ``("files", "read_file")``; ValueError without a dot."""
    server, dot, tool = qualified.partition(".")
    if not dot or not server or not tool:
        raise ValueError(f"{qualified!r} is not SERVER.TOOL")
    return server, tool


@dataclass(frozen=True)
class ToolSpec:
    """A tool a ready server offers, with the JSON schema of its arguments."""

    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    title: str | None = None
    read_only: bool = False
    builtin: bool = False
    server_identity: str = ""
    """What the server is (its command, arguments and env names, or its URL): a policy set for
    this tool holds only while the server and the tool stay the same (``fingerprint``)."""
    problem: str | None = None
    """Why the tool cannot be used (an invalid input schema); None when it can."""

    @property
    def qualified_name(self) -> str:
        return f"{self.server}.{self.name}"

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def fingerprint(self) -> str:
        """``<server digest>.<tool digest>``: the server's identity, then the tool's name,
        description and schema, each hashed (so a note can say which of the two changed)."""
        tool = _digest([self.name, self.description, self.input_schema])
        return f"{_digest(self.server_identity)}.{tool}"


def _digest(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ToolCall:
    """A request to run one tool. ``conversation_id`` and ``agent`` say who asked, if known."""

    server: str
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    conversation_id: int | None = None
    agent: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.server}.{self.tool}"


@dataclass(frozen=True)
class ToolResult:
    """What a tool returned, as text for a model or a person.

    ``is_error`` covers tool errors, transport failures and refusals; ``decision`` says whether
    the call ran at all. ``size`` is the length of the full text before any truncation.
    """

    text: str
    is_error: bool = False
    structured: Any = None
    size: int = 0
    truncated: bool = False
    decision: Decision = "auto"
    duration: float | None = None

    @property
    def ran(self) -> bool:
        return self.decision not in DENIED_DECISIONS


@dataclass(frozen=True)
class ServerState:
    """One configured server as the pool sees it now."""

    name: str
    kind: ServerKind
    status: ServerStatus
    detail: str = ""
    enabled: bool = True
    tool_count: int = 0
    target: str = ""
    """The command line or URL, secrets left as references."""
    notes: tuple[str, ...] = ()
    """What Keiko refused of what the server offered (tools with unsafe names), escaped."""


@dataclass(frozen=True)
class AuditEntry:
    """One tool call as recorded: arguments already redacted, never a secret."""

    server: str
    tool: str
    arguments: str
    decision: Decision
    is_error: bool
    duration: float | None = None
    result_size: int = 0
    conversation_id: int | None = None
    agent: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class Note:
    """A note the ``notes`` built-in server keeps."""

    id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
