"""What each server's SDK ``Client`` is lent besides its transport: the callbacks of the
client-side features (elicitation, sampling, logging, ...), one builder per feature.

A builder is called with the server's name each time its client is opened and returns keyword
arguments for ``mcp.Client`` (``elicitation_callback=...``, ``sampling_callback=...``). Builders
are registered on the ``ClientFactory`` (``factory.hooks.add(builder)``), so a feature lives in
its own module and the transport only merges what they give.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ClientKwargsBuilder = Callable[[str], dict[str, Any]]


class ClientHooks:
    """The registered builders; ``client_kwargs(server)`` merges what they return."""

    def __init__(self) -> None:
        self._builders: list[ClientKwargsBuilder] = []

    def add(self, builder: ClientKwargsBuilder) -> None:
        self._builders.append(builder)

    def client_kwargs(self, server: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for builder in self._builders:
            for key, value in builder(server).items():
                if key in merged:
                    raise ValueError(f"two client hooks both set {key!r}")
                merged[key] = value
        return merged
