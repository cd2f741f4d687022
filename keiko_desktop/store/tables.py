"""The current schema, as SQLAlchemy Core tables, used to build queries.

The tables are *created* by the migrations in ``migrations.py`` (raw DDL, frozen in time); this
module describes the schema after the last migration. ``tests/unit/store`` checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC text and read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("pinned", Boolean, nullable=False, default=False),  # m003
    Column("deleted_at", UTCDateTime, nullable=True),  # m003: soft delete, undoable
    # m007: the agent the conversation talks to (None: plain chat)
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Index("ix_conversations_updated_at", "updated_at"),
    Index("ix_conversations_deleted_at", "deleted_at"),  # m003
    Index("ix_conversations_agent_id", "agent_id"),  # m007
    sqlite_autoincrement=True,
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "conversation_id",
        Integer,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("parent_id", Integer, ForeignKey("messages.id", ondelete="SET NULL"), nullable=True),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="complete"),
    Column("model", Text, nullable=True),
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("time_to_first_token", Float, nullable=True),
    Column("tokens_per_second", Float, nullable=True),
    Column("duration", Float, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # m005: who writes a streaming reply (see owners.py); NULL when not streaming
    Column("owner_pid", Integer, nullable=True),
    Column("owner_started", Float, nullable=True),  # the writer's start time, epoch seconds
    Column("owner_token", Text, nullable=True),  # names the writer's open Database
    Column("note", Text, nullable=True),  # m010: e.g. which fallback model answered
    Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    Index("ix_messages_parent_id", "parent_id"),
    Index("ix_messages_status", "status"),
    sqlite_autoincrement=True,
)

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("name", Text, primary_key=True),
    Column("applied_at", UTCDateTime, nullable=False),
)

# ---------------------------------------------------------------------- m007: agents and runs

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", Text, primary_key=True),  # e.g. "agents_seeded"
    Column("value", Text, nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text(collation="NOCASE"), nullable=False),
    Column("name_key", Text, nullable=False),  # name.casefold(): unique, whatever the case
    Column("profile", Text, nullable=False, default="{}"),  # profile_to_dict without the name
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ux_agents_name_key", "name_key", unique=True),
    sqlite_autoincrement=True,
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("agent", Text, nullable=True),  # the agent's name when the run started
    Column("status", String(16), nullable=False),
    Column("plan", Text, nullable=True),  # Plan.to_json()
    Column("checkpoint", Text, nullable=False, default="{}"),  # Checkpoint.to_json()
    Column("result", Text, nullable=False, default=""),
    Column("error", Text, nullable=True),
    Column("resumed_from", Integer, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # who runs a ``running`` run (see owners.py, as for messages); NULL once it ended
    Column("owner_pid", Integer, nullable=True),
    Column("owner_started", Float, nullable=True),
    Column("owner_token", Text, nullable=True),
    Index("ix_runs_updated_at", "updated_at"),
    Index("ix_runs_status", "status"),
    sqlite_autoincrement=True,
)

spans = Table(
    "spans",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("parent", Text, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("start", Float, nullable=False),  # seconds since the epoch
    Column("duration", Float, nullable=True),  # None while it runs
    Column("status", String(16), nullable=False),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_spans_run_id_start", "run_id", "start"),
)

# ---------------------------------------------------------------------- m008: tasks

task_schedules = Table(
    "task_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, default=""),
    Column("kind", String(32), nullable=False),
    Column("params", Text, nullable=False, default="{}"),  # JSON object
    Column("priority", Integer, nullable=False, default=1),  # records.PRIORITIES index
    Column("spec", Text, nullable=False, default="{}"),  # schedule.spec_to_dict as JSON
    Column("enabled", Boolean, nullable=False, default=True),
    Column("next_run", UTCDateTime, nullable=True),  # None: never again
    Column("last_run", UTCDateTime, nullable=True),
    Column("max_attempts", Integer, nullable=True),
    Column("timeout", Float, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_task_schedules_next_run", "next_run"),
    sqlite_autoincrement=True,
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, default=""),
    Column("kind", String(32), nullable=False),
    Column("params", Text, nullable=False, default="{}"),  # JSON object
    Column("priority", Integer, nullable=False, default=1),  # records.PRIORITIES index
    Column("status", String(16), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    Column("progress_text", Text, nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=1),
    Column("timeout", Float, nullable=False, default=0.0),
    Column("result", Text, nullable=False, default=""),
    Column("error", Text, nullable=True),
    Column("idempotency_key", Text, nullable=True),
    Column("parent_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True),
    Column(
        "schedule_id", Integer, ForeignKey("task_schedules.id", ondelete="SET NULL"), nullable=True
    ),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("waiting", Boolean, nullable=False, default=False),  # a parent waiting on children
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("lease", Text, nullable=True),  # the lease token a running task belongs to
    Column("not_before", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ux_tasks_idempotency_key", "idempotency_key", unique=True),
    Index("ix_tasks_queue", "status", "priority", "id"),
    Index("ix_tasks_updated_at", "updated_at"),
    Index("ix_tasks_parent_id", "parent_id"),
    sqlite_autoincrement=True,
)

task_attempts = Table(
    "task_attempts",
    metadata,
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("error", Text, nullable=True),
)

task_lease = Table(
    "task_lease",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1: one lease per database
    Column("token", Text, nullable=False),  # the holding engine's
    Column("role", String(16), nullable=False),  # "window" or "worker"
    Column("owner_pid", Integer, nullable=True),
    Column("owner_started", Float, nullable=True),
    Column("owner_token", Text, nullable=True),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# ---------------------------------------------------------------------- m009: attachments

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", Text, nullable=False),  # of the copy's bytes: one row per content
    Column("name", Text, nullable=False),  # the file's name when first attached (display only)
    Column("kind", String(16), nullable=False),  # a core.files.types.FileKind
    Column("mime", Text, nullable=False, default=""),
    Column("size", Integer, nullable=False),  # bytes
    Column("pages", Integer, nullable=False, default=0),  # pages with text
    Column("chars", Integer, nullable=False, default=0),
    Column("chunks", Integer, nullable=False, default=0),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ux_attachments_sha256", "sha256", unique=True),
    Index("ix_attachments_created_at", "created_at"),
    sqlite_autoincrement=True,
)

message_attachments = Table(
    "message_attachments",
    metadata,
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "attachment_id",
        Integer,
        ForeignKey("attachments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, nullable=False, default=0),  # order within the message
    Index("ix_message_attachments_attachment_id", "attachment_id"),
)

attachment_pages = Table(
    "attachment_pages",
    metadata,
    Column(
        "attachment_id",
        Integer,
        ForeignKey("attachments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("ordinal", Integer, primary_key=True),  # 0-based order of the pages
    Column("page", Integer, nullable=True),  # the page number (from 1); None: the whole file
    Column("text", Text, nullable=False, default=""),
)

chunks = Table(
    "chunks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "attachment_id", Integer, ForeignKey("attachments.id", ondelete="CASCADE"), nullable=False
    ),
    Column("ordinal", Integer, nullable=False),  # 0-based order within the attachment
    Column("page", Integer, nullable=True),
    Column("start", Integer, nullable=False, default=0),  # offset within its page's text
    Column("text", Text, nullable=False, default=""),  # indexed by chunks_fts (FTS5, triggers)
    Index("ux_chunks_attachment_id_ordinal", "attachment_id", "ordinal", unique=True),
    sqlite_autoincrement=True,
)

message_sources = Table(
    "message_sources",
    metadata,
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("chunk_id", Integer, ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True),
    Column("rank", Integer, nullable=False, default=0),  # 0: the best passage
    Index("ix_message_sources_chunk_id", "chunk_id"),
)
