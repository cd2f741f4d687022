"""Real processes share one database: opening it never interrupts a reply still being written.

A child process opens the real store (running recovery at start, like every Keiko process does),
writes a ``streaming`` reply and grows it on request; this test's process opens the same file
and recovers meanwhile. No model is needed (the CLI version is in tests/issues/).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from keiko_desktop.store import Database

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")

ROOT = Path(__file__).resolve().parents[3]

WRITER = """
import asyncio, sys
from pathlib import Path
from keiko_desktop.core.ports import MessageUpdate
from keiko_desktop.store import open_database

async def main() -> None:
    db = await open_database(Path(sys.argv[1]))
    repo = db.conversations
    await repo.mark_streaming_interrupted()  # what every process does at start
    conversation = await repo.create_conversation(sys.argv[2])
    user = await repo.add_message(conversation.id, "user", "a long question")
    reply = await repo.add_message(
        conversation.id, "assistant", "", status="streaming", parent_id=user.id
    )
    print("reply", reply.id, flush=True)
    text = ""
    for line in sys.stdin:
        if line.strip() != "more":
            break
        text += "more "
        await repo.update_message(reply.id, MessageUpdate(content=text))
        print("grew", flush=True)
    await repo.update_message(reply.id, MessageUpdate(content=text + "end", status="complete"))
    await db.aclose()
    print("done", flush=True)

asyncio.run(main())
"""


class Writer:
    """A child process writing one reply; every wait on it is bounded."""

    def __init__(self, db_path: Path, title: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), title],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        words = self.expect("reply").split()
        self.reply_id = int(words[1])

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put("")  # end of output

    def expect(self, word: str, timeout: float = 30) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            pytest.fail(f"the writer said nothing for {timeout} s (waiting for {word!r})")
        if not line.startswith(word):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            pytest.fail(f"the writer said {line!r}, not {word!r}: {err}")
        return line

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    started: list[Writer] = []
    yield started
    for writer in started:
        writer.stop()


async def _status_and_owner(db: Database, reply_id: int) -> tuple[str, int | None]:
    message = await db.conversations.get_message(reply_id)
    assert message is not None
    pid = await db.read(
        lambda s: (
            s.connection()
            .exec_driver_sql("SELECT owner_pid FROM messages WHERE id = ?", (reply_id,))
            .scalar_one()
        )
    )
    return message.status, pid


async def test_a_live_writers_reply_survives_other_processes_opening_the_store(
    db: Database, db_path: Path, writers: list[Writer]
) -> None:
    first = Writer(db_path, "first")
    writers.append(first)
    assert await _status_and_owner(db, first.reply_id) == ("streaming", first.proc.pid)

    # Another process starts (its recovery runs) while the first is still writing.
    second = Writer(db_path, "second")
    writers.append(second)
    assert await db.conversations.mark_streaming_interrupted() == 0  # and this one recovers
    assert await _status_and_owner(db, first.reply_id) == ("streaming", first.proc.pid)

    first.send("more")
    first.expect("grew")
    first.send("finish")
    first.expect("done")
    assert first.proc.wait(10) == 0
    message = await db.conversations.get_message(first.reply_id)
    assert message is not None
    assert (message.status, message.content) == ("complete", "more end")
    assert await _status_and_owner(db, first.reply_id) == ("complete", None)

    # kill -9 the second writer mid-reply: the next recovery marks its reply, and only it.
    second.send("more")
    second.expect("grew")
    second.proc.send_signal(signal.SIGKILL)
    second.proc.wait(10)
    assert await db.conversations.mark_streaming_interrupted() == 1
    message = await db.conversations.get_message(second.reply_id)
    assert message is not None
    assert (message.status, message.content) == ("interrupted", "more ")
    assert await _status_and_owner(db, first.reply_id) == ("complete", None)
