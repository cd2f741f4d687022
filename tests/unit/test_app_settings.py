"""Core and settings: SettingsChanged, what reloads the model, and purging the trash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from keiko_desktop.app import Core, build_core
from keiko_desktop.core.config import SETTINGS, Effect, Paths, Setting, Settings, load_settings
from keiko_desktop.core.events import EventBus, SettingsChanged
from keiko_desktop.core.tools.approvals import ApprovalBroker
from keiko_desktop.store.tables import conversations
from tests.helpers.events import EventRecorder


def _other_value(spec: Setting, current: Any) -> Any:
    """A valid value for ``spec`` different from ``current``."""
    if spec.kind is bool:
        return not current
    if spec.numeric:
        low, high = spec.bounds
        return spec.kind(high if current != high else low)
    if spec.choices and spec.kind is tuple:  # a list of choices: the same, in another order
        return tuple(reversed(current))
    if spec.choices:
        return next(c for c in spec.choices if c != current)
    if spec.kind is tuple:
        return (*current, "/models/extra.gguf")
    return current + "x"


@pytest.fixture
async def core(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> Any:
    made = await build_core(paths, Settings(), start_model=False)
    reloads: list[str] = []
    monkeypatch.setattr(made.models, "start_loading", reloads.append)
    monkeypatch.setattr(made, "start_tools", lambda: None)  # not the MCP servers here
    made.reloads = reloads  # type: ignore[attr-defined]
    yield made
    await made.aclose()


async def test_update_settings_publishes_settings_changed_with_the_changed_keys(
    core: Core, paths: Paths
) -> None:
    recorder = EventRecorder(core.bus, SettingsChanged)
    old = core.settings
    event = core.update_settings(old.with_changes(temperature=0.1, theme="dark"))
    assert recorder.events == [event]
    assert event is not None
    assert event.changed == {"temperature", "theme"}
    assert (event.old, event.new) == (old, core.settings)
    assert load_settings(paths) == core.settings  # saved
    assert core.update_settings(core.settings) is None  # nothing changed: no event
    assert len(recorder.events) == 1


async def test_only_settings_declared_to_reload_the_model_reload_it(core: Core) -> None:
    reloads: list[str] = core.reloads  # type: ignore[attr-defined]
    for key, spec in SETTINGS.items():
        before = len(reloads)
        value = _other_value(spec, getattr(core.settings, key))
        core.update_settings(core.settings.with_changes(**{key: value}))
        reloaded = len(reloads) > before
        assert reloaded is (spec.effect is Effect.RELOAD_MODEL), key
    assert reloads[-1] == core.settings.model  # the chosen model, with the new settings


async def test_the_registry_and_the_approvals_follow_the_settings(core: Core) -> None:
    broker = ApprovalBroker(core.bus, timeout=5.0)
    core.update_settings(core.settings.with_changes(context_size=1024, tool_approval_timeout=9))
    assert core.registry.settings is core.settings
    assert broker.timeout == 9


def test_the_broker_follows_settings_changed_on_its_bus(bus: EventBus) -> None:
    broker = ApprovalBroker(bus)
    assert broker.timeout == SETTINGS["tool_approval_timeout"].default
    old = Settings()
    bus.publish(SettingsChanged(old, old.with_changes(tool_approval_timeout=30), frozenset()))
    assert broker.timeout == 30


async def _deleted_days_ago(core: Core, title: str, days: float) -> int:
    conversation = await core.conversations.create_conversation(title)
    await core.conversations.add_message(conversation.id, "user", f"in {title}")
    await core.conversations.delete_conversation(conversation.id)
    when = datetime.now(UTC) - timedelta(days=days)
    await core.database.write(
        lambda s: s.execute(
            update(conversations)
            .where(conversations.c.id == conversation.id)
            .values(deleted_at=when)
        )
    )
    return conversation.id


async def _fill_trash(paths: Paths) -> dict[str, int]:
    first = await build_core(paths, Settings(), start_model=False)
    try:
        kept = await first.conversations.create_conversation("kept")
        ids = {
            "kept": kept.id,
            "old": await _deleted_days_ago(first, "old", 40),
            "recent": await _deleted_days_ago(first, "recent", 2),
        }
    finally:
        await first.aclose()
    return ids


async def _exists(core: Core, conversation_id: int) -> bool:
    return await core.conversations.count_messages(conversation_id) > 0 or (
        await core.conversations.get_conversation(conversation_id) is not None
    )


async def test_start_purges_chats_deleted_longer_ago_than_the_retention(paths: Paths) -> None:
    ids = await _fill_trash(paths)
    core = await build_core(paths, Settings(deleted_retention_days=30), start_model=False)
    try:
        assert core.trash_purge is not None
        assert await core.trash_purge == 1
        assert await core.conversations.count_messages(ids["old"]) == 0  # gone for good
        assert await core.conversations.count_messages(ids["recent"]) == 1  # still in the trash
        await core.conversations.restore_conversation(ids["recent"])
        titles = {c.title for c in await core.conversations.list_conversations()}
        assert titles == {"kept", "recent"}
    finally:
        await core.aclose()


async def test_retention_zero_keeps_the_trash(paths: Paths) -> None:
    ids = await _fill_trash(paths)
    core = await build_core(paths, Settings(deleted_retention_days=0), start_model=False)
    try:
        assert core.trash_purge is not None
        assert await core.trash_purge == 0
        assert await core.conversations.count_messages(ids["old"]) == 1
    finally:
        await core.aclose()


async def test_a_failing_purge_never_stops_the_start(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from keiko_desktop.store import SqliteConversationRepository

    async def broken(self: object, older_than_seconds: float = 0.0) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SqliteConversationRepository, "purge_deleted", broken)
    core = await build_core(paths, Settings(), start_model=False)
    try:
        assert core.trash_purge is not None
        assert await core.trash_purge == 0
        assert "could not purge" in caplog.text
        assert await core.conversations.create_conversation("still works")
    finally:
        await core.aclose()


async def test_empty_trash_purges_every_deleted_chat(paths: Paths) -> None:
    ids = await _fill_trash(paths)
    core = await build_core(paths, Settings(deleted_retention_days=0), start_model=False)
    try:
        assert await core.empty_trash() == 2
        assert await core.conversations.count_messages(ids["recent"]) == 0
        assert [c.title for c in await core.conversations.list_conversations()] == ["kept"]
    finally:
        await core.aclose()
