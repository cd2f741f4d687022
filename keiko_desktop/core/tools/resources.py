"""MCP resources and prompts as Keiko sees them: values, the provider port and the small
pure helpers (template expansion, prompt arguments, attachment names).

Everything here came from a server and is data: names, titles, descriptions, URIs and text
are kept as sent (bounded in length and count by the adapter) and escaped only where shown
(``core.safe_text``). ``mcp_tools/resources.py`` implements ``McpContent`` over the pool.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line

MAX_LISTED = 500
"""Resources, templates or prompts kept of one server's list (the rest is cut, and said)."""
MAX_COMPLETIONS = 50
"""Completion values kept of one answer."""
MAX_URI = 2_048
MAX_PROMPT_CHARS = 200_000
"""Characters of one prompt's messages, all together."""
NAME_LIMIT = 255

T = TypeVar("T")


class McpContentError(KeikoError):
    """A resource or prompt that cannot be listed, read or run: message and what to do."""


@dataclass(frozen=True)
class ResourceInfo:
    """One resource a server lists."""

    server: str
    uri: str
    name: str
    title: str = ""
    description: str = ""
    mime_type: str = ""
    size: int | None = None

    @property
    def label(self) -> str:
        return self.title or self.name or self.uri


@dataclass(frozen=True)
class TemplateInfo:
    """A resource template (RFC 6570): ``uri_template`` with ``{variables}`` to fill."""

    server: str
    uri_template: str
    name: str
    title: str = ""
    description: str = ""
    mime_type: str = ""

    @property
    def variables(self) -> tuple[str, ...]:
        return template_variables(self.uri_template)

    @property
    def label(self) -> str:
        return self.title or self.name or self.uri_template


@dataclass(frozen=True)
class Listing(Generic[T]):
    """What a list call got: the items and whether more were left out."""

    items: tuple[T, ...]
    truncated: bool = False


def human_listing_note(listing: Listing[Any]) -> str:
    """What a person is told of a cut list ("" when it was whole)."""
    if not listing.truncated:
        return ""
    return f"only the first {len(listing.items)} are shown (the server offers more)"


@dataclass(frozen=True)
class ResourceContents:
    """One part of a read resource: text, or bytes (a blob, decoded from base64)."""

    uri: str
    mime_type: str
    text: str | None = None
    data: bytes | None = None

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        return len((self.text or "").encode("utf-8"))


@dataclass(frozen=True)
class PromptArgument:
    name: str
    title: str = ""
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class PromptInfo:
    """A server's prompt; in the composer it is ``/<server>.<name>``."""

    server: str
    name: str
    title: str = ""
    description: str = ""
    arguments: tuple[PromptArgument, ...] = ()

    @property
    def command(self) -> str:
        return f"{self.server}.{self.name}"


Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class PromptMessage:
    """One message of a run prompt: its role (never ``system``), its text and the resources
    it embeds (each becomes an attachment)."""

    role: Role
    text: str = ""
    resources: tuple[ResourceContents, ...] = ()


@dataclass(frozen=True)
class PromptResult:
    server: str
    name: str
    description: str
    messages: tuple[PromptMessage, ...]

    def user_text(self) -> str:
        """The user's message: the user-role texts, in order, one paragraph each."""
        return "\n\n".join(m.text for m in self.messages if m.role == "user" and m.text)

    def context_text(self) -> str:
        """What the assistant-role messages said: context for the turn, never a system
        message."""
        return "\n\n".join(m.text for m in self.messages if m.role == "assistant" and m.text)

    def resources(self) -> tuple[ResourceContents, ...]:
        return tuple(r for m in self.messages for r in m.resources)


@dataclass(frozen=True)
class Capabilities:
    """What a ready server offers of resources, prompts and completions."""

    resources: bool = False
    subscribe: bool = False
    prompts: bool = False
    completions: bool = False


@dataclass(frozen=True)
class CompletionRef:
    """What a completion is asked for: a prompt's argument or a template's variable."""

    kind: Literal["prompt", "template"]
    name: str
    """The prompt's name, or the template's ``uri_template``."""


class McpContent(Protocol):
    """Resources, templates, prompts and completions of the ready MCP servers."""

    def capabilities(self, server: str) -> Capabilities: ...

    def servers(self) -> list[str]:
        """Servers that are ready now."""
        ...

    async def list_resources(self, server: str) -> Listing[ResourceInfo]: ...

    async def list_templates(self, server: str) -> Listing[TemplateInfo]: ...

    async def read(self, server: str, uri: str) -> tuple[ResourceContents, ...]: ...

    async def complete(
        self, server: str, ref: CompletionRef, argument: str, value: str, context: Mapping[str, str]
    ) -> tuple[str, ...]: ...

    async def list_prompts(self, server: str) -> Listing[PromptInfo]: ...

    async def get_prompt(
        self, server: str, name: str, arguments: Mapping[str, str]
    ) -> PromptResult: ...

    def subscribe(self, server: str, uri: str) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        """Updates of ``uri``: entering subscribes, each item is an update, leaving ends it."""
        ...


