"""The catalog of recommended models (``catalog.toml`` beside this module), loaded and checked.

The catalog is package data, read with ``importlib.resources``, so it ships in the wheel.

``load_catalog()`` returns frozen ``CatalogEntry`` objects; a malformed file is a
``CatalogError`` naming the file, the entry and the field. ``download_url(entry, mirror)`` is
where a download comes from: the entry's Hugging Face URL, or the same path on a mirror
(``Settings.model_download_mirror``); ``allowed_url`` is the rule every URL of a download, its
redirects too, must pass (https; plain http only to this machine).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from keiko_desktop.core.errors import KeikoError

DEFAULT_CATALOG: Traversable = files("keiko_desktop.llm").joinpath("catalog.toml")

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
HF_ORIGIN = "https://huggingface.co"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_URL = re.compile(r"^https://huggingface\.co/[^/\s]+/[^/\s]+/resolve/[^/\s]+/\S+\.gguf$")


class CatalogError(KeikoError):
    """The model catalog file is missing or malformed."""


@dataclass(frozen=True)
class CatalogEntry:
    """One recommended model."""

    name: str
    title: str
    parameters: str
    quantization: str
    size_bytes: int
    ram_gb: float
    license: str
    url: str
    sha256: str  # "" until filled in on a verified download
    bundled: bool = False
    description: str = ""

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


# field -> (type, required)
_FIELDS: dict[str, tuple[type, bool]] = {
    "name": (str, True),
    "title": (str, True),
    "parameters": (str, True),
    "quantization": (str, True),
    "size_bytes": (int, True),
    "ram_gb": (float, True),
    "license": (str, True),
    "url": (str, True),
    "sha256": (str, True),
    "bundled": (bool, False),
    "description": (str, False),
}


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    """Read and check the catalog; entries in file order."""
    source: Path | Traversable = path or DEFAULT_CATALOG
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(
            f"Cannot read the model catalog {source}: {exc.strerror or exc}.",
            "Reinstall Keiko; the catalog ships with it.",
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"The model catalog {source} is not valid TOML: {exc}.") from exc
    return parse_catalog(data, str(source))


def parse_catalog(data: dict[str, Any], source: str = "catalog") -> list[CatalogEntry]:
    """Check already-parsed TOML data and build the entries."""
    raw = data.get("models")
    if not isinstance(raw, list) or not raw:
        raise CatalogError(f"{source} has no [[models]] entries.")
    entries = [_entry(item, i, source) for i, item in enumerate(raw)]
    names = [e.name for e in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CatalogError(f"{source} lists these models twice: {', '.join(dupes)}.")
    if sum(e.bundled for e in entries) != 1:
        raise CatalogError(f"{source} must mark exactly one model as bundled.")
    return entries


def _entry(item: object, index: int, source: str) -> CatalogEntry:
    where = f"{source}, model #{index + 1}"
    if not isinstance(item, dict):
        raise CatalogError(f"{where} is not a table.")
    if isinstance(item.get("name"), str):
        where = f"{source}, model {item['name']!r}"
    unknown = sorted(set(item) - set(_FIELDS))
    if unknown:
        raise CatalogError(f"{where} has unknown fields: {', '.join(unknown)}.")
    values: dict[str, Any] = {}
    for key, (kind, required) in _FIELDS.items():
        if key not in item:
            if required:
                raise CatalogError(f"{where} lacks the field {key!r}.")
            continue
        value = item[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CatalogError(f"{where}: {key!r} must be {kind.__name__}, not {value!r}.")
        values[key] = value
    entry = CatalogEntry(**values)
    problems = []
    if not _NAME.match(entry.name):
        problems.append("'name' must be lower-case letters, digits, '.', '-' or '_'")
    if entry.size_bytes <= 0:
        problems.append("'size_bytes' must be positive")
    if entry.ram_gb <= 0:
        problems.append("'ram_gb' must be positive")
    if not _URL.match(entry.url):
        problems.append("'url' must be a huggingface.co .../resolve/<rev>/<file>.gguf URL")
    if entry.sha256 and not _SHA256.match(entry.sha256):
        problems.append("'sha256' must be 64 lower-case hex digits, or empty")
    for key in ("title", "parameters", "quantization", "license"):
        if not values[key].strip():
            problems.append(f"{key!r} must not be empty")
    if problems:
        raise CatalogError(f"{where}: {'; '.join(problems)}.")
    return entry


def allowed_url(url: str) -> bool:
    """Whether a download may fetch ``url``: https, or http to a loopback address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if not host or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK)


def download_url(entry: CatalogEntry, mirror: str = "") -> str:
    """The URL to fetch ``entry`` from: its own, or ``mirror`` in place of huggingface.co."""
    mirror = mirror.strip().rstrip("/")
    if not mirror:
        return entry.url
    try:
        parts = urlsplit(mirror)
    except ValueError:
        parts = urlsplit("")
    if not allowed_url(mirror) or parts.query or parts.fragment:
        raise CatalogError(
            f"The download mirror {mirror!r} is not a usable URL.",
            "Set model_download_mirror to an https:// address (plain http only for "
            "127.0.0.1), or leave it empty for Hugging Face.",
        )
    return mirror + entry.url[len(HF_ORIGIN) :]
