"""Turn chat messages into a model's prompt text, and find stop strings in streamed text.

``ChatRenderer`` uses the chat template stored in the GGUF file (``tokenizer.chat_template``),
rendered the way llama-cpp-python and Transformers render it. Some templates are strict (no
system role, strictly alternating roles); for those the messages are normalized and rendered
again, and if the template still fails, or the file has none, ChatML is used.

Only the template's own text may hold control tokens (``<|im_start|>`` and the like); message
content is text, whatever it contains. ``ChatRenderer.render_parts`` therefore returns the prompt
as parts that say which text is content: the template is rendered with each content replaced by
a sentinel (a random nonce per render, padded with whitespace no template writes, so a template
that trims content can be told from one that does not) and the rendered text is split at the
sentinels. A template that mangles them (a sentinel missing, repeated, out of order or cut) gets
the real text instead, with every control-token text in the contents broken by a word joiner
(``neutralize``) and the whole prompt as one template part. ``prompt_runs`` then cuts the parts
the way llama.cpp's tokenizer would cut the whole prompt, but at the template's control tokens
only, so benign content tokenizes exactly as before.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from keiko_desktop.core.ports import ChatMessage

CHATML_START = "<|im_start|>"
CHATML_END = "<|im_end|>"

Part = tuple[str, bool]
"""A piece of a rendered prompt: its text, and whether it is message content."""

# Sentinels: MARK nonce ":" index MARK, between two PADs. MARK is no white space, so trimming
# stops at it; the PADs are white space (str.strip and Jinja's trim remove them) that no
# template writes, so which of them survived shows how the template treated the content's ends.
_MARK = "\u2063"
_PAD = "\u2003\u3000"
_PAD_CHARS = tuple(_PAD)
# What breaks control-token text in content (fallback): a word joiner after its first character.
WORD_JOINER = "\u2060"
_MAX_PASSES = 8

# What a broken or strict template can raise while rendering.
_TEMPLATE_ERRORS: tuple[type[Exception], ...] = (
    jinja2.TemplateError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
)


def render_chatml(messages: Sequence[ChatMessage]) -> str:
    """The ChatML prompt for ``messages``, ending where the assistant's reply starts."""
    parts = [f"<|im_start|>{m.role}\n{m.content}{CHATML_END}\n" for m in messages]
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def chatml_parts(messages: Sequence[ChatMessage]) -> list[Part]:
    """``render_chatml`` as ``(text, is_content)`` parts."""
    parts: list[Part] = []
    for m in messages:
        parts.append((f"{CHATML_START}{m.role}\n", False))
        if m.content:
            parts.append((m.content, True))
        parts.append((f"{CHATML_END}\n", False))
    parts.append((f"{CHATML_START}assistant\n", False))
    return parts


def normalize_messages(
    messages: Sequence[ChatMessage], fold_system: bool = False
) -> list[ChatMessage]:
    """Messages a strict template accepts: user and assistant alternating, user first.

    Tool results become user messages, consecutive messages of one role are joined, leading
    assistant messages are dropped. With ``fold_system`` the system text is put at the start of
    the first user message, for templates that have no system role.
    """
    system = [m.content for m in messages if m.role == "system" and m.content]
    out: list[ChatMessage] = []
    for m in messages:
        if m.role == "system":
            continue
        role = "user" if m.role == "tool" else m.role
        if not out and role == "assistant":
            continue
        if out and out[-1].role == role:
            out[-1] = ChatMessage(role, f"{out[-1].content}\n\n{m.content}")
        else:
            out.append(ChatMessage(role, m.content))
    if not out:
        out.append(ChatMessage("user", ""))
    if not system:
        return out
    system_text = "\n\n".join(system)
    if fold_system:
        out[0] = ChatMessage("user", f"{system_text}\n\n{out[0].content}")
        return out
    return [ChatMessage("system", system_text), *out]


def _nonce(contents: Sequence[str]) -> str:
    while True:  # 64 random bits: a content holding them is a formality to rule out
        nonce = secrets.token_hex(8)
        if not any(nonce in c for c in contents):
            return nonce


def _sentinel(nonce: str, index: int) -> str:
    return f"{_PAD}{_MARK}{nonce}:{index}{_MARK}{_PAD}"


