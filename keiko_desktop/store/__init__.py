"""SQLite storage: tables, migrations, repositories and FTS5 search (SQLAlchemy 2, one file).

``await open_database(path)`` returns a ``Database``; ``database.conversations`` is the
``ConversationRepository``. All SQL runs on one worker thread; every failure is a ``StoreError``.
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
    from keiko_desktop.store.tools import SqliteToolRepository


def __getattr__(name: str) -> Any:
    # The tool tables pull in the tool models (jsonschema): only for those who use tools, so
    # `keiko ask` without --tools never imports them.
    if name == "SqliteToolRepository":
        from keiko_desktop.store.tools import SqliteToolRepository

        return SqliteToolRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "MIGRATIONS",
    "Database",
    "Migration",
    "SqliteConversationRepository",
    "SqliteToolRepository",
    "applied_migrations",
    "apply_migrations",
    "create_sqlite_engine",
    "fts_query",
    "migration_name",
    "open_database",
    "pending_migrations",
]
