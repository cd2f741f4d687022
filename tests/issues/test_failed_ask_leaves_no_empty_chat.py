"""Regression (issue 9, items 12c and 13): a failed ``ask`` left an empty "Untitled" chat.

``ChatService.send`` made the conversation first and then stored the message; when that
failed (a full disk, a prompt that is not text) the empty conversation stayed in the list.
Now a prompt that cannot be stored is refused before anything is written, and a conversation
made for a message that could not be stored is deleted again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import KeikoError, StoreError
from keiko_desktop.store import Database
from tests.helpers.events import running_loop_bus
from tests.helpers.fake_model import FakeChatModel
from tests.helpers.fake_provider import FakeProvider


def _service(database: Database) -> ChatService:
    manager = ModelManager(FakeProvider(FakeChatModel()), running_loop_bus())
    return ChatService(database.conversations, manager, running_loop_bus(), Settings)


async def _cap_size(database: Database) -> None:
    """SQLITE_FULL past the pages the file has now, as on a full disk."""

    def cap(session: Session) -> None:
        conn = session.connection()
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")

    await database.write(cap)


async def test_a_message_the_full_disk_refuses_leaves_no_conversation(
    database: Database,
) -> None:
    service = _service(database)
    await _cap_size(database)
    with pytest.raises(StoreError) as caught:
        await service.send(None, "x" * 2_000_000)  # the conversation fits, the message not
    assert "full" in caught.value.message
    assert await database.conversations.list_conversations() == []
    count = await database.read(
        lambda s: s.execute(text("SELECT count(*) FROM conversations")).scalar_one()
    )
    assert count == 0  # gone for good, not waiting in the trash


async def test_an_existing_conversation_is_kept_when_a_message_fails(
    database: Database,
) -> None:
    service = _service(database)
    reply = await service.send(None, "hello")
    await reply.result()
    await _cap_size(database)
    with pytest.raises(StoreError):
        await service.send(reply.conversation_id, "x" * 2_000_000)
    [kept] = await database.conversations.list_conversations()
    assert kept.id == reply.conversation_id


async def test_a_prompt_that_is_not_text_is_refused_before_anything_is_written(
    database: Database,
) -> None:
    service = _service(database)
    bad = "abc\udcff\udcfe"  # what Python makes of the bytes abc\xff\xfe in argv
    with pytest.raises(KeikoError) as caught:
        await service.send(None, bad)
    assert "not valid text" in caught.value.message
    assert caught.value.hint
    assert await database.conversations.list_conversations() == []