def split_at_sentinels(text: str, nonce: str, contents: Sequence[str]) -> list[Part] | None:
    """``text`` rendered with sentinels, as parts with the real ``contents`` put back.

    None when the template did not keep every sentinel exactly once and in order, or left a
    stray piece of one. Where the template trimmed a sentinel's padding, the content is trimmed
    the same way.
    """
    if text.count(nonce) != len(contents):
        return None
    pattern = (
        f"(?P<left>{_PAD})?{_MARK}{re.escape(nonce)}:(?P<index>[0-9]+){_MARK}(?P<right>{_PAD})?"
    )
    matches = list(re.finditer(pattern, text))
    if [int(m["index"]) for m in matches] != list(range(len(contents))):
        return None
    parts: list[Part] = []
    pos = 0
    for match, content in zip(matches, contents, strict=True):
        start, end = match.start(), match.end()
        if match["left"] is None:
            if text[start - 1 : start] in _PAD_CHARS:
                return None  # part of the padding cut off: the template cuts content
            content = content.lstrip()
        if match["right"] is None:
            if text[end : end + 1] in _PAD_CHARS:
                return None
            content = content.rstrip()
        parts.append((text[pos:start], False))
        parts.append((content, True))
        pos = end
    parts.append((text[pos:], False))
    if any(_MARK in t for t, is_content in parts if not is_content):
        return None  # a stray piece of a sentinel
    return [(t, is_content) for t, is_content in parts if t]


def break_specials(text: str, specials: Iterable[str]) -> str:
    """``text`` with every occurrence of the ``specials`` (control-token texts) broken.

    A word joiner goes after the first character of each occurrence (a one-character special
    becomes U+FFFD), again until none is left: the text reads the same, but no tokenizer finds
    the control token in it.
    """
    ordered = sorted({s for s in specials if s}, key=len, reverse=True)
    if not ordered:
        return text
    pattern = re.compile("|".join(map(re.escape, ordered)))

    def broken(match: re.Match[str]) -> str:
        found = match.group()
        return found[0] + WORD_JOINER + found[1:] if len(found) > 1 else "\ufffd"

    for _ in range(_MAX_PASSES):
        if pattern.search(text) is None:
            return text
        text = pattern.sub(broken, text)
    return pattern.sub("\ufffd", text)  # specials that keep re-forming: replace them outright


@dataclass(frozen=True)
class SpecialToken:
    """A control token of the vocabulary, as llama.cpp's tokenizer treats it.

    ``lstrip``/``rstrip``: white space before/after it is dropped when a prompt is tokenized.
    """

    id: int
    lstrip: bool = False
    rstrip: bool = False


Run = tuple[str, SpecialToken | None]
"""A piece of the prompt to tokenize: raw text (None), or one control token's text."""

_ASCII_SPACE = " \t\n\v\f\r"  # what llama.cpp's isspace() strips next to a token


@functools.lru_cache(maxsize=32)
def _specials_pattern(texts: frozenset[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True)))


def prompt_runs(parts: Sequence[Part], specials: Mapping[str, SpecialToken]) -> list[Run]:
    """``parts`` cut as llama.cpp cuts a prompt it tokenizes with control tokens, except that
    control-token text counts only in template parts.

    Raw text between two control tokens (template text and content alike) is one run, so it is
    tokenized in one piece, as when the whole prompt was tokenized at once; tokens marked
    ``lstrip``/``rstrip`` drop the white space next to them, as llama.cpp does.
    """
    pattern = _specials_pattern(frozenset(specials)) if specials else None
    runs: list[Run] = []
    raw: list[str] = []

    def flush(before: SpecialToken | None) -> None:
        text = "".join(raw)
        raw.clear()
        previous = runs[-1][1] if runs else None  # a token, or None at the start
        if previous is not None and previous.rstrip:
            text = text.lstrip(_ASCII_SPACE)
        if before is not None and before.lstrip:
            text = text.rstrip(_ASCII_SPACE)
        if text:
            runs.append((text, None))

    for text, is_content in parts:
        if is_content or pattern is None:
            raw.append(text)
            continue
        pos = 0
        for match in pattern.finditer(text):
            raw.append(text[pos : match.start()])
            token = specials[match.group()]
            flush(token)
            runs.append((match.group(), token))
            pos = match.end()
        raw.append(text[pos:])
    flush(None)
    return runs


