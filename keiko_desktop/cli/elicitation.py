"""``TerminalElicitor``: answers a server's questions (elicitation) on the terminal, in
`keiko mcp call` and `keiko ask --tools` (and agent runs from the CLI).

The form is asked field by field on stderr/stdin: each with its title, description, bounds
and default (Enter keeps the default), choices as numbered lists, a bad value asked again with
the reason. Then the answers are shown and sent, or the form declined or cancelled. ``--yes``
accepts the server's defaults without asking, and declines, saying so, when a required field
has none. A link (URL mode) is shown with its host; the person says whether they open it
(``--yes`` never consents to a link for them). Without a terminal on stdin a question is
cancelled with a hint. Everything the server wrote is printed escaped.
"""

from __future__ import annotations

import asyncio
import sys
import threading

from keiko_desktop.cli.common import error
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.elicitation import (
    ElicitAnswer,
    ElicitationRequest,
    content_summary,
    describe_value,
)
from keiko_desktop.core.tools.elicitation_form import ElicitForm, FormField, Value

MAX_TRIES = 5
"""Bad answers to one field before the form is cancelled."""


class TerminalElicitor:
    """Implements ``core.tools.elicitation.Elicitor`` on stdin/stderr."""

    def __init__(self, assume_yes: bool) -> None:
        self.assume_yes = assume_yes

    async def elicit(self, request: ElicitationRequest) -> ElicitAnswer:
        who = one_line(request.server, 100)
        _say(
            f"\nThe MCP server '{who}' asks:\n  {request.message.replace(chr(10), chr(10) + '  ')}"
        )
        if request.problem:
            _say(f"  {request.problem} Declined.")
            return ElicitAnswer.decline()
        if request.mode == "url":
            return await self._url(request)
        assert request.form is not None
        if self.assume_yes:
            return _defaults(who, request.form)
        if not sys.stdin.isatty():
            error(
                f"'{who}' asks for input, and stdin is not a terminal; cancelled.\n"
                "  → Run it on a terminal, or pass --yes to accept the server's defaults."
            )
            return ElicitAnswer.cancel()
        return await _ask_form(request.form)

    async def _url(self, request: ElicitationRequest) -> ElicitAnswer:
        _say(f"  It wants you to open this link (host: {request.host}):\n  {request.shown_url}")
        if self.assume_yes or not sys.stdin.isatty():
            _say("  Keiko never opens a link for you unasked (--yes or no terminal): declined.")
            return ElicitAnswer.decline()
        reply = await _read_line("  [y] I open it   [d] decline   [C] cancel: ")
        choice = (reply or "").strip().lower()
        if choice in ("y", "yes"):
            return ElicitAnswer.accept()
        return ElicitAnswer.decline() if choice in ("d", "decline") else ElicitAnswer.cancel()


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _defaults(who: str, form: ElicitForm) -> ElicitAnswer:
    missing = form.missing_defaults()
    if missing:
        names = ", ".join(f.label for f in missing)
        _say(f"  --yes cannot answer it: {names} has no default. Declined.")
        return ElicitAnswer.decline()
    content = form.complete({})
    _say(
        f"  --yes: sending the defaults to '{who}':\n{content_summary(form, content) or '  (none)'}"
    )
    return ElicitAnswer.accept(content)


async def _ask_form(form: ElicitForm) -> ElicitAnswer:
    _say("  Fill in the form (Enter keeps [the default]; end of input cancels).")
    values: dict[str, Value] = {}
    for f in form.fields:
        value = await _ask_field(f)
        if value is _EOF:
            return ElicitAnswer.cancel()
        if value is not None:
            values[f.name] = value  # type: ignore[assignment]
    content = form.complete(values)
    _say("  You answer:\n" + (content_summary(form, content) or "  (nothing)"))
    reply = await _read_line("  [Y] send   [d] decline   [c] cancel: ")
    choice = (reply or "").strip().lower()
    if reply is None or choice in ("c", "cancel"):
        return ElicitAnswer.cancel()
    if choice in ("d", "decline"):
        return ElicitAnswer.decline()
    return ElicitAnswer.accept(content)


