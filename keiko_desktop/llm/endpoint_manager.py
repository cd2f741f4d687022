"""``EndpointService``: the configured OpenAI-compatible endpoints, as registry backends.

Implements ``core.endpoints.EndpointManager``. Each endpoint of ``endpoints.toml`` becomes an
``OpenAIBackend`` registered on the ``ModelRegistry`` under its name, so ``ollama/llama3``
resolves and loads like any model, and its models are listed once it has been checked. Keys go
to the keychain (``endpoint_keys``); they are read off the loop (``load``, ``save``) and kept in
memory only, so a request never waits on the keychain. Nothing here writes a key to a file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from keiko_desktop.core.endpoints import (
    Endpoint,
    EndpointStatus,
    EndpointStatusChanged,
    check_endpoint,
    load_endpoints,
    save_endpoints,
    with_endpoint,
)
from keiko_desktop.core.errors import KeikoError, SettingsError
from keiko_desktop.core.events import EventBus
from keiko_desktop.llm.endpoint_keys import forget_key, read_key, store_key
from keiko_desktop.llm.openai_backend import OpenAIBackend
from keiko_desktop.llm.registry import ModelRegistry

log = logging.getLogger(__name__)


class EndpointService:
    """The endpoints of ``config_dir/endpoints.toml`` and their backends on ``registry``."""

    def __init__(
        self,
        config_dir: Path,
        registry: ModelRegistry,
        bus: EventBus,
        *,
        key_reader: Callable[[str], str | None] = read_key,
    ) -> None:
        self._config_dir = config_dir
        self._registry = registry
        self._bus = bus
        self._read_key = key_reader
        self._endpoints: list[Endpoint] = []
        self._backends: dict[str, OpenAIBackend] = {}
        self._status: dict[str, EndpointStatus] = {}
        self._keys: dict[str, str | None] = {}
        self.load_error: KeikoError | None = None
        """Why ``endpoints.toml`` could not be read (the endpoints are then none)."""

    # ------------------------------------------------------------------ reading
    def read(self) -> list[Endpoint]:
        """Blocking (run it in a thread): ``endpoints.toml`` and the keys of its endpoints.

        A broken file gives no endpoints and keeps its error in ``load_error``."""
        try:
            endpoints = load_endpoints(self._config_dir)
        except SettingsError as exc:
            log.error("endpoints: %s", exc.message)
            self.load_error = exc
            return []
        for endpoint in endpoints:
            self._keys[endpoint.name] = self._read_key(endpoint.name) if endpoint.api_key else None
        return endpoints

    async def load(self) -> None:
        """Read the endpoints (off the loop) and register a backend for each."""
        self._apply(await asyncio.to_thread(self.read))

    def endpoints(self) -> list[Endpoint]:
        return list(self._endpoints)

    def status(self, name: str) -> EndpointStatus:
        return self._status.get(name, EndpointStatus(name))

    def backend(self, name: str) -> OpenAIBackend | None:
        return self._backends.get(name)

    # ------------------------------------------------------------------ changing
    async def save(self, endpoint: Endpoint, api_key: str | None = None) -> EndpointStatus:
        endpoint = check_endpoint(endpoint)
        if api_key:
            await asyncio.to_thread(store_key, endpoint.name, api_key)
            endpoint = replace(endpoint, api_key=True)
            self._keys[endpoint.name] = api_key
        elif api_key == "":
            await asyncio.to_thread(forget_key, endpoint.name)
            endpoint = replace(endpoint, api_key=False)
            self._keys[endpoint.name] = None
        else:
            old = next((e for e in self._endpoints if e.name == endpoint.name), None)
            endpoint = replace(endpoint, api_key=old.api_key if old else endpoint.api_key)
        endpoints = with_endpoint(self._endpoints, endpoint)
        await asyncio.to_thread(save_endpoints, self._config_dir, endpoints)
        self._apply(endpoints)
        return await self.check(endpoint.name)

    async def remove(self, name: str) -> None:
        if not any(e.name == name for e in self._endpoints):
            raise SettingsError(
                f"There is no endpoint named {name!r}.",
                "See `keiko endpoints list` for the names.",
            )
        endpoints = [e for e in self._endpoints if e.name != name]
        await asyncio.to_thread(save_endpoints, self._config_dir, endpoints)
        await asyncio.to_thread(forget_key, name)
        self._apply(endpoints)
        self._status.pop(name, None)
        self._keys.pop(name, None)
        self._bus.publish(EndpointStatusChanged(EndpointStatus(name), removed=True))

    async def check(self, name: str) -> EndpointStatus:
        backend = self._backends.get(name)
        if backend is None:
            raise SettingsError(
                f"There is no endpoint named {name!r}.",
                "See `keiko endpoints list` for the names.",
            )
        checking = EndpointStatus(name, "checking", "", self.status(name).models)
        self._status[name] = checking
        self._bus.publish(EndpointStatusChanged(checking))
        status = await backend.refresh()
        log.info("endpoint %s is %s: %s", name, status.state, status.detail)
        if name in self._backends:  # not removed meanwhile
            self._status[name] = status
            self._bus.publish(EndpointStatusChanged(status))
        return status

    async def check_all(self) -> None:
        """Check every endpoint at once (at start, in the background); never raises."""
        results = await asyncio.gather(
            *(self.check(name) for name in list(self._backends)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, KeikoError):
                log.error("checking an endpoint failed", exc_info=result)

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()

    # ------------------------------------------------------------------ internals
    def _apply(self, endpoints: list[Endpoint]) -> None:
        """Make the registry's endpoint backends match ``endpoints``."""
        wanted = {e.name: e for e in endpoints}
        for name in list(self._backends):
            if name not in wanted or self._backends[name].endpoint != wanted[name]:
                old = self._backends.pop(name)
                self._registry.unregister_backend(name)
                asyncio_close_later(old)
        for endpoint in endpoints:
            if endpoint.name not in self._backends:
                backend = OpenAIBackend(endpoint, self._key_for(endpoint), bus=self._bus)
                self._backends[endpoint.name] = backend
                self._registry.register_backend(backend)
        self._endpoints = list(endpoints)

    def _key_for(self, endpoint: Endpoint) -> Callable[[], str | None]:
        name = endpoint.name
        return lambda: self._keys.get(name)


def asyncio_close_later(backend: OpenAIBackend) -> None:
    """Close a replaced backend's connections once the loop gets to it (none: nothing to do)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(backend.aclose())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[None]] = set()
