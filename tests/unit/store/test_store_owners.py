"""Owners of streaming replies: who writes one, whether they still can, and what recovery does.

Recovery (``mark_streaming_interrupted``) interrupts a reply only when its writer is gone: a dead
pid, a pid reused by another program (its start time differs), a closed Database of this
process, or no owner at all (rows from before m005).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from keiko_desktop.core.ports import MessageUpdate
from keiko_desktop.store import Database, SqliteConversationRepository, open_database, owners
from keiko_desktop.store.tables import messages
from tests.helpers.processes import dead_process


async def _owner(db: Database, message_id: int) -> tuple[Any, ...]:
    def run(session: Session) -> tuple[Any, ...]:
        row = session.execute(
            text(
                "SELECT owner_pid, owner_started, owner_token FROM messages WHERE id = :id"
            ).bindparams(id=message_id)
        ).one()
        return tuple(row)

    return await db.read(run)


async def _set_owner(
    db: Database, message_id: int, pid: int | None, started: float | None, token: str | None
) -> None:
    def run(session: Session) -> None:
        session.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(owner_pid=pid, owner_started=started, owner_token=token)
        )

    await db.write(run)


async def _streaming_reply(repo: SqliteConversationRepository, content: str = "half") -> int:
    conversation = await repo.create_conversation("c")
    user = await repo.add_message(conversation.id, "user", "hi")
    reply = await repo.add_message(
        conversation.id, "assistant", content, status="streaming", parent_id=user.id
    )
    return reply.id


async def _status(repo: SqliteConversationRepository, message_id: int) -> str:
    message = await repo.get_message(message_id)
    assert message is not None
    return message.status


# ---------------------------------------------------------------------- the liveness rule


def test_a_live_process_is_alive(child: subprocess.Popen[bytes]) -> None:
    started = psutil.Process(child.pid).create_time()
    assert owners.owner_alive(child.pid, started, "its-token")
    # two readings of one start time may differ a little (Linux: whole-second boot time)
    assert owners.owner_alive(child.pid, started + owners.START_TOLERANCE / 2, "its-token")


def test_a_dead_process_is_gone() -> None:
    pid, started = dead_process()
    assert not owners.owner_alive(pid, started, "its-token")


def test_a_reused_pid_with_another_start_time_is_gone(child: subprocess.Popen[bytes]) -> None:
    started = psutil.Process(child.pid).create_time()
    # the recorded writer had this pid, but started an hour before the process that has it now
    assert not owners.owner_alive(child.pid, started - 3600, "its-token")
    assert not owners.owner_alive(child.pid, started + 3 * owners.START_TOLERANCE, "its-token")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies as on Linux")
def test_a_zombie_is_gone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        process = psutil.Process(proc.pid)
        started = process.create_time()
        deadline = time.monotonic() + 10
        while process.status() != psutil.STATUS_ZOMBIE:  # exited, not yet reaped by us
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.01)
        assert not owners.owner_alive(proc.pid, started, "its-token")
    finally:
        proc.wait(10)


@pytest.mark.parametrize("pid", [None, 0, -1])
def test_no_owner_is_gone(pid: int | None) -> None:
    assert not owners.owner_alive(pid, None, None)
    assert not owners.owner_alive(pid, 1_700_000_000.0, "t")


def test_an_unknown_start_time_trusts_the_pid(child: subprocess.Popen[bytes]) -> None:
    assert owners.owner_alive(child.pid, None, "its-token")
    pid, _ = dead_process()
    assert not owners.owner_alive(pid, None, "its-token")


def test_a_process_that_may_not_be_inspected_counts_as_alive(
    child: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(self: psutil.Process) -> float:
        raise psutil.AccessDenied(self.pid)

    monkeypatch.setattr(psutil.Process, "create_time", denied)
    assert owners.owner_alive(child.pid, 1_700_000_000.0, "its-token")


def test_this_process_is_alive_only_with_a_token_still_open() -> None:
    me, started = os.getpid(), psutil.Process().create_time()
    token = owners.open_token()
    assert owners.owner_alive(me, started, token)
    assert owners.owner_alive(me, None, token)
    owners.close_token(token)
    assert not owners.owner_alive(me, started, token)  # its Database was closed
    # an earlier program image of this pid (exec keeps pid and start time) had other tokens
    assert not owners.owner_alive(me, started, "token-of-an-earlier-run")
    assert not owners.owner_alive(me, started, None)


def test_current_owner_is_this_process_now() -> None:
    owner = owners.current_owner("tok")
    assert owner.pid == os.getpid()
    assert owner.token == "tok"
    assert owner.started == pytest.approx(psutil.Process().create_time(), abs=1.5)


# ---------------------------------------------------------------------- the owner columns


async def test_a_streaming_reply_is_owned_by_its_writer(
    db: Database, repo: SqliteConversationRepository
) -> None:
    reply_id = await _streaming_reply(repo)
    pid, started, token = await _owner(db, reply_id)
    assert pid == os.getpid()
    assert started == pytest.approx(psutil.Process().create_time(), abs=1.5)
    assert token == db.owner_token

    conversation = await repo.create_conversation("other")
    done = await repo.add_message(conversation.id, "assistant", "done")  # complete: no owner
    assert await _owner(db, done.id) == (None, None, None)


async def test_the_owner_stays_while_streaming_and_is_cleared_at_the_end(
    db: Database, repo: SqliteConversationRepository
) -> None:
    reply_id = await _streaming_reply(repo)
    owner = await _owner(db, reply_id)
    await repo.update_message(reply_id, MessageUpdate(content="half a reply"))
    assert await _owner(db, reply_id) == owner
    await repo.update_message(reply_id, MessageUpdate(content="done", status="complete"))
    assert await _owner(db, reply_id) == (None, None, None)
    # (streaming again: whoever says so owns it)
    await repo.update_message(reply_id, MessageUpdate(status="streaming"))
    assert (await _owner(db, reply_id))[0::2] == (os.getpid(), db.owner_token)


async def test_every_database_has_its_own_token(db: Database, db_path: Path) -> None:
    other = await open_database(db_path)
    try:
        assert other.owner_token != db.owner_token
        assert owners.owner_alive(os.getpid(), None, other.owner_token)
    finally:
        await other.aclose()
    assert not owners.owner_alive(os.getpid(), None, other.owner_token)


# ---------------------------------------------------------------------- recovery


async def test_recovery_leaves_a_live_other_process_alone(
    db: Database, repo: SqliteConversationRepository, child: subprocess.Popen[bytes]
) -> None:
    reply_id = await _streaming_reply(repo)
    started = psutil.Process(child.pid).create_time()
    await _set_owner(db, reply_id, child.pid, started, "token-of-the-child")

    assert await repo.mark_streaming_interrupted() == 0
    assert await _status(repo, reply_id) == "streaming"
    assert await _owner(db, reply_id) == (child.pid, started, "token-of-the-child")

    child.kill()  # the writer dies: the next recovery catches it
    child.wait(10)
    assert await repo.mark_streaming_interrupted() == 1
    message = await repo.get_message(reply_id)
    assert message is not None
    assert (message.status, message.content) == ("interrupted", "half")
    assert await _owner(db, reply_id) == (None, None, None)


async def test_recovery_interrupts_dead_reused_and_ownerless_writers(
    db: Database, repo: SqliteConversationRepository, child: subprocess.Popen[bytes]
) -> None:
    dead_pid, dead_started = dead_process()
    live_started = psutil.Process(child.pid).create_time()
    dead = await _streaming_reply(repo, "dead")
    reused = await _streaming_reply(repo, "reused")
    ownerless = await _streaming_reply(repo, "ownerless")
    live = await _streaming_reply(repo, "live")
    await _set_owner(db, dead, dead_pid, dead_started, "t1")
    await _set_owner(db, reused, child.pid, live_started - 600, "t2")
    await _set_owner(db, ownerless, None, None, None)
    await _set_owner(db, live, child.pid, live_started, "t3")

    assert await repo.mark_streaming_interrupted() == 3
    assert [await _status(repo, i) for i in (dead, reused, ownerless, live)] == [
        "interrupted",
        "interrupted",
        "interrupted",
        "streaming",
    ]
    assert await repo.mark_streaming_interrupted() == 0


async def test_recovery_leaves_another_open_database_of_this_process_alone(
    repo: SqliteConversationRepository, db_path: Path
) -> None:
    writer = await open_database(db_path)
    try:
        reply_id = await _streaming_reply(writer.conversations)
        assert await repo.mark_streaming_interrupted() == 0  # still being written
        assert await writer.conversations.mark_streaming_interrupted() == 0  # its own, too
        assert await _status(repo, reply_id) == "streaming"
    finally:
        writer.close()  # "crashes": it will never finish that reply
    assert await repo.mark_streaming_interrupted() == 1
    assert await _status(repo, reply_id) == "interrupted"


async def test_a_finished_reply_is_not_touched_by_recovery(
    repo: SqliteConversationRepository, db_path: Path
) -> None:
    writer = await open_database(db_path)
    reply_id = await _streaming_reply(writer.conversations)
    await writer.conversations.update_message(
        reply_id, MessageUpdate(content="all of it", status="complete")
    )
    writer.close()
    assert await repo.mark_streaming_interrupted() == 0
    assert await _status(repo, reply_id) == "complete"


async def test_recovery_marks_many_orphans_at_once(
    db: Database, repo: SqliteConversationRepository
) -> None:
    conversation = await repo.create_conversation("many")

    def run(session: Session) -> None:
        now = "2024-01-01 00:00:00"
        session.execute(
            text(
                "INSERT INTO messages (conversation_id, role, content, status, created_at,"
                " updated_at) VALUES (:c, 'assistant', 'x', 'streaming', :now, :now)"
            ),
            [{"c": conversation.id, "now": now}] * 1234,
        )

    await db.write(run)
    assert await repo.mark_streaming_interrupted() == 1234
    assert await repo.mark_streaming_interrupted() == 0
