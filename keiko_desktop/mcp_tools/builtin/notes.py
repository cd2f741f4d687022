"""The ``notes`` built-in server: create, search and read notes kept in Keiko's database."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from keiko_desktop.core.tools.models import Note
from keiko_desktop.core.tools.ports import NoteRepository

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)


def _line(note: Note) -> str:
    preview = note.body.strip().replace("\n", " ")[:80]
    return f"#{note.id} {note.title} ({note.updated_at:%Y-%m-%d}): {preview}"


def create_notes_server(notes: NoteRepository) -> MCPServer:
    server: MCPServer = MCPServer(
        "notes", instructions="The user's notes, kept by Keiko.", log_level="WARNING"
    )

    @server.tool(annotations=WRITES)
    async def create_note(title: str, body: str) -> str:
        """Save a new note; returns its id."""
        if not title.strip():
            raise ToolError("A note needs a title.")
        note = await notes.create_note(title.strip(), body)
        return f"Saved note #{note.id}: {note.title}"

    @server.tool(annotations=READ_ONLY)
    async def search_notes(query: str, limit: int = 10) -> str:
        """Find notes whose title or text contains every word of the query."""
        found = await notes.search_notes(query, max(1, min(limit, 50)))
        return "\n".join(_line(n) for n in found) if found else f"No notes match {query!r}."

    @server.tool(annotations=READ_ONLY)
    async def list_notes(limit: int = 20) -> str:
        """The most recently changed notes."""
        found = await notes.list_notes(max(1, min(limit, 100)))
        return "\n".join(_line(n) for n in found) if found else "There are no notes yet."

    @server.tool(annotations=READ_ONLY)
    async def read_note(note_id: int) -> str:
        """The full text of a note, by its number."""
        note = await notes.get_note(note_id)
        if note is None:
            raise ToolError(f"There is no note #{note_id}.")
        return f"# {note.title}\n\n{note.body}"

    return server
