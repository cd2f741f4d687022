"""Fallback chains: when a reply's model cannot be reached, the next model of the chain answers.

A chain is the agent's ``fallbacks`` when the conversation is bound to an agent that has them,
else the ``model_fallbacks`` setting (e.g. a remote model, then the bundled one). Only a
``ModelUnavailableError`` raised before the reply wrote anything moves on down the chain (the
endpoint refused the connection, timed out, was overloaded or failed); a wrong key, an unknown
model or a stream cut mid-reply is the user's to see, not hidden behind another model. The
model that answered says so in a note on the reply (``messages.note``), for the reader only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, TypeVar

from keiko_desktop.core.errors import ModelLoadError, ModelUnavailableError
from keiko_desktop.core.ports import ChatModel, ModelProvider

if TYPE_CHECKING:
    from keiko_desktop.core.agents.profiles import AgentProfile
    from keiko_desktop.core.config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
Lease = Callable[[str], AbstractAsyncContextManager[ChatModel]]

_NO_MODEL_HINT = (
    "Check the endpoint (`keiko endpoints test NAME`, or Settings › Endpoints), or add a local "
    "model to Fallback models in Settings › Model."
)


def fallback_chain(settings: Settings, agent: AgentProfile | None) -> tuple[str, ...]:
    """The models to try, in order, when the reply's own model cannot be reached."""
    if agent is not None and agent.fallbacks:
        return agent.fallbacks
    return settings.model_fallbacks


def fallback_note(answered: str, failures: Sequence[tuple[str, str]]) -> str:
    """``Answered by smollm2-135m-instruct: ollama/llama3 could not be reached (…).``"""
    reasons = "; ".join(
        f"{name} could not be reached ({reason.rstrip('.')})" for name, reason in failures
    )
    return f"Answered by {answered}: {reasons}."


@contextlib.asynccontextmanager
async def _loaded(
    name: str, lease: Lease | None, provider: ModelProvider
) -> AsyncIterator[ChatModel]:
    if lease is not None:
        async with lease(name) as model:
            yield model
        return
    model = await provider.load(provider.resolve(name))
    try:
        yield model
    finally:
        await model.aclose()


async def answer_with_fallbacks(
    primary: Callable[[], Awaitable[T]],
    primary_name: Callable[[], str],
    chain: Sequence[str],
    answer: Callable[[ChatModel], Awaitable[T]],
    *,
    started: Callable[[], bool],
    lease: Lease | None,
    provider: ModelProvider,
) -> tuple[T, str | None]:
    """``primary()``'s result, or the first model of ``chain`` that can answer (``answer``).

    Returns the result and the note to show (None when the primary answered). ``started()``
    says whether the reply has written anything: after that nothing falls back;
    ``primary_name()`` names the model that failed (known once it was loaded)."""
    try:
        return await primary(), None
    except ModelUnavailableError as exc:
        if started() or not chain:
            raise
        failed = primary_name()
        failures = [(failed, exc.message)]
        log.warning("%s cannot be reached, trying the fallbacks: %s", failed, exc.message)
    tried = {failed.casefold()}
    for name in chain:
        if name.casefold() in tried:
            continue
        tried.add(name.casefold())
        try:
            async with _loaded(name, lease, provider) as model:
                if model.name.casefold() in tried - {name.casefold()}:
                    continue
                result = await answer(model)
                return result, fallback_note(model.name, failures)
        except (ModelUnavailableError, ModelLoadError) as exc:
            if started():
                raise
            failures.append((name, exc.message))
            log.warning("fallback %s failed too: %s", name, exc.message)
    reasons = "; ".join(f"{name}: {reason.rstrip('.')}" for name, reason in failures)
    raise ModelUnavailableError(f"No model could answer. {reasons}.", _NO_MODEL_HINT)
