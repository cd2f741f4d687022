"""Remote OpenAI-compatible endpoints: what the user configured, in ``endpoints.toml``.

An endpoint is a name, a base URL (``http://127.0.0.1:11434/v1``: Ollama, vLLM, a llama.cpp
server, LM Studio or a hosted API) and whether it needs an API key. The key itself never comes
here: it lives in the system keychain under ``endpoint_key_name(name)`` (``llm/endpoint_keys.py``),
so it is in no file, no database row and no log. Its models are ``<endpoint>/<model id>``.

The file (owner-only, written atomically)::

    [[endpoints]]
    name = "ollama"
    base_url = "http://127.0.0.1:11434/v1"
    api_key = false
    timeout = 60.0

Everything read from it is checked (a bad entry is a ``SettingsError`` naming the entry and the
field) and bounded: at most ``MAX_ENDPOINTS``, names of at most 32 characters.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import tomli_w

from keiko_desktop.core.errors import SettingsError
from keiko_desktop.core.events import Event
from keiko_desktop.core.private_files import private_dir, write_private_bytes
from keiko_desktop.core.toml_file import read_toml

ENDPOINTS_FILE = "endpoints.toml"
MAX_ENDPOINTS = 32
MAX_FILE_BYTES = 256 * 1024
NAME_RULE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
RESERVED_NAMES = frozenset({"llama.cpp", "local", "keiko"})
"""Backend names taken by Keiko itself (``llama.cpp`` is the local backend)."""

EndpointState = Literal["unknown", "checking", "online", "offline", "unauthorized", "error"]


@dataclass(frozen=True)
class Endpoint:
    """One configured server. ``api_key``: a key is kept for it in the keychain."""

    name: str
    base_url: str
    api_key: bool = False
    timeout: float = 60.0
    """Seconds to wait for the first byte of a reply (and between bytes of a stream)."""


@dataclass(frozen=True)
class EndpointStatus:
    """What Keiko last learned about an endpoint, for the model chooser and ``endpoints list``."""

    name: str
    state: EndpointState = "unknown"
    detail: str = ""
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointStatusChanged(Event):
    """An endpoint was checked (its models listed, or why not), added or removed."""

    status: EndpointStatus
    removed: bool = False


class EndpointManager(Protocol):
    """The configured endpoints, for the window and the CLI (``llm/endpoint_manager.py``):
    each is a model backend of the registry, its key in the keychain. Safe on the loop."""

    def endpoints(self) -> list[Endpoint]: ...

    def status(self, name: str) -> EndpointStatus: ...

    async def save(self, endpoint: Endpoint, api_key: str | None = None) -> EndpointStatus:
        """Add ``endpoint`` or change the one of its name, keep ``api_key`` in the keychain
        (None: leave the stored key as it is; "": forget it), register its backend and list
        its models. KeikoError when it cannot be saved (bad name or URL, no keychain)."""
        ...

    async def remove(self, name: str) -> None:
        """Forget the endpoint and its key; its models leave the registry."""
        ...

    async def check(self, name: str) -> EndpointStatus:
        """Connect, list its models and publish ``EndpointStatusChanged``."""
        ...

    async def check_all(self) -> None: ...

    async def aclose(self) -> None:
        """Close the endpoints' connections."""
        ...


def endpoint_key_name(name: str) -> str:
    """The keychain entry (service ``keiko-desktop``) that holds endpoint ``name``'s API key."""
    return f"endpoint.{name}.api_key"


def check_name(name: str) -> str:
    """``name`` if it can name an endpoint, else a SettingsError saying the rule."""
    if name in RESERVED_NAMES or not NAME_RULE.match(name):
        raise SettingsError(
            f"{name[:40]!r} cannot name an endpoint.",
            "Use 1-32 lower-case letters, digits, '-' or '_', starting with a letter or digit "
            "(not 'local', 'keiko' or 'llama.cpp').",
        )
    return name


