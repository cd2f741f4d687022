"""Turn chat messages into a model's prompt text, and find stop strings in streamed text.

``ChatRenderer`` uses the chat template stored in the GGUF file (``tokenizer.chat_template``),
rendered the way llama-cpp-python and Transformers render it. Some templates are strict (no
system role, strictly alternating roles); for those the messages are normalized and rendered
again, and if the template still fails, or the file has none, ChatML is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jinja2
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from keiko_desktop.core.ports import ChatMessage

CHATML_END = "<|im_end|>"

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


class ChatRenderer:
    """Renders messages with the model's own template, falling back to ChatML."""

    def __init__(self, template: str | None, bos_token: str = "", eos_token: str = "") -> None:
        self.template = template
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
        if not self.knows_tool_role:  # a template without a tool role: results come as user
            messages = [ChatMessage("user", m.content) if m.role == "tool" else m for m in messages]
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
