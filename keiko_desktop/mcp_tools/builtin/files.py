"""The ``files`` built-in server: list, read and search text inside folders the user granted.

Every path is resolved (``..`` and symlinks included) before use; anything that ends up outside a
granted folder is refused. Big files are cut with a note saying how to read on. Blocking file
work runs in a thread so the app's loop never waits on the disk.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

DEFAULT_MAX_BYTES = 50_000
MAX_LIST_ENTRIES = 500
MAX_SEARCH_FILES = 5_000
MAX_SEARCH_FILE_BYTES = 2_000_000
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


class GrantedFolders:
    """The folders the user granted, resolved, and the rule that keeps paths inside them."""

    def __init__(self, folders: Sequence[str | Path]) -> None:
        roots = [Path(os.path.realpath(Path(f).expanduser())) for f in folders]
        self.roots = [r for r in roots if r.is_dir()]

    def inside(self, real: Path) -> bool:
        return any(real == root or root in real.parents for root in self.roots)

    def resolve(self, raw: str) -> Path:
        """The real path for ``raw`` (absolute, or relative to a granted folder)."""
        if not self.roots:
            raise ToolError(
                "No folder is granted to the files tool; grant one in Settings > Tools."
            )
        given = Path(raw).expanduser()
        candidates = [given] if given.is_absolute() else [root / given for root in self.roots]
        outside = False
        for candidate in candidates:
            real = Path(os.path.realpath(candidate))
            if not self.inside(real):
                outside = True
                continue
            if real.exists() or given.is_absolute():
                return real
        if outside:
            raise ToolError(f"'{raw}' is outside the granted folders; access refused.")
        raise ToolError(f"'{raw}' does not exist in the granted folders.")


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head


def _list(folders: GrantedFolders, path: str) -> str:
    if not path:
        return "Granted folders:\n" + "\n".join(str(r) for r in folders.roots)
    target = folders.resolve(path)
    if not target.is_dir():
        raise ToolError(f"'{path}' is not a folder.")
    lines: list[str] = []
    entries = sorted(target.iterdir(), key=lambda p: p.name.lower())
    for entry in entries[:MAX_LIST_ENTRIES]:
        real = Path(os.path.realpath(entry))
        if not folders.inside(real):
            lines.append(f"{entry.name} -> (link outside the granted folders, not followed)")
        elif real.is_dir():
            lines.append(f"{entry.name}/")
        else:
            lines.append(f"{entry.name}  ({real.stat().st_size} bytes)")
    if len(entries) > MAX_LIST_ENTRIES:
        lines.append(f"[{len(entries) - MAX_LIST_ENTRIES} more entries not shown]")
    return f"{target}:\n" + ("\n".join(lines) if lines else "(empty)")


def _read(folders: GrantedFolders, path: str, offset: int, max_bytes: int) -> str:
    target = folders.resolve(path)
    if not target.is_file():
        raise ToolError(f"'{path}' is not a file.")
    size = target.stat().st_size
    with target.open("rb") as fh:
        fh.seek(max(0, offset))
        data = fh.read(max_bytes)
    if _is_binary(data[:4096]):
        raise ToolError(f"'{path}' is a binary file ({size} bytes); only text can be read.")
    text = data.decode("utf-8", "replace")
    end = max(0, offset) + len(data)
    if end < size:
        text += (
            f"\n[truncated: showed bytes {max(0, offset)}-{end} of {size}; "
            f"call read_file with offset={end} to read more]"
        )
    return text


def _search(folders: GrantedFolders, query: str, path: str, max_results: int) -> str:
    if not query:
        raise ToolError("Give some text to search for.")
    tops = [folders.resolve(path)] if path else list(folders.roots)
    needle = query.lower()
    hits: list[str] = []
    scanned = 0
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                file = Path(dirpath) / filename
                real = Path(os.path.realpath(file))
                if not folders.inside(real) or not real.is_file():
                    continue
                if real.stat().st_size > MAX_SEARCH_FILE_BYTES:
                    continue
                scanned += 1
                if scanned > MAX_SEARCH_FILES:
                    hits.append(f"[stopped after {MAX_SEARCH_FILES} files]")
                    return "\n".join(hits)
                data = real.read_bytes()
                if _is_binary(data[:4096]):
                    continue
                for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                    if needle in line.lower():
                        hits.append(f"{file}:{number}: {line.strip()[:200]}")
                        if len(hits) >= max_results:
                            hits.append(f"[stopped at {max_results} matches]")
                            return "\n".join(hits)
    return "\n".join(hits) if hits else f"No matches for {query!r}."


def create_files_server(
    folders: Sequence[str | Path], max_bytes: int = DEFAULT_MAX_BYTES
) -> MCPServer:
    """An in-process server over ``folders``."""
    granted = GrantedFolders(folders)
    server: MCPServer = MCPServer(
        "files",
        instructions="Read-only access to the folders the user granted.",
        log_level="WARNING",
    )

    @server.tool(annotations=READ_ONLY)
    async def list_files(path: str = "") -> str:
        """List a folder's entries. With no path, list the granted folders."""
        return await anyio.to_thread.run_sync(_list, granted, path)

    @server.tool(annotations=READ_ONLY)
    async def read_file(path: str, offset: int = 0) -> str:
        """Read a text file (absolute, or relative to a granted folder). Long files are cut;
        pass the offset from the note to read on."""
        return await anyio.to_thread.run_sync(_read, granted, path, offset, max_bytes)

    @server.tool(annotations=READ_ONLY)
    async def search_text(query: str, path: str = "", max_results: int = 50) -> str:
        """Find lines containing the query (case-insensitive) in text files under path
        (default: every granted folder)."""
        limit = max(1, min(max_results, 500))
        return await anyio.to_thread.run_sync(_search, granted, query, path, limit)

    return server
