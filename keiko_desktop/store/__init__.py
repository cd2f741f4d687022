"""SQLite storage: tables, migrations, repositories and FTS5 search (SQLAlchemy 2, one file).

``await open_database(path)`` returns a ``Database``; ``database.conversations`` is the
``ConversationRepository``, ``database.agents`` and ``database.runs`` the agents' repositories
(made on first use). All SQL runs on one worker thread; every failure is a ``StoreError``.
"""

from typing import TYPE_CHECKING, Any

from keiko_desktop.store.conversations import SqliteConversationRepository
from keiko_desktop.store.database import (
    DEFAULT_BUSY_TIMEOUT_MS,
    Database,
    create_sqlite_engine,
    open_database,
)
from keiko_desktop.store.migrations import (
    MIGRATIONS,
    Migration,
    applied_migrations,
    apply_migrations,
    migration_name,
    pending_migrations,
)
from keiko_desktop.store.search import fts_query

if TYPE_CHECKING:
    from keiko_desktop.store.agents import SqliteAgentRepository
    from keiko_desktop.store.runs import SqliteRunRepository
    from keiko_desktop.store.tools import SqliteToolRepository


def __getattr__(name: str) -> Any:
    # The tool tables pull in the tool models (jsonschema): only for those who use tools, so
    # `keiko ask` without --tools never imports them. The agents' repositories load on first
    # use too (``Database.agents``, ``Database.runs``).
    if name == "SqliteToolRepository":
        from keiko_desktop.store.tools import SqliteToolRepository

        return SqliteToolRepository
    if name == "SqliteAgentRepository":
        from keiko_desktop.store.agents import SqliteAgentRepository

        return SqliteAgentRepository
    if name == "SqliteRunRepository":
        from keiko_desktop.store.runs import SqliteRunRepository

        return SqliteRunRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "MIGRATIONS",
    "Database",
    "Migration",
    "SqliteAgentRepository",
    "SqliteConversationRepository",
    "SqliteRunRepository",
    "SqliteToolRepository",
    "applied_migrations",
    "apply_migrations",
    "create_sqlite_engine",
    "fts_query",
    "migration_name",
    "open_database",
    "pending_migrations",
]
