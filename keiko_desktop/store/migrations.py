"""Schema migrations: an ordered list of plain functions, each recorded once when applied.

A migration is ``def mNNN_what(conn: Connection) -> None`` that runs raw DDL (frozen in time: it
must never import the current tables). To evolve the schema, write a new function and append it
to ``MIGRATIONS``; never edit or reorder one that has shipped. Each migration runs in its own
transaction together with its row in ``schema_migrations`` (name, applied_at), so it is applied
entirely or not at all, and applying twice is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, insert, select, text

from keiko_desktop.core.errors import StoreError
from keiko_desktop.store.tables import schema_migrations, utcnow

Migration = Callable[[Connection], None]


def _run(conn: Connection, *statements: str) -> None:
    for statement in statements:
        conn.exec_driver_sql(statement)


def m001_conversations_messages(conn: Connection) -> None:
    """Conversations and their messages."""
    _run(
        conn,
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL DEFAULT '',
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        )
        """,
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL
                REFERENCES conversations (id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
            role VARCHAR(16) NOT NULL,
            content TEXT NOT NULL DEFAULT '',
            status VARCHAR(16) NOT NULL DEFAULT 'complete',
            model TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            time_to_first_token FLOAT,
            tokens_per_second FLOAT,
            duration FLOAT,
            error TEXT,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        )
        """,
        "CREATE INDEX ix_messages_conversation_id_id ON messages (conversation_id, id)",
        "CREATE INDEX ix_messages_parent_id ON messages (parent_id)",
        "CREATE INDEX ix_messages_status ON messages (status)",
        "CREATE INDEX ix_conversations_updated_at ON conversations (updated_at)",
    )


def m002_messages_fts(conn: Connection) -> None:
    """Full-text search over message content: an external-content FTS5 index kept by triggers."""
    _run(
        conn,
        """
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content,
            content='messages',
            content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER messages_fts_after_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
        END
        """,
        """
        CREATE TRIGGER messages_fts_after_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
        END
        """,
        """
        CREATE TRIGGER messages_fts_after_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
        END
        """,
        # Backfill every message stored before this migration.
        "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
    )


def m003_conversation_pinned_deleted(conn: Connection) -> None:
    """Pinned conversations and soft delete (undoable until purged)."""
    _run(
        conn,
        "ALTER TABLE conversations ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT 0",
        "ALTER TABLE conversations ADD COLUMN deleted_at DATETIME",
        "CREATE INDEX ix_conversations_deleted_at ON conversations (deleted_at)",
    )


def m004_tool_audit_policies_notes(conn: Connection) -> None:
    """Tool calls audited, per-tool policies, and the notes of the ``notes`` tool."""
    _run(
        conn,
        """
        CREATE TABLE tool_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at DATETIME NOT NULL,
            server TEXT NOT NULL,
            tool TEXT NOT NULL,
            arguments TEXT NOT NULL DEFAULT '{}',
            decision VARCHAR(16) NOT NULL,
            is_error BOOLEAN NOT NULL,
            duration FLOAT,
            result_size INTEGER NOT NULL DEFAULT 0,
            conversation_id INTEGER,
            agent TEXT,
            error TEXT
        )
        """,
        "CREATE INDEX ix_tool_audit_created_at ON tool_audit (created_at)",
        "CREATE INDEX ix_tool_audit_server_tool ON tool_audit (server, tool)",
        """
        CREATE TABLE tool_policies (
            tool TEXT PRIMARY KEY NOT NULL,
            policy VARCHAR(8) NOT NULL,
            updated_at DATETIME NOT NULL
        )
        """,
        """
        CREATE TABLE notes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        )
        """,
        "CREATE INDEX ix_notes_updated_at ON notes (updated_at)",
    )


def m005_message_stream_owner(conn: Connection) -> None:
    """The owner of a ``streaming`` reply, so recovery interrupts only replies whose writer died.

    Rows already ``streaming`` get no owner: recovery treats them as orphaned.
    """
    _run(
        conn,
        "ALTER TABLE messages ADD COLUMN owner_pid INTEGER",
        "ALTER TABLE messages ADD COLUMN owner_started FLOAT",
        "ALTER TABLE messages ADD COLUMN owner_token TEXT",
    )


def m006_tool_policy_fingerprint(conn: Connection) -> None:
    """The server and tool a policy was given for (``ToolSpec.fingerprint``): a policy holds
    only while both stay the same. Older rows get none, so their Always no longer holds."""
    _run(conn, "ALTER TABLE tool_policies ADD COLUMN fingerprint TEXT")


def m007_agents_runs_spans(conn: Connection) -> None:
    """Agents (their profile as JSON), the runs of agents and plans (with their checkpoint and
    owner, as replies have one since m005), the spans of their traces, a conversation's agent,
    and ``store_meta`` (one row per fact the store keeps about itself: agents seeded)."""
    _run(
        conn,
        """
        CREATE TABLE store_meta (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL DEFAULT '',
            updated_at DATETIME NOT NULL
        )
        """,
        """
        CREATE TABLE agents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL COLLATE NOCASE,
            name_key TEXT NOT NULL,
            profile TEXT NOT NULL DEFAULT '{}',
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX ux_agents_name_key ON agents (name_key)",
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind VARCHAR(16) NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            agent TEXT,
            status VARCHAR(16) NOT NULL,
            plan TEXT,
            checkpoint TEXT NOT NULL DEFAULT '{}',
            result TEXT NOT NULL DEFAULT '',
            error TEXT,
            resumed_from INTEGER REFERENCES runs (id) ON DELETE SET NULL,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL,
            owner_pid INTEGER,
            owner_started FLOAT,
            owner_token TEXT
        )
        """,
        "CREATE INDEX ix_runs_updated_at ON runs (updated_at)",
        "CREATE INDEX ix_runs_status ON runs (status)",
        """
        CREATE TABLE spans (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            parent TEXT,
            kind VARCHAR(16) NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            start FLOAT NOT NULL,
            duration FLOAT,
            status VARCHAR(16) NOT NULL,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            detail TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (run_id, key)
        )
        """,
        "CREATE INDEX ix_spans_run_id_start ON spans (run_id, start)",
        "ALTER TABLE conversations ADD COLUMN agent_id INTEGER"
        " REFERENCES agents (id) ON DELETE SET NULL",
        "CREATE INDEX ix_conversations_agent_id ON conversations (agent_id)",
    )


def m008_tasks(conn: Connection) -> None:
    """Background tasks (with their attempts), their schedules, and the one lease that says
    which process runs them (``task_lease``: a single row, id 1)."""
    _run(
        conn,
        """
        CREATE TABLE task_schedules (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL DEFAULT '',
            kind VARCHAR(32) NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            priority INTEGER NOT NULL DEFAULT 1,
            spec TEXT NOT NULL DEFAULT '{}',
            enabled BOOLEAN NOT NULL DEFAULT 1,
            next_run DATETIME,
            last_run DATETIME,
            max_attempts INTEGER,
            timeout FLOAT,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        )
        """,
        "CREATE INDEX ix_task_schedules_next_run ON task_schedules (next_run)",
        """
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL DEFAULT '',
            kind VARCHAR(32) NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            priority INTEGER NOT NULL DEFAULT 1,
            status VARCHAR(16) NOT NULL,
            progress FLOAT NOT NULL DEFAULT 0,
            progress_text TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL DEFAULT 1,
            timeout FLOAT NOT NULL DEFAULT 0,
            result TEXT NOT NULL DEFAULT '',
            error TEXT,
            idempotency_key TEXT,
            parent_id INTEGER REFERENCES tasks (id) ON DELETE CASCADE,
            schedule_id INTEGER REFERENCES task_schedules (id) ON DELETE SET NULL,
            run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
            waiting BOOLEAN NOT NULL DEFAULT 0,
            cancel_requested BOOLEAN NOT NULL DEFAULT 0,
            lease TEXT,
            not_before DATETIME,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL,
            started_at DATETIME,
            finished_at DATETIME
        )
        """,
        "CREATE UNIQUE INDEX ux_tasks_idempotency_key ON tasks (idempotency_key)",
        "CREATE INDEX ix_tasks_queue ON tasks (status, priority, id)",
        "CREATE INDEX ix_tasks_updated_at ON tasks (updated_at)",
        "CREATE INDEX ix_tasks_parent_id ON tasks (parent_id)",
        """
        CREATE TABLE task_attempts (
            task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            started_at DATETIME NOT NULL,
            ended_at DATETIME,
            outcome VARCHAR(16) NOT NULL,
            error TEXT,
            PRIMARY KEY (task_id, number)
        )
        """,
        """
        CREATE TABLE task_lease (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            token TEXT NOT NULL,
            role VARCHAR(16) NOT NULL,
            owner_pid INTEGER,
            owner_started FLOAT,
            owner_token TEXT,
            heartbeat_at DATETIME NOT NULL,
            expires_at DATETIME NOT NULL
        )
        """,
    )


def m009_attachments(conn: Connection) -> None:
    """Attached files (one row per content-addressed copy, by sha256), their pages' text, their
    chunks with an external-content FTS5 index kept by triggers (porter stemming over
    ``unicode61``, so "reports" finds "report"), which messages they were attached to, and the
    chunks a reply was given (its sources)."""
    _run(
        conn,
        """
        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            sha256 TEXT NOT NULL,
            name TEXT NOT NULL,
            kind VARCHAR(16) NOT NULL,
            mime TEXT NOT NULL DEFAULT '',
            size INTEGER NOT NULL,
            pages INTEGER NOT NULL DEFAULT 0,
            chars INTEGER NOT NULL DEFAULT 0,
            chunks INTEGER NOT NULL DEFAULT 0,
            note TEXT NOT NULL DEFAULT '',
            created_at DATETIME NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX ux_attachments_sha256 ON attachments (sha256)",
        "CREATE INDEX ix_attachments_created_at ON attachments (created_at)",
        """
        CREATE TABLE message_attachments (
            message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            attachment_id INTEGER NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
            position INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (message_id, attachment_id)
        )
        """,
        "CREATE INDEX ix_message_attachments_attachment_id ON message_attachments (attachment_id)",
        """
        CREATE TABLE attachment_pages (
            attachment_id INTEGER NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            page INTEGER,
            text TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (attachment_id, ordinal)
        )
        """,
        """
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            attachment_id INTEGER NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            page INTEGER,
            start INTEGER NOT NULL DEFAULT 0,
            text TEXT NOT NULL DEFAULT ''
        )
        """,
        "CREATE UNIQUE INDEX ux_chunks_attachment_id_ordinal ON chunks (attachment_id, ordinal)",
        """
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            text,
            content='chunks',
            content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER chunks_fts_after_insert AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
        END
        """,
        """
        CREATE TRIGGER chunks_fts_after_delete AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END
        """,
        """
        CREATE TRIGGER chunks_fts_after_update AFTER UPDATE OF text ON chunks BEGIN
            INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
        END
        """,
        """
        CREATE TABLE message_sources (
            message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            chunk_id INTEGER NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
            rank INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (message_id, chunk_id)
        )
        """,
        "CREATE INDEX ix_message_sources_chunk_id ON message_sources (chunk_id)",
    )