def check_url(url: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) URL with a host; else SettingsError."""
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > 2048
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(ord(c) < 33 for c in url)
    ):
        raise SettingsError(
            f"{url[:80]!r} is not an endpoint URL.",
            "Give the server's OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 "
            "(no query or fragment).",
        )
    return url.rstrip("/")


def check_endpoint(endpoint: Endpoint) -> Endpoint:
    check_name(endpoint.name)
    check_url(endpoint.base_url)
    if not 1.0 <= endpoint.timeout <= 3600.0:
        raise SettingsError(
            f"Endpoint {endpoint.name}: timeout must be between 1 and 3600 seconds, "
            f"not {endpoint.timeout}.",
        )
    return Endpoint(endpoint.name, check_url(endpoint.base_url), endpoint.api_key, endpoint.timeout)


def endpoints_path(config_dir: Path) -> Path:
    return config_dir / ENDPOINTS_FILE


def load_endpoints(config_dir: Path) -> list[Endpoint]:
    """The configured endpoints in file order; [] when there is no file."""
    path = endpoints_path(config_dir)
    data = read_toml(path, MAX_FILE_BYTES)
    if data is None:
        return []
    return parse_endpoints(data, str(path))


def parse_endpoints(data: dict[str, Any], source: str = ENDPOINTS_FILE) -> list[Endpoint]:
    items = data.get("endpoints", [])
    if not isinstance(items, list):
        raise SettingsError(f"{source}: 'endpoints' must be a list of tables.")
    if len(items) > MAX_ENDPOINTS:
        raise SettingsError(f"{source} lists {len(items)} endpoints; at most {MAX_ENDPOINTS}.")
    endpoints: list[Endpoint] = []
    for i, item in enumerate(items):
        where = f"{source}, endpoint #{i + 1}"
        if not isinstance(item, dict):
            raise SettingsError(f"{where} is not a table.")
        unknown = sorted(set(item) - {"name", "base_url", "api_key", "timeout"})
        if unknown:
            raise SettingsError(f"{where} has unknown fields: {', '.join(unknown)}.")
        name, url = item.get("name"), item.get("base_url")
        key, timeout = item.get("api_key", False), item.get("timeout", 60.0)
        if not isinstance(name, str) or not isinstance(url, str):
            raise SettingsError(f"{where} needs a 'name' and a 'base_url' (strings).")
        if not isinstance(key, bool):
            raise SettingsError(f"{where}: 'api_key' must be true or false.")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise SettingsError(f"{where}: 'timeout' must be a number of seconds.")
        try:
            endpoint = check_endpoint(Endpoint(name, url, key, float(timeout)))
        except SettingsError as exc:
            raise SettingsError(f"{where}: {exc.message}", exc.hint) from None
        if any(e.name == endpoint.name for e in endpoints):
            raise SettingsError(f"{source} names the endpoint {endpoint.name!r} twice.")
        endpoints.append(endpoint)
    return endpoints


def save_endpoints(config_dir: Path, endpoints: list[Endpoint]) -> None:
    """Write ``endpoints.toml`` atomically, owner-only."""
    if len(endpoints) > MAX_ENDPOINTS:
        raise SettingsError(f"At most {MAX_ENDPOINTS} endpoints can be configured.")
    document = {"endpoints": [asdict(check_endpoint(e)) for e in endpoints]}
    path = endpoints_path(config_dir)
    try:
        private_dir(config_dir)
        write_private_bytes(path, tomli_w.dumps(document).encode("utf-8"))
    except OSError as exc:
        raise SettingsError(
            f"Cannot save {path}: {exc.strerror or exc}.",
            "Check that its folder is writable and the disk is not full.",
        ) from exc


def with_endpoint(endpoints: list[Endpoint], endpoint: Endpoint) -> list[Endpoint]:
    """``endpoints`` with ``endpoint`` added, or replacing the one of its name (same place)."""
    endpoint = check_endpoint(endpoint)
    out = [endpoint if e.name == endpoint.name else e for e in endpoints]
    if not any(e.name == endpoint.name for e in endpoints):
        out.append(endpoint)
    return out
