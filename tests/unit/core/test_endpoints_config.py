"""endpoints.toml: checked on the way in and out, owner-only, bounded."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from keiko_desktop.core.endpoints import (
    MAX_ENDPOINTS,
    Endpoint,
    check_name,
    check_url,
    load_endpoints,
    save_endpoints,
    with_endpoint,
)
from keiko_desktop.core.errors import SettingsError


def test_saved_endpoints_load_back_in_order_and_the_file_is_private(tmp_path: Path) -> None:
    endpoints = [
        Endpoint("ollama", "http://127.0.0.1:11434/v1/"),
        Endpoint("openai", "https://api.openai.com/v1", api_key=True, timeout=30.0),
    ]
    save_endpoints(tmp_path, endpoints)
    loaded = load_endpoints(tmp_path)
    assert [e.name for e in loaded] == ["ollama", "openai"]
    assert loaded[0].base_url == "http://127.0.0.1:11434/v1"  # trailing slash dropped
    assert loaded[1] == Endpoint("openai", "https://api.openai.com/v1", True, 30.0)
    mode = stat.S_IMODE((tmp_path / "endpoints.toml").stat().st_mode)
    assert mode == 0o600
    assert "key" not in (tmp_path / "endpoints.toml").read_text().replace("api_key", "")


def test_no_file_is_no_endpoints(tmp_path: Path) -> None:
    assert load_endpoints(tmp_path) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[endpoints]]\nname = "Bad Name"\nbase_url = "http://x/v1"\n', "cannot name"),
        ('[[endpoints]]\nname = "a"\nbase_url = "ftp://x/v1"\n', "not an endpoint URL"),
        (
            '[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\napi_key = "sk-1"\n',
            "true or false",
        ),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\ntoken = 1\n', "unknown fields"),
        (
            '[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\ntimeout = 0\n',
            "between 1 and 3600",
        ),
        (
            '[[endpoints]]\nname = "a"\nbase_url = "http://x"\n'
            '[[endpoints]]\nname = "a"\nbase_url = "http://y"\n',
            "twice",
        ),
        ("endpoints = [", "not valid TOML"),
    ],
)
def test_a_bad_file_names_the_entry_and_the_fault(tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "endpoints.toml").write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_endpoints(tmp_path)
    assert words in str(caught.value)


def test_bounds_on_count_and_size(tmp_path: Path) -> None:
    many = "".join(
        f'[[endpoints]]\nname = "e{i}"\nbase_url = "http://h{i}/v1"\n'
        for i in range(MAX_ENDPOINTS + 1)
    )
    (tmp_path / "endpoints.toml").write_text(many)
    with pytest.raises(SettingsError, match="at most"):
        load_endpoints(tmp_path)
    (tmp_path / "endpoints.toml").write_text("# " + "x" * 300_000)
    with pytest.raises(SettingsError, match="larger than"):
        load_endpoints(tmp_path)


@pytest.mark.parametrize("name", ["", "A", "-a", "a b", "x" * 33, "local", "llama.cpp", "a/b"])
def test_names_that_cannot_name_an_endpoint(name: str) -> None:
    with pytest.raises(SettingsError):
        check_name(name)


@pytest.mark.parametrize(
    "url",
    ["", "127.0.0.1:11434", "file:///etc/passwd", "http://", "http://h/v1?x=1", "http://h/\x1b[2J"],
)
def test_urls_that_are_refused(url: str) -> None:
    with pytest.raises(SettingsError):
        check_url(url)


def test_with_endpoint_replaces_in_place_or_appends() -> None:
    a, b = Endpoint("a", "http://a/v1"), Endpoint("b", "http://b/v1")
    changed = Endpoint("a", "http://a2/v1")
    assert with_endpoint([a, b], changed) == [changed, b]
    assert with_endpoint([a], b) == [a, b]
