"""The callbacks each server's client is lent: merged per server, never silently overridden."""

from __future__ import annotations

import pytest

from keiko_desktop.mcp_tools.client_hooks import ClientHooks


def test_builders_are_merged_per_server() -> None:
    hooks = ClientHooks()
    hooks.add(lambda server: {"elicitation_callback": f"elicit-{server}"})
    hooks.add(lambda server: {"sampling_callback": f"sample-{server}"} if server == "a" else {})
    assert hooks.client_kwargs("a") == {
        "elicitation_callback": "elicit-a",
        "sampling_callback": "sample-a",
    }
    assert hooks.client_kwargs("b") == {"elicitation_callback": "elicit-b"}


def test_two_hooks_setting_one_callback_is_an_error() -> None:
    hooks = ClientHooks()
    hooks.add(lambda _server: {"logging_callback": 1})
    hooks.add(lambda _server: {"logging_callback": 2})
    with pytest.raises(ValueError, match="logging_callback"):
        hooks.client_kwargs("a")
