"""The SDK side of elicitation: each server's ``elicitation_callback``.

``elicitation_hooks(broker)`` is a ``ClientFactory.hooks`` builder: every server's client is
opened with a callback that turns the SDK's request parameters into a core
``ElicitationRequest`` (form or URL mode), asks the ``ElicitationBroker`` and returns its
answer as ``types.ElicitResult`` (content only with an accepted form). The same callback
serves a standalone ``elicitation/create`` (the 2025 handshake) and the elicitations a
2026-07-28 server embeds in an ``InputRequiredResult`` (the SDK's input-required driver
dispatches them through it). Passing a callback is what makes the SDK advertise the
``elicitation`` capability, with both ``form`` and ``url``.

``UrlElicitations`` handles the other way a 2025-11-25 server asks for a link: it answers a
tool call with the error -32042 ("URL elicitation required") and may later send
``notifications/elicitation/complete``; ``ServerConnection.call`` hands such a call to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import mcp.types as types
from mcp import UrlElicitationRequiredError
from mcp.client.session import ClientRequestContext
from pydantic import ValidationError

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.elicitation import (
    ElicitAction,
    ElicitationBroker,
    answering_for,
    user_time,
)
from keiko_desktop.core.tools.errors import ToolCallError
from keiko_desktop.core.tools.models import ToolResult

log = logging.getLogger(__name__)


def elicitation_hooks(broker: ElicitationBroker) -> Any:
    """The ``ClientFactory.hooks`` builder lending each server its elicitation callback."""

    def build(server: str) -> dict[str, Any]:
        return {"elicitation_callback": elicitation_callback(broker, server)}

    return build


def elicitation_callback(broker: ElicitationBroker, server: str) -> Any:
    """The SDK ``ElicitationFnT`` for ``server``: the broker answers."""

    async def callback(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        if isinstance(params, types.ElicitRequestURLParams):
            request = broker.url(server, params.message, params.url)
        else:
            request = broker.form(server, params.message, params.requested_schema)
        with answering_for(context.session):  # the 2025 handshake asks from the receive loop
            outcome = await broker.ask(request)
        answer = outcome.answer
        if answer.action is ElicitAction.ACCEPT:
            return types.ElicitResult(action="accept", content=answer.content)
        if answer.action is ElicitAction.DECLINE:
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="cancel")

    return callback


MAX_URL_ELICITATIONS = 3
"""Links one "URL elicitation required" error may ask the user to visit; more are refused."""
_VISIT = "Try again and open the link when Keiko shows it, then finish what the page asks."


class LinkVisitNeededError(ToolCallError):
    """A server answered a call with -32042 ("URL elicitation required", 2025-11-25): it
    needs the user to visit the links in ``error.data`` first. Raised by
    ``ServerConnection.call``; ``UrlElicitations.call`` asks the user and retries."""

    def __init__(self, name: str, error: types.ErrorData) -> None:
        self.name = one_line(name, 200)
        super().__init__(f"{self.name} needs you to visit a link first.", _VISIT)
        self.error = error


class UrlElicitations:
    """A tool call that a server refused with -32042: each link goes to the user through the
    broker, as a URL-mode question; once they opened them all, the call waits (at most the
    broker's timeout) for the server's ``notifications/elicitation/complete`` for each id,
    and is retried once. A declined or cancelled link fails the call, saying so."""

    def __init__(self, broker: ElicitationBroker) -> None:
        self.broker = broker

    async def call(
        self,
        server: str,
        listeners: list[Callable[[Any], None]],
        attempt: Callable[[], Awaitable[ToolResult]],
        *,
        notified: bool = True,
    ) -> ToolResult:
        """``attempt()``, asking the user and retrying once when it raises
        ``LinkVisitNeededError``. ``notified``: the session can carry the completion
        notification (the 2025 handshake); without it the retry comes at once."""
        try:
            return await attempt()
        except LinkVisitNeededError as needed:
            links = self._links(needed)
            done = {e.elicitation_id or "": asyncio.Event() for e in links}
            listener = _completion_listener(done)
            listeners.append(listener)
            try:
                for link in links:
                    await self._ask(server, link, needed)
                if notified:
                    await self._completed(server, done)
            finally:
                listeners.remove(listener)
        try:
            return await attempt()
        except LinkVisitNeededError as again:
            raise ToolCallError(
                f"{again.name} still needs you to visit a link, after it was opened.",
                "Finish what the page asks in your browser, then try again.",
            ) from None

    def _links(self, needed: LinkVisitNeededError) -> list[types.ElicitRequestURLParams]:
        try:
            links = UrlElicitationRequiredError.from_error(needed.error).elicitations
        except (ValidationError, ValueError, TypeError, AttributeError):
            links = []
        unique = list({(e.elicitation_id, e.url): e for e in links}.values())
        if not unique:
            raise ToolCallError(
                f"{needed.name} needs you to visit a link, but sent none Keiko can read.",
                "The server does not follow the MCP spec; report it to its author.",
            ) from None
        if len(unique) > MAX_URL_ELICITATIONS:
            raise ToolCallError(
                f"{needed.name} needs you to visit {len(unique)} links; Keiko shows at most "
                f"{MAX_URL_ELICITATIONS}.",
                "Report it to the server's author.",
            ) from None
        return unique

    async def _ask(
        self, server: str, link: types.ElicitRequestURLParams, needed: LinkVisitNeededError
    ) -> None:
        request = self.broker.url(server, link.message, link.url)
        outcome = await self.broker.ask(request)
        if outcome.answer.action is not ElicitAction.ACCEPT:
            host = f" on {request.host}" if request.host else ""
            raise ToolCallError(
                f"{needed.name} needs you to visit a link{host}, and it was not opened "
                f"({outcome.reason}).",
                _VISIT,
            )

    async def _completed(self, server: str, done: dict[str, asyncio.Event]) -> None:
        """Wait for the server to say each link is done (bounded: it may never say)."""
        try:
            async with user_time(self.broker.timeout), asyncio.timeout(self.broker.timeout):
                await asyncio.gather(*(event.wait() for key, event in done.items() if key))
        except TimeoutError:
            log.info("%s did not say its links were done; retrying anyway", one_line(server, 100))


def _completion_listener(done: dict[str, asyncio.Event]) -> Callable[[Any], None]:
    def listener(message: Any) -> None:
        if isinstance(message, types.ElicitCompleteNotification):
            event = done.get(message.params.elicitation_id)
            if event is not None:  # an unknown id is ignored, as the spec says
                event.set()

    return listener