# ---------------------------------------------------------------- templates (RFC 6570 level 1)
_VARIABLE = re.compile(r"\{([A-Za-z0-9_.%]+)\}")
_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]")


def template_variables(template: str) -> tuple[str, ...]:
    """The ``{name}`` variables of a level-1 template, each once, in order."""
    seen: dict[str, None] = {}
    for match in _VARIABLE.finditer(template):
        seen.setdefault(match.group(1), None)
    return tuple(seen)


def _encode(value: str) -> str:
    """Level 1 simple expansion: everything but unreserved characters percent-encoded."""
    out: list[str] = []
    for char in value:
        if _UNRESERVED.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def expand_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{var}`` replaced by its percent-encoded value. A missing
    value is a ``McpContentError`` naming it."""
    missing = [v for v in template_variables(template) if not values.get(v)]
    if missing:
        raise McpContentError(
            f"The template {one_line(template, 120)} needs a value for "
            + ", ".join(one_line(m, 40) for m in missing)
            + ".",
            "Fill in every field, then read it again.",
        )
    uri = _VARIABLE.sub(lambda m: _encode(values[m.group(1)]), template)
    if len(uri) > MAX_URI:
        raise McpContentError("That resource address is too long.", "Use shorter values.")
    return uri


# ---------------------------------------------------------------- prompt arguments
def parse_arguments(prompt: PromptInfo, words: Sequence[str]) -> dict[str, str]:
    """``name=value`` words and positional words (in the prompt's argument order) as the
    prompt's arguments. Unknown names, too many values and missing required arguments are a
    ``McpContentError`` that says which and how to write them."""
    names = [a.name for a in prompt.arguments]
    values: dict[str, str] = {}
    positional: list[str] = []
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key in names:
            values[key] = value
        elif eq and key.isidentifier():
            raise McpContentError(
                f"/{one_line(prompt.command, 80)} has no argument {one_line(key, 40)}.",
                f"Its arguments: {usage(prompt)}",
            )
        else:
            positional.append(word)
    free = [n for n in names if n not in values]
    if len(positional) > len(free):
        raise McpContentError(
            f"/{one_line(prompt.command, 80)} takes {len(names)} argument(s); "
            f"{len(positional) + len(values)} given.",
            f"Write them as name=value: {usage(prompt)}",
        )
    values.update(zip(free, positional, strict=False))
    missing = [a.name for a in prompt.arguments if a.required and not values.get(a.name)]
    if missing:
        raise McpContentError(
            f"/{one_line(prompt.command, 80)} needs "
            + ", ".join(one_line(m, 40) for m in missing)
            + ".",
            f"Write it as {usage(prompt)}",
        )
    return values


def usage(prompt: PromptInfo) -> str:
    """``/docs.review topic=… [style=…]``: how the prompt is written, escaped."""
    parts = [f"/{prompt.command}"]
    for arg in prompt.arguments:
        text = f"{arg.name}=…"
        parts.append(text if arg.required else f"[{text}]")
    return one_line(" ".join(parts), 300)


# ---------------------------------------------------------------- attachments
_SUFFIXES = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/csv": ".csv",
    "text/html": ".html",
    "application/json": ".json",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "application/octet-stream": ".bin",
}


def file_name_for(contents: ResourceContents) -> str:
    """A safe file name whose suffix says the MIME type (the extractor reads the suffix and
    the bytes): ``resource.md``, ``resource.png``; text of an unknown type is ``.txt``,
    bytes of one ``.bin`` (refused like a dropped binary file unless the bytes say more)."""
    mime = contents.mime_type.split(";")[0].strip().lower()
    suffix = _SUFFIXES.get(mime)
    if suffix is None:
        suffix = ".txt" if contents.text is not None or mime.startswith("text/") else ".bin"
    return f"resource{suffix}"


def attachment_name(server: str, uri: str) -> str:
    """``server:uri`` on one line, at most 255 characters (what the chip and citations say)."""
    return one_line(f"{server}:{uri}", NAME_LIMIT)


def contents_bytes(contents: ResourceContents) -> bytes:
    if contents.data is not None:
        return contents.data
    return (contents.text or "").encode("utf-8")
