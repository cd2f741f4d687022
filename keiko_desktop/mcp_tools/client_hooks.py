"""What each server's SDK ``Client`` is lent besides its transport: the callbacks of the
client-side features (elicitation, sampling, logging, ...), one builder per feature.

A builder is called with the server's name each time its client is opened and returns keyword
arguments for ``mcp.Client`` (``elicitation_callback=...``, ``sampling_callback=...``). Builders
are registered on the ``ClientFactory`` (``factory.hooks.add(builder)``), so a feature lives in
its own module and the transport only merges what they give.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

ClientKwargsBuilder = Callable[[str], dict[str, Any]]
ClientOpened = Callable[[str, Any], Awaitable[None]]
"""Called with the server's name and its open ``mcp.Client`` (a request once connected, such
as the 2025 handshake's ``logging/setLevel``)."""


class ClientHooks:
    """The registered builders; ``client_kwargs(server)`` merges what they return."""

    def __init__(self) -> None:
        self._builders: list[ClientKwargsBuilder] = []
        self._opened: list[ClientOpened] = []

    def add(self, builder: ClientKwargsBuilder) -> None:
        self._builders.append(builder)

    def add_opened(self, callback: ClientOpened) -> None:
        self._opened.append(callback)

    async def opened(self, server: str, client: Any) -> None:
        for callback in self._opened:
            await callback(server, client)

    def client_kwargs(self, server: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for builder in self._builders:
            for key, value in builder(server).items():
                if key in merged:
                    raise ValueError(f"two client hooks both set {key!r}")
                merged[key] = value
        return merged
