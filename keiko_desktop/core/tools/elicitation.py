"""Elicitation: a server asks the user for input in the middle of a tool call.

The MCP adapter (``mcp_tools/elicitation.py``) turns each ``elicitation/create`` (or each
elicitation embedded in a 2026-07-28 ``InputRequiredResult``) into an ``ElicitationRequest``
and hands it to the ``ElicitationBroker``, which asks the ``Elicitor`` registered on it (the
window's dialog, the terminal) and returns the answer: accept (with the form's content),
decline or cancel. As with tool approvals (``approvals.ApprovalBroker``): no elicitor is a
decline that says why, and no answer within the timeout (or a stopped call) is a cancel.

Form mode shows a form parsed from the requested schema (``elicitation_form``); a schema the
spec does not allow is still shown to the user, with the reason and no form, so all they can
do is decline. URL mode asks the user to open a link in their browser; only http and https
links are offered, and the host is shown on its own so a look-alike link is easier to spot.
An accepted form is completed with the server's defaults and checked again here, whoever
answered: a server never gets content that does not fit its own schema.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.core.tools.elicitation_form import ElicitForm, UnsupportedFormError, parse_form

log = logging.getLogger(__name__)

DEFAULT_ELICITATION_TIMEOUT = 300.0
"""Seconds a question waits for the user before it is cancelled."""
MAX_MESSAGE = 4_000
MAX_URL = 2_000
MAX_PENDING_PER_SERVER = 4
"""Questions one server may have open at once; more are declined at once."""
_ids = itertools.count(1)
_deadlines: ContextVar[tuple[asyncio.Timeout, ...]] = ContextVar("answer_deadlines", default=())


_in_flight: weakref.WeakKeyDictionary[Any, set[asyncio.Timeout]] = weakref.WeakKeyDictionary()
"""The limits of the calls in flight on each session (the key: the SDK session object)."""


class paused_while_answering:  # noqa: N801 - used like asyncio.timeout
    """While in this block (``async with``), the time the user takes to answer a question
    (asked from this task, or a task it starts) does not count against ``scope``: the broker
    moves its deadline on by the time waited. A tool call's and an agent step's limits use
    it, so a slow typist does not time the tool out (approvals are outside those limits).

    With ``session`` (the call's SDK session) the limit is also registered as in flight on
    it: on the 2025 handshake a question arrives in the session's receive loop, not in this
    task, and ``answering_for(session)`` is how it finds the limits to move."""

    def __init__(self, scope: asyncio.Timeout, session: object | None = None) -> None:
        self._scope = scope
        self._session = session
        self._token: Token[tuple[asyncio.Timeout, ...]] | None = None

    async def __aenter__(self) -> None:
        self._token = _deadlines.set((*_deadlines.get(), self._scope))
        if self._session is not None:
            _in_flight.setdefault(self._session, set()).add(self._scope)

    async def __aexit__(self, *_exc: object) -> None:
        if self._token is not None:
            _deadlines.reset(self._token)
        if self._session is not None:
            _in_flight.get(self._session, set()).discard(self._scope)


@contextmanager
def answering_for(session: object) -> Iterator[None]:
    """In this block, ``user_time`` also moves the limits of every call in flight on
    ``session``: a server's question (or sampling request) on the 2025 handshake runs in the
    SDK's receive loop, which cannot tell which call of the session asked."""
    token = _deadlines.set((*_deadlines.get(), *_in_flight.get(session, ())))
    try:
        yield
    finally:
        _deadlines.reset(token)


class user_time:  # noqa: N801 - used like asyncio.timeout
    """The time the user takes inside this block (``async with user_time(budget)``, at most
    ``budget`` seconds) does not count against the limits of the call that asked
    (``paused_while_answering``, ``answering_for``): a question, a sampling review."""

    def __init__(self, budget: float) -> None:
        self._budget = budget
        self._scopes: tuple[asyncio.Timeout, ...] = ()
        self._started = 0.0

    async def __aenter__(self) -> None:
        self._scopes = tuple(dict.fromkeys(_deadlines.get()))  # each limit moved once
        _move_deadlines(self._scopes, self._budget)
        self._started = time.monotonic()

    async def __aexit__(self, *_exc: object) -> None:
        _move_deadlines(self._scopes, (time.monotonic() - self._started) - self._budget)


def _move_deadlines(scopes: tuple[asyncio.Timeout, ...], seconds: float) -> None:
    for scope in scopes:
        when = scope.when()
        if when is not None and not scope.expired():
            scope.reschedule(when + seconds)


class ElicitAction(StrEnum):
    """The user's answer, as the spec names it."""

    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"


@dataclass(frozen=True)
class ElicitAnswer:
    """An answer: ``content`` only with an accepted form (None otherwise)."""

    action: ElicitAction
    content: dict[str, Any] | None = None

    @classmethod
    def accept(cls, content: dict[str, Any] | None = None) -> ElicitAnswer:
        return cls(ElicitAction.ACCEPT, content)

    @classmethod
    def decline(cls) -> ElicitAnswer:
        return cls(ElicitAction.DECLINE)

    @classmethod
    def cancel(cls) -> ElicitAnswer:
        return cls(ElicitAction.CANCEL)


@dataclass(frozen=True)
class ElicitationRequest:
    """One question from ``server``. ``message`` is escaped and bounded already.

    ``form`` is set in form mode when the schema is one Keiko can show; ``url`` in URL mode
    when the link is http(s). ``problem`` says, in words, why a question cannot be answered
    (a schema outside the spec, a link that is not http or https): then only declining is
    offered.
    """

    server: str
    mode: Literal["form", "url"]
    message: str
    timeout: float
    form: ElicitForm | None = None
    url: str = ""
    problem: str = ""
    id: int = field(default_factory=lambda: next(_ids))
    created: float = field(default_factory=time.monotonic)

    @property
    def host(self) -> str:
        """The URL's host (escaped), shown apart from the link."""
        return one_line(urlsplit(self.url).hostname or "", 255) if self.url else ""

    @property
    def shown_url(self) -> str:
        return one_line(self.url, MAX_URL)

    def remaining(self) -> float:
        """Seconds left before no answer becomes a cancel."""
        return max(0.0, self.timeout - (time.monotonic() - self.created))


def form_request(server: str, message: str, schema: Any, timeout: float) -> ElicitationRequest:
    """The request for a form-mode question (``problem`` set when the schema is refused)."""
    text = _message(message)
    try:
        form = parse_form(schema)
    except UnsupportedFormError as exc:
        reason = f"Keiko cannot show this form: {exc.reason}."
        return ElicitationRequest(server, "form", text, timeout, problem=reason)
    return ElicitationRequest(server, "form", text, timeout, form=form)


def url_request(server: str, message: str, url: str, timeout: float) -> ElicitationRequest:
    """The request for a URL-mode question (``problem`` set when the link is not offered)."""
    text = _message(message)
    problem = url_problem(url)
    if problem:
        return ElicitationRequest(server, "url", text, timeout, url=url[:MAX_URL], problem=problem)
    return ElicitationRequest(server, "url", text, timeout, url=url)


def url_problem(url: str) -> str:
    """Why ``url`` is not offered to open ("" when it is)."""
    if len(url) > MAX_URL:
        return f"Keiko does not open this link: it is longer than {MAX_URL} characters."
    if any(c.isspace() or not c.isprintable() for c in url):
        return "Keiko does not open this link: it holds spaces or control characters."
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "Keiko opens only http and https links, and this is not one."
    return ""


def _message(message: str) -> str:
    text = printable(message if isinstance(message, str) else "")
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + f"… ({len(text) - MAX_MESSAGE:,} more characters)"
    return text


class Elicitor(Protocol):
    """Answers a server's questions: the window's dialog, the terminal.

    The broker cancels ``elicit`` when the question times out or the call that asked is
    stopped: it should then stop asking (close its dialog). An exception is a cancel.
    """

    async def elicit(self, request: ElicitationRequest) -> ElicitAnswer: ...


@dataclass(frozen=True)
class ElicitationOutcome:
    """What goes back to the server, and why, in words (for the log)."""

    answer: ElicitAnswer
    reason: str = ""


class ElicitationBroker:
    """Hands questions to the registered elicitor and waits for the answer."""

    def __init__(
        self, timeout: float = DEFAULT_ELICITATION_TIMEOUT, elicitor: Elicitor | None = None
    ) -> None:
        self.timeout = timeout
        self._elicitor = elicitor
        self._pending: dict[int, ElicitationRequest] = {}

    @property
    def elicitor(self) -> Elicitor | None:
        return self._elicitor

    def set_elicitor(self, elicitor: Elicitor | None) -> None:
        """Who answers from now on (None: nobody, so every question is declined)."""
        self._elicitor = elicitor

    def pending(self) -> list[ElicitationRequest]:
        return list(self._pending.values())

    def form(self, server: str, message: str, schema: Any) -> ElicitationRequest:
        return form_request(server, message, schema, self.timeout)

    def url(self, server: str, message: str, url: str) -> ElicitationRequest:
        return url_request(server, message, url, self.timeout)

    async def ask(self, request: ElicitationRequest) -> ElicitationOutcome:
        """Ask the elicitor ``request`` and wait, at most ``request.timeout`` seconds."""
        who = one_line(request.server, 100)
        elicitor = self._elicitor
        if elicitor is None:
            return _logged(ElicitAnswer.decline(), f"{who} asked for input, and nobody can answer")
        open_here = sum(1 for r in self._pending.values() if r.server == request.server)
        if open_here >= MAX_PENDING_PER_SERVER:
            return _logged(ElicitAnswer.decline(), f"{who} has too many questions open")
        self._pending[request.id] = request
        try:  # the limits of the call that asks do not count the user's time
            async with user_time(request.timeout), asyncio.timeout(request.timeout):
                answer = await elicitor.elicit(request)
        except TimeoutError:
            return _logged(ElicitAnswer.cancel(), f"no one answered {who} in time")
        except Exception:
            log.exception("the elicitor failed on a question from %s", who)
            return _logged(ElicitAnswer.cancel(), f"the question from {who} could not be asked")
        finally:
            self._pending.pop(request.id, None)
        return self._checked(request, answer)

    def _checked(self, request: ElicitationRequest, answer: ElicitAnswer) -> ElicitationOutcome:
        who = one_line(request.server, 100)
        if answer.action is not ElicitAction.ACCEPT:
            return _logged(ElicitAnswer(answer.action), f"the user chose {answer.action} ({who})")
        if request.problem:  # nothing can be accepted: the user saw why
            return _logged(ElicitAnswer.decline(), request.problem)
        if request.mode == "url":
            return _logged(ElicitAnswer.accept(), f"the user opened the link of {who}")
        assert request.form is not None
        content = request.form.complete(answer.content or {})
        problems = request.form.problems(content)
        if problems:
            text = "; ".join(problems.values())
            return _logged(ElicitAnswer.cancel(), f"an answer that does not fit ({text})")
        return _logged(ElicitAnswer.accept(content), f"the user answered {who}")


def _logged(answer: ElicitAnswer, reason: str) -> ElicitationOutcome:
    log.info("elicitation: %s: %s", answer.action, reason)
    return ElicitationOutcome(answer, reason)


def describe_value(value: Any) -> str:
    """A value for a person (the terminal's prompt, a summary), escaped."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(one_line(str(v), 100) for v in value) or "(none)"
    return one_line(str(value), 200)


def content_summary(form: ElicitForm, content: Mapping[str, Any]) -> str:
    """One line per answered field, for the terminal's confirmation."""
    return "\n".join(
        f"  {f.label}: {describe_value(content[f.name])}" for f in form.fields if f.name in content
    )
