"""Who is writing a ``streaming`` reply (or a ``running`` agent run), and whether they still can.

A reply stored as ``streaming`` records its owner in three columns of ``messages`` (m005):
``owner_pid`` and ``owner_started`` (the writing process's pid and start time, psutil's
``create_time``: seconds since the epoch) and ``owner_token`` (names the open ``Database`` that
writes it; each ``Database`` gets a fresh one). The owner is cleared when the status changes.

``owner_alive`` decides whether recovery must leave a reply alone. An owner is gone when:

- there is none (a row written before m005, or by an older Keiko);
- no process has that pid, or it is a zombie (it can write nothing more);
- a process has that pid but started more than ``START_TOLERANCE`` seconds away from the
  recorded time: the pid was reused by another program;
- the pid is this very process's but the token is not one of a ``Database`` open here: that
  ``Database`` was closed, or the row is from an earlier process that had this pid, or from an
  earlier program image of this process (``exec`` keeps both pid and start time); none of them
  can finish the reply. (So within one process the token decides, not the start time.)

When it cannot be told (the process exists but may not be inspected, or its start time could
not be read when the row was written), the owner counts as alive: a reply is interrupted only when
its writer is known to be gone.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psutil
from sqlalchemy import ColumnElement, Row, Table, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from keiko_desktop.store.sql import IN_CHUNK, rowcount

START_TOLERANCE = 2.0
"""Seconds two readings of one process's start time may differ by.

On Linux psutil computes it as boot time (``btime``, whole seconds, moved by clock steps) plus
ticks since boot, so two processes reading it for the same pid can disagree by a second.
"""

# Tokens of the Database objects open in this process (it is a fact about the process, so it
# is kept per process: a forked child gets a copy, but only consults it for its own pid).
_open_tokens: set[str] = set()


@dataclass(frozen=True)
class Owner:
    """The writer of a streaming reply, as stored in the ``owner_*`` columns."""

    pid: int
    started: float | None
    token: str


def open_token() -> str:
    """A new token for a ``Database`` being opened; it is live until ``close_token``."""
    token = secrets.token_hex(8)
    _open_tokens.add(token)
    return token


def close_token(token: str) -> None:
    """The ``Database`` holding ``token`` was closed: replies it left streaming are orphans."""
    _open_tokens.discard(token)


def start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if it cannot be read."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError, ValueError):
        return None


def current_owner(token: str) -> Owner:
    """This process as the owner of a reply written by the ``Database`` holding ``token``.

    The start time is read afresh each time (not cached), so it agrees with what another
    process reads now even after the clock was stepped while this process ran.
    """
    pid = os.getpid()
    return Owner(pid, start_time(pid), token)


def owner_alive(pid: int | None, started: float | None, token: str | None) -> bool:
    """Whether the owner stored as (``pid``, ``started``, ``token``) may still be writing."""
    if pid is None or pid <= 0:
        return False
    if pid == os.getpid():
        # This process holds the pid, so any earlier holder is gone: only the token can say.
        return token is not None and token in _open_tokens
    try:
        process = psutil.Process(pid)
        if started is not None and abs(process.create_time() - started) > START_TOLERANCE:
            return False  # the pid now belongs to another program
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # ZombieProcess too
        return False
    except psutil.AccessDenied:
        return True  # it exists, and whose it is cannot be told: leave its reply alone


NO_OWNER: dict[str, object] = {"owner_pid": None, "owner_started": None, "owner_token": None}
"""The ``owner_*`` columns of a row nobody writes any more."""


def owner_values(owner: Owner) -> dict[str, object]:
    """The ``owner_*`` columns of a row ``owner`` writes."""
    return {"owner_pid": owner.pid, "owner_started": owner.started, "owner_token": owner.token}


def orphaned_rows(
    session: Session, table: Table, status: str, *extra: ColumnElement[Any]
) -> list[Row[Any]]:
    """The rows of ``table`` in ``status`` whose owner is gone (``owner_alive``), with their
    ``id`` and ``extra`` columns. Each owner is checked once."""
    c = table.c
    rows = session.execute(
        select(c.id, c.owner_pid, c.owner_started, c.owner_token, *extra).where(c.status == status)
    )
    alive: dict[tuple[Any, ...], bool] = {}
    orphans = []
    for row in rows:
        owner = (row.owner_pid, row.owner_started, row.owner_token)
        if owner not in alive:
            alive[owner] = owner_alive(*owner)
        if not alive[owner]:
            orphans.append(row)
    return orphans


def mark_orphans(
    session: Session, table: Table, ids: Sequence[int], status: str, values: dict[str, Any]
) -> int:
    """Set ``values`` (and no owner) on the rows ``ids`` still in ``status``; how many."""
    marked = 0
    for start in range(0, len(ids), IN_CHUNK):
        result = session.execute(
            sql_update(table)
            .where(table.c.id.in_(ids[start : start + IN_CHUNK]), table.c.status == status)
            .values(**values, **NO_OWNER)
        )
        marked += rowcount(result)
    return marked