class ChatRenderer:
    """Renders messages with the model's own template, falling back to ChatML."""

    def __init__(
        self,
        template: str | None,
        bos_token: str = "",
        eos_token: str = "",
        neutralize: Callable[[str], str] | None = None,
    ) -> None:
        self.template = template
        known = (CHATML_START, CHATML_END, bos_token, eos_token)
        self.neutralize: Callable[[str], str] = neutralize or (
            lambda text: break_specials(text, known)
        )
        self.uses_chatml = template is None
        self._render: Callable[[list[dict[str, str]]], str] | None = None
        if template is not None:
            self._render = _jinja_renderer(template, bos_token, eos_token)
            if self._render is None:
                self.uses_chatml = True

    @property
    def adds_bos(self) -> bool:
        """Whether the rendered text carries its own BOS (templates do; ChatML leaves it)."""
        return self._render is not None

    @property
    def stop_strings(self) -> tuple[str, ...]:
        """Text that ends a reply besides the model's end-of-generation tokens."""
        return (CHATML_END,) if self._render is None else ()

    @property
    def knows_tool_role(self) -> bool:
        """Whether the template has its own way to show tool results."""
        return self.template is not None and (
            "'tool'" in self.template or '"tool"' in self.template
        )

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text for ``messages`` (content and template as one string)."""
        return self._render_text(self._with_tool_roles(messages))

    def render_parts(self, messages: Sequence[ChatMessage]) -> list[Part]:
        """The prompt for ``messages`` as ``(text, is_content)`` parts (see the module docstring).

        Joined, the parts are the rendered prompt; only parts with ``is_content`` False come
        from the template, and only those may be tokenized with control tokens. When the
        template mangles the sentinels, the result is one template part rendered from the
        contents passed through ``neutralize`` (the constructor's), which leaves no control-token
        text in them.
        """
        messages = self._with_tool_roles(messages)
        if self._render is None:
            return chatml_parts(messages)
        contents = [m.content for m in messages if m.content]
        nonce = _nonce(contents)
        marked: list[ChatMessage] = []
        index = 0
        for m in messages:  # empty contents stay empty: templates may test for them
            if m.content:
                marked.append(ChatMessage(m.role, _sentinel(nonce, index)))
                index += 1
            else:
                marked.append(m)
        parts = split_at_sentinels(self._render_text(marked), nonce, contents)
        if parts is not None:
            return parts
        safe = [ChatMessage(m.role, self.neutralize(m.content)) for m in messages]
        return [(self._render_text(safe), False)]

    def _with_tool_roles(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        if self.knows_tool_role:
            return list(messages)
        # A template without a tool role: results come as user messages.
        return [ChatMessage("user", m.content) if m.role == "tool" else m for m in messages]

    def _render_text(self, messages: list[ChatMessage]) -> str:
        if self._render is None:
            return render_chatml(messages)
        for attempt in (
            list(messages),
            normalize_messages(messages),
            normalize_messages(messages, fold_system=True),
        ):
            try:
                return self._render([{"role": m.role, "content": m.content} for m in attempt])
            except _TEMPLATE_ERRORS:
                continue
        return render_chatml(messages)


def _jinja_renderer(
    template: str, bos_token: str, eos_token: str
) -> Callable[[list[dict[str, str]]], str] | None:
    """A render function for ``template``, or None when it does not even compile."""
    try:
        formatter: Any = Jinja2ChatFormatter(
            template=template, eos_token=eos_token, bos_token=bos_token
        )
    except jinja2.TemplateError:
        return None

    def render(messages: list[dict[str, str]]) -> str:
        return str(formatter(messages=messages).prompt)

    return render


class StopScanner:
    """Finds stop strings in text that arrives in pieces.

    ``feed`` returns the text that is safe to show and whether a stop string was reached; text
    that might be the start of a stop string is held back until the next piece decides.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self._pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        buf = self._pending + text
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self._pending = ""
            return buf[:cut], True
        hold = 0
        for s in self.stops:
            for n in range(min(len(s) - 1, len(buf)), hold, -1):
                if buf.endswith(s[:n]):
                    hold = n
                    break
        self._pending = buf[len(buf) - hold :]
        return buf[: len(buf) - hold], False

    def flush(self) -> str:
        """Held-back text, for when the reply ends without a stop string."""
        text, self._pending = self._pending, ""
        return text
