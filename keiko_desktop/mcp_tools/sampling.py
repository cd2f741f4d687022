"""Sampling on the wire: each server's SDK ``sampling_callback``, lent through the client hooks.

``SamplingHook`` is a ``ClientKwargsBuilder`` (``ClientFactory.hooks.add``): for every server it
gives ``mcp.Client`` a callback that turns ``types.CreateMessageRequestParams`` into a core
``SamplingRequest`` (text only: images, audio, tool use and tool results are refused with the
reason), runs it through ``SamplingService.sample`` and answers ``types.CreateMessageResult`` or
``types.ErrorData``. The callback never raises: the SDK would turn an exception into a broken
call. Both protocol modes use it: a 2025 server's standalone ``sampling/createMessage`` and a
2026-07-28 tool's ``InputRequiredResult`` (``Resolve(Sample)``) go through the same callback.
``includeContext`` is ignored (Keiko shares no other conversation with a server).
"""

from __future__ import annotations

import logging
from typing import Any

from mcp import types
from mcp.client.session import ClientRequestContext

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.elicitation import answering_for
from keiko_desktop.core.tools.errors import ServerUnavailableError
from keiko_desktop.core.tools.ports import ToolPolicyRepository
from keiko_desktop.core.tools.sampling import (
    SamplingInvalidError,
    SamplingRefusedError,
    SamplingRequest,
)
from keiko_desktop.core.tools.sampling_service import (
    ModelGetter,
    SamplingPolicies,
    SamplingService,
)
from keiko_desktop.mcp_tools.pool import ServerPool

log = logging.getLogger(__name__)

USER_REJECTED = -1
"""The spec's code for a sampling request the user (or their policy) refused."""


async def sampling_service(
    pool: ServerPool,
    bus: EventBus,
    policies: ToolPolicyRepository | None,
    model: ModelGetter | None,
    approval_timeout: float,
) -> SamplingService:
    """The service over the pool's servers (their identity binds an Always), with its
    stored policies loaded."""

    def identity_of(server: str) -> str:
        try:
            return pool.connection(server).config.identity
        except ServerUnavailableError:
            raise LookupError(server) from None

    book = SamplingPolicies(policies, identity_of)
    await book.load()
    return SamplingService(book, model, bus, approval_timeout)


def _text_of(number: int, content: Any) -> str:
    blocks = content if isinstance(content, list) else [content]
    texts: list[str] = []
    for block in blocks:
        if isinstance(block, types.TextContent):
            texts.append(block.text)
            continue
        kind = getattr(block, "type", type(block).__name__)
        raise SamplingInvalidError(
            f"message {number} has {kind} content; Keiko's sampling takes text only"
        )
    return "\n\n".join(texts)


def request_from_params(server: str, params: types.CreateMessageRequestParams) -> SamplingRequest:
    """The core request from the SDK's params, or ``SamplingRefusedError`` saying why not."""
    if params.tools or params.tool_choice is not None:
        raise SamplingInvalidError("Keiko's sampling does not offer tools")
    messages = [
        (message.role, _text_of(number, message.content))
        for number, message in enumerate(params.messages, 1)
    ]
    preferences = params.model_preferences
    hints = [h.name for h in (preferences.hints or []) if h.name] if preferences else []
    return SamplingRequest.bounded(
        server,
        messages,
        params.max_tokens,
        system_prompt=params.system_prompt,
        temperature=params.temperature,
        stop_sequences=params.stop_sequences,
        model_hints=hints,
    )


def error_data(refusal: SamplingRefusedError) -> types.ErrorData:
    code = {
        "denied": USER_REJECTED,
        "invalid": types.INVALID_PARAMS,
    }.get(refusal.kind, types.INTERNAL_ERROR)
    hint = f" ({refusal.hint})" if refusal.hint else ""
    return types.ErrorData(code=code, message=refusal.message + hint)


class SamplingHook:
    """The ``sampling_callback`` for each server's client, over one ``SamplingService``."""

    def __init__(self, service: SamplingService) -> None:
        self.service = service

    def __call__(self, server: str) -> dict[str, Any]:
        async def sampling_callback(
            context: ClientRequestContext, params: types.CreateMessageRequestParams
        ) -> types.CreateMessageResult | types.ErrorData:
            with answering_for(context.session):  # the review's time is not the calls'
                return await self.answer(server, params)

        return {"sampling_callback": sampling_callback}

    async def answer(
        self, server: str, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        try:
            request = request_from_params(server, params)
            result = await self.service.sample(request)
        except SamplingRefusedError as refusal:
            log.info("sampling for %s refused: %s", server, refusal.message)
            return error_data(refusal)
        except Exception:
            log.exception("sampling for %s failed", server)
            return types.ErrorData(code=types.INTERNAL_ERROR, message="sampling failed in Keiko")
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=result.text),
            model=result.model,
            stop_reason=result.stop_reason,
        )
