"""The shipped catalog (keiko_desktop/llm/catalog.toml) loads, is consistent, and bad catalogs
are rejected with clear errors."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from keiko_desktop.llm.catalog import (
    DEFAULT_CATALOG,
    CatalogEntry,
    CatalogError,
    load_catalog,
    parse_catalog,
)
from keiko_desktop.llm.registry import BUNDLED_FILE, BUNDLED_NAME


def raw() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_CATALOG.read_text(encoding="utf-8"))


def test_shipped_catalog_loads() -> None:
    entries = load_catalog()
    assert 6 <= len(entries) <= 9
    assert all(isinstance(e, CatalogEntry) for e in entries)
    names = [e.name for e in entries]
    assert len(set(names)) == len(names)
    for e in entries:
        assert e.url.startswith("https://huggingface.co/")
        assert "/resolve/" in e.url
        assert e.filename.endswith(".gguf")
        assert e.size_bytes > 0
        assert e.ram_gb * 1e9 > e.size_bytes  # running takes more than the file
        assert e.sha256 == "" or len(e.sha256) == 64


def test_bundled_entry_matches_the_shipped_file(bundled_gguf: Path) -> None:
    [bundled] = [e for e in load_catalog() if e.bundled]
    assert bundled.name == BUNDLED_NAME
    assert bundled.filename == BUNDLED_FILE
    assert bundled.size_bytes == bundled_gguf.stat().st_size
    digest = hashlib.sha256(bundled_gguf.read_bytes()).hexdigest()
    assert bundled.sha256 == digest


def test_entries_are_frozen() -> None:
    entry = load_catalog()[0]
    with pytest.raises(AttributeError):
        entry.name = "x"  # type: ignore[misc]


def mutate(**changes: Any) -> dict[str, Any]:
    data = raw()
    data["models"][1].update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "no [[models]]"),
        (mutate(size_bytes="big"), "'size_bytes' must be int"),
        (mutate(size_bytes=True), "'size_bytes' must be int"),
        (mutate(size_bytes=0), "'size_bytes' must be positive"),
        (mutate(sha256="abc123"), "'sha256' must be 64"),
        (mutate(url="http://example.com/model.gguf"), "'url' must be"),
        (mutate(name="Has Spaces"), "'name' must be lower-case"),
        (mutate(colour="red"), "unknown fields: colour"),
        (mutate(bundled=True), "exactly one"),
        (mutate(name=BUNDLED_NAME), "twice"),
    ],
)
def test_bad_catalogs_are_rejected(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog(data, "test.toml")
    assert fragment in info.value.message
    assert "test.toml" in info.value.message


def test_missing_field_names_the_entry_and_field() -> None:
    data = raw()
    del data["models"][2]["license"]
    name = data["models"][2]["name"]
    with pytest.raises(CatalogError, match=re.escape(f"model '{name}' lacks the field 'license'")):
        parse_catalog(data, "test.toml")


def test_int_ram_is_accepted() -> None:
    entries = parse_catalog(mutate(ram_gb=2), "test.toml")
    assert entries[1].ram_gb == 2.0


def test_unreadable_or_invalid_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="Cannot read"):
        load_catalog(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[models]\n")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(bad)