def m010_message_note(conn: Connection) -> None:
    """A note on a reply for the person reading it (which fallback model answered, and why)."""
    _run(conn, "ALTER TABLE messages ADD COLUMN note TEXT")


# Append new migrations at the end; never edit, rename or reorder one that has shipped.
MIGRATIONS: tuple[Migration, ...] = (
    m001_conversations_messages,
    m002_messages_fts,
    m003_conversation_pinned_deleted,
    m004_tool_audit_policies_notes,
    m005_message_stream_owner,
    m006_tool_policy_fingerprint,
    m007_agents_runs_spans,
    m008_tasks,
    m009_attachments,
    m010_message_note,
)

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY NOT NULL,
    applied_at DATETIME NOT NULL
)
"""


def migration_name(migration: Migration) -> str:
    """The name recorded in ``schema_migrations``: the function's name."""
    return migration.__name__


def applied_migrations(conn: Connection) -> list[str]:
    """Names recorded in ``schema_migrations``, oldest first; empty for a new database."""
    exists = conn.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    ).first()
    if exists is None:
        return []
    rows = conn.execute(
        select(schema_migrations.c.name).order_by(
            schema_migrations.c.applied_at, schema_migrations.c.name
        )
    )
    return [row.name for row in rows]


def pending_migrations(
    conn: Connection,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    database_name: str = "the database",
) -> list[Migration]:
    """Migrations not yet applied, in order.

    Raises ``StoreError`` if the database records a migration this code does not know, which
    means a newer Keiko made it.
    """
    applied = applied_migrations(conn)
    known = {migration_name(m) for m in migrations}
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise StoreError(
            f"The database {database_name} was upgraded by a newer version of Keiko "
            f"(it has schema migration {', '.join(unknown)}, which this version does not know).",
            "Update Keiko to the newest version; this version will not touch that file.",
        )
    done = set(applied)
    return [m for m in migrations if migration_name(m) not in done]


def apply_migrations(
    engine: Engine,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    database_name: str = "the database",
) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied.

    Safe to call on an up-to-date database (it applies nothing) and when two processes start at
    once (each step re-reads the ledger inside its write transaction).
    """
    with engine.begin() as conn:
        conn.exec_driver_sql(_CREATE_LEDGER)
        pending = pending_migrations(conn, migrations, database_name=database_name)
    applied: list[str] = []
    for migration in pending:
        name = migration_name(migration)
        with engine.begin() as conn:
            if name in applied_migrations(conn):
                continue  # another process got there first
            migration(conn)
            conn.execute(insert(schema_migrations).values(name=name, applied_at=utcnow()))
        applied.append(name)
    return applied
