"""The SDK side of elicitation: each server's ``elicitation_callback``.

``elicitation_hooks(broker)`` is a ``ClientFactory.hooks`` builder: every server's client is
opened with a callback that turns the SDK's request parameters into a core
``ElicitationRequest`` (form or URL mode), asks the ``ElicitationBroker`` and returns its
answer as ``types.ElicitResult`` (content only with an accepted form). The same callback
serves a standalone ``elicitation/create`` (the 2025 handshake) and the elicitations a
2026-07-28 server embeds in an ``InputRequiredResult`` (the SDK's input-required driver
dispatches them through it). Passing a callback is what makes the SDK advertise the
``elicitation`` capability, with both ``form`` and ``url``.
"""

from __future__ import annotations

from typing import Any

import mcp.types as types
from mcp.client.session import ClientRequestContext

from keiko_desktop.core.tools.elicitation import ElicitAction, ElicitationBroker, answering_for


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
