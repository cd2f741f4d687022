"""``OpenAIBackend``: one OpenAI-compatible endpoint as a ``ModelBackend`` of the registry.

Its models are ``<endpoint>/<model id>``. ``refresh()`` lists them (``GET {base_url}/models``,
at most 4 MiB, 500 models, ids of at most 200 printable characters) and says how the endpoint
is: ``online``, ``offline`` (refused, DNS or timeout, and which), ``unauthorized`` (401/403)
or ``error``. ``resolve`` answers for any ``<endpoint>/<id>`` even when the endpoint is offline
now; ``load`` checks once that it answers, so an unreachable endpoint is a ``ModelLoadError``
at once (``ModelManager`` then falls back to the bundled model).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from keiko_desktop.core.config import Settings
from keiko_desktop.core.endpoints import (
    Endpoint,
    EndpointState,
    EndpointStatus,
    EndpointStatusChanged,
)
from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ModelInfo
from keiko_desktop.llm.openai_client import EndpointRequestError, OpenAIClient
from keiko_desktop.llm.openai_model import OpenAIChatModel, key_hint

log = logging.getLogger(__name__)

MAX_MODELS_BYTES = 4 << 20
MAX_MODELS = 500
MAX_ID_CHARS = 200

_OFFLINE = frozenset({"refused", "dns", "timeout", "network"})


def valid_id(model_id: object) -> bool:
    return (
        isinstance(model_id, str)
        and 0 < len(model_id) <= MAX_ID_CHARS
        and model_id.isprintable()
        and model_id.strip() == model_id
    )


def read_model_ids(data: Any) -> tuple[list[str], int]:
    """The model ids of a ``/models`` answer (``{"data": [{"id": …}, …]}``) and how many
    entries were left out (not a valid id, a repeat, or past ``MAX_MODELS``). ValueError when
    it is not such an answer."""
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError('its model list is not an OpenAI-style {"data": [...]} object')
    ids: list[str] = []
    seen: set[str] = set()
    for item in items:
        model_id = item.get("id") if isinstance(item, dict) else None
        if valid_id(model_id) and model_id not in seen and len(ids) < MAX_MODELS:
            assert isinstance(model_id, str)
            ids.append(model_id)
            seen.add(model_id)
    return ids, len(items) - len(ids)


class OpenAIBackend:
    """The models of one endpoint (implements ``llm.registry.ModelBackend``).

    ``api_key`` is asked for the key each time a request is made (the keychain's entry, or
    None); the key goes only into the request's ``Authorization`` header.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        api_key: Callable[[], str | None],
        *,
        bus: EventBus | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name
        self._api_key = api_key
        self._bus = bus
        self._client = OpenAIClient(endpoint, api_key)
        self._status = EndpointStatus(endpoint.name)
        self._models: tuple[str, ...] = ()

    @property
    def status(self) -> EndpointStatus:
        """What the last ``refresh`` learned (``unknown`` before the first)."""
        return self._status

    async def refresh(self) -> EndpointStatus:
        """List the endpoint's models; publishes ``EndpointStatusChanged`` when what is known
        of it changed. Never raises for what the server does."""
        where = f"{self.name} ({self.endpoint.base_url})"
        state: EndpointState
        try:
            data = await self._client.get_json("models", MAX_MODELS_BYTES)
            ids, dropped = read_model_ids(data)
        except EndpointRequestError as failure:
            state, detail, ids = _failure_state(failure, self.name), failure.message, []
        except ValueError as exc:
            state, detail, ids = "error", f"The endpoint {where} answered, but {exc}.", []
        else:
            state = "online"
            detail = f"The endpoint {where} is online with {len(ids)} model{'s' * (len(ids) != 1)}."
            if dropped:
                detail += (
                    f" {dropped} more entries were left out "
                    f"(invalid ids, repeats or past {MAX_MODELS})."
                )
        if state == "online":
            self._models = tuple(ids)
        status = EndpointStatus(self.name, state, detail, self._models if state == "online" else ())
        changed = status != self._status
        self._status = status
        if changed and self._bus is not None:
            self._bus.publish(EndpointStatusChanged(status))
        return status

    def _info(self, model_id: str) -> ModelInfo:
        return ModelInfo(
            name=f"{self.name}/{model_id}",
            path=model_id,
            size_bytes=0,
            backend=self.name,
            description=f"on {self.name} ({self.endpoint.base_url})",
        )

    def list_models(self) -> list[ModelInfo]:
        """The models the last successful ``refresh`` listed."""
        return [self._info(model_id) for model_id in self._models]

    def resolve(self, model_id: str) -> ModelInfo | None:
        """``<endpoint>/<id>`` as this endpoint's model, listed or not; None otherwise."""
        prefix, slash, rest = model_id.strip().partition("/")
        if not slash or prefix != self.name or not valid_id(rest):
            return None
        return self._info(rest)

    async def load(self, info: ModelInfo, settings: Settings) -> OpenAIChatModel:
        """Check the endpoint answers, then the model to talk to; ModelLoadError when it does
        not, or does not offer the model (when its list is complete)."""
        status = await self.refresh()
        if status.state == "unauthorized":
            raise ModelLoadError(f"Cannot use {info.name}: {status.detail}", key_hint(self.name))
        if status.state != "online":
            raise ModelLoadError(
                f"Cannot use {info.name}: {status.detail}",
                f"Start the server behind {self.name}, or check its URL: "
                f"keiko endpoints list. Keiko uses the bundled model meanwhile.",
            )
        if info.path not in self._models and len(self._models) < MAX_MODELS:
            offered = ", ".join(self._models[:10]) or "none"
            raise ModelLoadError(
                f"The endpoint {self.name} does not offer the model {info.path!r}.",
                f"It offers: {offered}.",
            )
        client = OpenAIClient(self.endpoint, self._api_key)
        return OpenAIChatModel(client, info.path, info.name, settings.context_size)

    async def aclose(self) -> None:
        await self._client.aclose()


def _failure_state(failure: EndpointRequestError, name: str) -> EndpointState:
    if failure.kind in _OFFLINE:
        return "offline"
    if failure.kind == "unauthorized":
        return "unauthorized"
    return "error"