_EOF = object()


async def _ask_field(f: FormField) -> object:
    """The value for ``f`` (None: keep its default or leave it out), or ``_EOF``."""
    _say(_describe(f))
    for _ in range(MAX_TRIES):
        text = await _read_line(_prompt(f))
        if text is None:
            return _EOF
        text = text.strip()
        if not text:
            if f.default is None and f.required:
                _say(f"    {f.label} is required.")
                continue
            return None
        value = _parse(f, text)
        problem = f.check(value) if value is not None else None
        if value is None or problem:
            _say(f"    {problem or _hint(f)}")
            continue
        return value
    _say(f"    Too many tries for {f.label}: cancelled.")
    return _EOF


def _describe(f: FormField) -> str:
    need = " (required)" if f.required else ""
    lines = [f"  {f.label}{need}" + (f": {f.description}" if f.description else "")]
    if f.kind in ("choice", "multi"):
        lines += [f"    {i}) {c.title}" for i, c in enumerate(f.choices, 1)]
    return "\n".join(lines)


def _prompt(f: FormField) -> str:
    bounds = ""
    if f.kind in ("number", "integer") and (f.minimum is not None or f.maximum is not None):
        low = "" if f.minimum is None else describe_value(f.minimum)
        high = "" if f.maximum is None else describe_value(f.maximum)
        bounds = f" ({low}…{high})"
    elif f.kind == "boolean":
        bounds = " (y/n)"
    elif f.kind == "multi":
        bounds = " (numbers, comma separated)"
    elif f.kind == "choice":
        bounds = " (number)"
    elif f.format:
        bounds = f" ({f.format})"
    default = f" [{_shown_default(f)}]" if f.default is not None else ""
    return f"    {f.label}{bounds}{default}: "


def _shown_default(f: FormField) -> str:
    if f.kind in ("choice", "multi"):
        titles = {c.value: c.title for c in f.choices}
        chosen = f.default if isinstance(f.default, list) else [str(f.default)]
        return ", ".join(titles.get(v, v) for v in chosen) or "none"
    return describe_value(f.default)


def _hint(f: FormField) -> str:
    words = {
        "boolean": "Answer y or n.",
        "integer": "Type a whole number.",
        "number": "Type a number.",
        "choice": f"Type a number from 1 to {len(f.choices)}.",
        "multi": f"Type numbers from 1 to {len(f.choices)}, separated by commas.",
    }
    return words.get(f.kind, "Type some text.")


def _parse(f: FormField, text: str) -> Value | None:
    """``text`` as a value of ``f``'s kind; None when it is not one."""
    try:
        if f.kind == "boolean":
            lowered = text.lower()
            if lowered in ("y", "yes", "true", "1"):
                return True
            return False if lowered in ("n", "no", "false", "0") else None
        if f.kind == "integer":
            return int(text)
        if f.kind == "number":
            return float(text)
        if f.kind == "choice":
            return f.choices[_index(text, len(f.choices))].value
        if f.kind == "multi":
            picks = [p for p in text.replace(" ", ",").split(",") if p]
            return [f.choices[_index(p, len(f.choices))].value for p in picks]
    except (ValueError, IndexError):
        return None
    return text


def _index(text: str, count: int) -> int:
    number = int(text)
    if not 1 <= number <= count:
        raise IndexError(number)
    return number - 1


async def _read_line(prompt: str) -> str | None:
    """``input(prompt)`` on a daemon thread (an unanswered prompt never keeps the process
    alive); None at the end of input."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def settle(text: str | None) -> None:
        if not future.done():
            future.set_result(text)

    def read() -> None:
        text: str | None
        try:
            sys.stderr.write(prompt)
            sys.stderr.flush()
            line = sys.stdin.readline()
            text = line.rstrip("\n") if line else None
        except (OSError, ValueError):
            text = None
        loop.call_soon_threadsafe(settle, text)

    threading.Thread(target=read, name="keiko-elicitation", daemon=True).start()
    return await future
