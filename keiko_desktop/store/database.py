"""The database: one SQLite file, one sync engine, used only on one writer thread.

``await open_database(path)`` creates the folder, checks the file, applies pending migrations and
returns a ``Database``. Every query runs on the ``keiko-db`` ``ThreadWorker`` through
``await database.read(fn)`` / ``await database.write(fn)``, where ``fn(session)`` is plain sync
SQLAlchemy code; the asyncio loop never waits on SQL. Every failure surfaces as a ``StoreError``
that names the file and says what to do.

Each connection sets WAL, foreign keys on, ``synchronous=NORMAL`` and a busy timeout. Write
transactions start with ``BEGIN IMMEDIATE`` so a second process (``keiko ask`` while the window is
open) waits for the lock instead of failing half-way through a transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from keiko_desktop.core.errors import StoreError
from keiko_desktop.core.private_files import ensure_private_file, private_dir, tighten_file
from keiko_desktop.store import failures, owners
from keiko_desktop.store.conversations import SqliteConversationRepository
from keiko_desktop.store.migrations import (
    MIGRATIONS,
    Migration,
    applied_migrations,
    apply_migrations,
    pending_migrations,
)
from keiko_desktop.workers import ThreadWorker

if TYPE_CHECKING:
    from keiko_desktop.store.agents import SqliteAgentRepository
    from keiko_desktop.store.runs import SqliteRunRepository
    from keiko_desktop.store.tasks import SqliteTaskRepository

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_MS = 5000
_BEGIN_OPTION = "keiko_begin"


def create_sqlite_engine(
    path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, read_only: bool = False
) -> Engine:
    """A sync engine on ``path`` with Keiko's pragmas and real (transactional) BEGINs.

    It holds at most one connection, made lazily. ``read_only`` opens the file with SQLite's
    ``mode=ro``: nothing can be written and the journal mode is left as it is.
    """
    uri = path.absolute().as_uri() + ("?mode=ro" if read_only else "?mode=rwc")
    timeout_ms = max(0, int(busy_timeout_ms))

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(
            uri,
            uri=True,
            timeout=timeout_ms / 1000,
            isolation_level=None,  # SQLAlchemy's "begin" hook below emits BEGIN itself
            check_same_thread=False,  # used by one thread at a time: the worker, then close()
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            if not read_only:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    engine = create_engine(
        f"sqlite:///{path.absolute()}",
        creator=connect,
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=0,
    )
    event.listen(engine, "begin", _emit_begin)
    return engine


def _emit_begin(conn: Connection) -> None:
    begin = conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN")
    conn.exec_driver_sql(str(begin))


def _writer(engine: Engine) -> Engine:
    """The same engine, starting its transactions with BEGIN IMMEDIATE."""
    return engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})


class Database:
    """One open SQLite file: its engine, its worker thread and its repositories.

    Build it with ``open_database``. Use ``read``/``write`` to run sync SQLAlchemy code on the
    worker; ``conversations`` is the ``ConversationRepository`` over it, ``agents`` and ``runs``
    the agents' ``AgentRepository`` and ``RunRepository`` (made on first use).
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        read_only: bool = False,
    ) -> None:
        path = Path(path).expanduser().absolute()
        self.path = path
        self.read_only = read_only
        self.busy_timeout_ms = busy_timeout_ms
        self._worker = ThreadWorker("keiko-db")
        self._engine = create_sqlite_engine(
            path, busy_timeout_ms=busy_timeout_ms, read_only=read_only
        )
        self._write_engine = _writer(self._engine)
        self._closed = False
        # Names this Database as the owner of the replies it writes (see owners.py); once it
        # is closed, replies it left streaming count as orphans even within this process.
        self.owner_token = owners.open_token()
        self.conversations: SqliteConversationRepository = SqliteConversationRepository(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("read-only" if self.read_only else "open")
        return f"<Database {self.path} {state}>"

    @cached_property
    def agents(self) -> SqliteAgentRepository:
        """Agent profiles and conversations' agents (``store/agents.py``), made on first use."""
        from keiko_desktop.store.agents import SqliteAgentRepository

        return SqliteAgentRepository(self)

    @cached_property
    def runs(self) -> SqliteRunRepository:
        """Runs, checkpoints and spans (``store/runs.py``), made on first use."""
        from keiko_desktop.store.runs import SqliteRunRepository

        return SqliteRunRepository(self)

    @cached_property
    def tasks(self) -> SqliteTaskRepository:
        """Tasks, their attempts and schedules, and the task lease (``store/tasks.py``)."""
        from keiko_desktop.store.tasks import SqliteTaskRepository

        return SqliteTaskRepository(self)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def engine(self) -> Engine:
        """The sync engine. Use it only inside ``read``/``write`` (on the worker thread)."""
        return self._engine

    # ------------------------------------------------------------------ running SQL

    async def read(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in a read transaction on the worker thread."""
        return await self._submit(self._call, fn, False)

    async def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in a write transaction on the worker thread; commit if it returns."""
        if self.read_only:
            raise failures.readonly_error(self.path)
        return await self._submit(self._call, fn, True)

    async def applied_migrations(self) -> list[str]:
        """Names of the migrations this file has had, oldest first."""
        return await self.read(lambda session: applied_migrations(session.connection()))

    async def _submit(self, fn: Callable[..., T], *args: object) -> T:
        if self._closed:
            raise failures.closed_error(self.path)
        try:
            return await self._worker.run(fn, *args)
        except RuntimeError as exc:  # the executor was shut down under us
            if self._closed:
                raise failures.closed_error(self.path) from exc
            raise

    def _call(self, fn: Callable[[Session], T], write: bool) -> T:
        bind = self._write_engine if write else self._engine
        try:
            session = Session(bind, autoflush=False, expire_on_commit=False)
            with session, session.begin():
                return fn(session)
        except StoreError:
            raise
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise failures.store_error(exc, self.path) from exc

    # ------------------------------------------------------------------ opening

    def _open_sync(self, migrations: Sequence[Migration]) -> None:
        """Check the file, migrate, and prove we can write. Runs on the worker thread."""
        try:
            if self.read_only:
                if not self.path.is_file():
                    raise failures.cantopen_error(self.path, "there is no such file")
            else:
                private_dir(self.path.parent, tighten=False)
            failures.check_header(self.path)
            if not self.read_only:  # owner-only; SQLite gives -wal and -shm the file's mode
                ensure_private_file(self.path)
                for suffix in ("-wal", "-shm"):
                    tighten_file(f"{self.path}{suffix}")
            name = str(self.path)
            if self.read_only:
                with self._engine.connect() as conn:
                    if pending_migrations(conn, migrations, database_name=name):
                        raise StoreError(
                            f"The database {self.path} needs an upgrade, but it was opened "
                            "read-only.",
                            "Open it once with write access so Keiko can upgrade it.",
                        )
                return
            apply_migrations(self._write_engine, migrations, database_name=name)
            # A read-only file, or a lock held by someone else, only shows on a write.
            with self._write_engine.begin() as conn:
                conn.execute(text("DELETE FROM schema_migrations WHERE 0"))
        except StoreError:
            raise
        except (OSError, SQLAlchemyError, sqlite3.Error) as exc:
            raise failures.store_error(exc, self.path) from exc

    # ------------------------------------------------------------------ closing

    def _dispose(self) -> None:
        self._engine.dispose()

    async def aclose(self) -> None:
        """Close the connection (on the worker) and stop the worker. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        owners.close_token(self.owner_token)
        try:
            await self._worker.run(self._dispose)
        finally:
            self._worker.shutdown(wait=True)

    def close(self) -> None:
        """Close from sync code (or after the loop has stopped). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        owners.close_token(self.owner_token)
        self._worker.shutdown(wait=True)  # lets a running query finish first
        self._dispose()

    def owner(self) -> owners.Owner:
        """This process and this Database, as the owner of a reply being written now."""
        return owners.current_owner(self.owner_token)


async def open_database(
    path: Path,
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    read_only: bool = False,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> Database:
    """Open (or create) the database at ``path`` and bring its schema up to date.

    Raises ``StoreError`` if the file or its folder is read-only, the file is locked for longer
    than ``busy_timeout_ms``, it is not a SQLite database (it is then left untouched), the disk
    is full, or a newer Keiko has upgraded it. ``read_only=True`` opens it with SQLite's
    ``mode=ro`` for inspection: no migrations run and every write raises ``StoreError``.
    """
    database = Database(Path(path), busy_timeout_ms=busy_timeout_ms, read_only=read_only)
    try:
        await database._submit(database._open_sync, migrations)
    except BaseException:
        await database.aclose()
        raise
    return database


DOCTOR_BUSY_TIMEOUT_MS = 1000


def inspect_database(path: Path, *, busy_timeout_ms: int = DOCTOR_BUSY_TIMEOUT_MS) -> int:
    """Check the database at ``path`` for ``keiko doctor`` without changing it; returns how
    many messages it holds (0 for a file not made yet, when its folder is writable).

    Raises the ``StoreError`` of the first problem, each with its own fix: a read-only file,
    folder or file system (its permissions), a write lock another process holds (found by
    ``BEGIN IMMEDIATE`` on a connection of its own, rolled back at once: WAL readers are never
    blocked, so a read alone would look fine), a damaged file (move it aside), a full disk
    (free space on its mount). Blocking: run it off the event loop.
    """
    path = Path(path).expanduser().absolute()
    if not path.exists():
        if not failures.writable(failures.nearest_folder(path)):
            raise failures.readonly_error(path)
        return 0
    failures.check_header(path)
    if not failures.writable(path) or not failures.writable(path.parent):
        raise failures.readonly_error(path)
    timeout_ms = max(0, int(busy_timeout_ms))
    try:
        conn = sqlite3.connect(
            path.as_uri() + "?mode=rw", uri=True, timeout=timeout_ms / 1000, isolation_level=None
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            conn.execute("BEGIN IMMEDIATE")  # the write lock, as a reply's first write takes it
            conn.execute("ROLLBACK")
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            count = (
                int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
                if "messages" in tables
                else 0
            )
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise failures.store_error(exc, path) from exc
    if integrity != "ok":
        raise failures.corrupt_error(path)
    free = failures.free_space(path)
    if free is not None and free < failures.LOW_SPACE:
        raise failures.full_error(path, writing=False)
    return count
