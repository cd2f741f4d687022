"""The ``files`` built-in server: list, read, search and write text inside granted folders.

Every path is opened through ``GrantedFolders`` (``granted.py``): walked from the granted folder
with directory file descriptors and no-follow opens, so the check that it stays inside and the
open are one step, and a folder swapped for a symlink meanwhile cannot lead outside. Listing and
search work on the opened folder's fd too (``os.scandir(fd)``, ``os.fwalk``), never entering a
link; a link is shown or searched only where it leads inside. Big files are cut with a note
saying how to read on. ``write_file`` (not read-only, so it asks by default) writes a new file,
or replaces one only when asked to, never through a link: it writes a temporary file in the same
folder and renames it into place by the folder's fd, so a reader sees the old file or the new,
never half of one. Blocking file work runs in a thread so the app's loop never waits on the
disk.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from keiko_desktop.mcp_tools.builtin.granted import (
    FD_WALK,
    GrantedFolders,
    MissingError,
    Opened,
    open_component,
    parts_of,
)

DEFAULT_MAX_BYTES = 50_000
MAX_LIST_ENTRIES = 500
MAX_SEARCH_FILES = 5_000
MAX_SEARCH_FILE_BYTES = 2_000_000
MAX_WRITE_BYTES = 1_000_000
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_CREATE |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)

__all__ = ["GrantedFolders", "create_files_server"]


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head


def _describe_link(folders: GrantedFolders, folder: Opened, name: str) -> str:
    """How a listing shows the link ``name`` in ``folder``: where it leads, if inside."""
    if not FD_WALK:
        real = Path(os.path.realpath(folder.path / name))
        target: Opened | None = Opened(None, real, real.stat()) if folders.inside(real) else None
    else:
        try:
            target = folders.probe(folder.root, (*folder.names, name))
        except (MissingError, OSError):
            return f"{name} -> (broken link)"
    if target is None:
        return f"{name} -> (link outside the granted folders, not followed)"
    target.close()
    return f"{name}/" if target.is_dir else f"{name}  ({target.st.st_size} bytes)"


def _list(folders: GrantedFolders, path: str) -> str:
    if not path:
        return "Granted folders:\n" + "\n".join(str(r) for r in folders.roots)
    folder = folders.open(path, "dir")
    try:
        with os.scandir(folder.fd if folder.fd is not None else folder.path) as it:
            entries = sorted(it, key=lambda e: e.name.lower())
        lines: list[str] = []
        for entry in entries[:MAX_LIST_ENTRIES]:
            try:
                if entry.is_symlink() or not FD_WALK:
                    lines.append(_describe_link(folders, folder, entry.name))
                elif entry.is_dir(follow_symlinks=False):
                    lines.append(f"{entry.name}/")
                else:
                    size = entry.stat(follow_symlinks=False).st_size
                    lines.append(f"{entry.name}  ({size} bytes)")
            except FileNotFoundError:
                continue  # removed while listing
    finally:
        folder.close()
    if len(entries) > MAX_LIST_ENTRIES:
        lines.append(f"[{len(entries) - MAX_LIST_ENTRIES} more entries not shown]")
    return f"{folder.path}:\n" + ("\n".join(lines) if lines else "(empty)")


def _file(opened: Opened) -> BinaryIO:
    """A file object over ``opened`` (it takes over the fd)."""
    if opened.fd is None:
        return opened.path.open("rb")
    fd, opened.fd = opened.fd, None
    return os.fdopen(fd, "rb")


def _read(folders: GrantedFolders, path: str, offset: int, max_bytes: int) -> str:
    with _file(folders.open(path, "file")) as fh:
        size = os.fstat(fh.fileno()).st_size
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


def _tree(top: Opened) -> Iterator[tuple[Opened, list[str]]]:
    """Every folder under ``top`` (its fd belongs to the walk) with its sorted file names,
    never entering a link (``os.fwalk`` compares each folder's fd with what it opened) or a
    hidden folder."""
    if top.fd is None:
        for dirpath, dirnames, filenames in os.walk(top.path, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            yield Opened(None, Path(dirpath), top.st), sorted(filenames)
        return
    for dirpath, dirnames, filenames, dirfd in os.fwalk(".", dir_fd=top.fd):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = parts_of(dirpath)
        here = Opened(dirfd, top.path.joinpath(*rel), top.st, top.root, (*top.names, *rel))
        yield here, sorted(filenames)


def _open_found(folders: GrantedFolders, folder: Opened, name: str) -> Opened | None:
    """A file found by the search, opened if it is a regular file inside the folders."""
    if folder.fd is None:
        real = Path(os.path.realpath(folder.path / name))
        ok = folders.inside(real) and real.is_file()
        return Opened(None, real, real.stat()) if ok else None
    try:
        fd = open_component(name, folder.fd, last=True)
        if fd is None:  # a link: only where it stays inside
            opened = folders.probe(folder.root, (*folder.names, name))
        else:
            opened = Opened(fd, folder.path / name, os.fstat(fd))
    except (MissingError, OSError):
        return None
    if opened is not None and not opened.is_file:
        opened.close()
        return None
    return opened


def _search(folders: GrantedFolders, query: str, path: str, max_results: int) -> str:
    if not query:
        raise ToolError("Give some text to search for.")
    needle = query.lower()
    hits: list[str] = []
    scanned = 0
    for top in _tops(folders, path):
        try:
            for folder, filenames in _tree(top):
                for filename in filenames:
                    found = _open_found(folders, folder, filename)
                    if found is None:
                        continue
                    if found.st.st_size > MAX_SEARCH_FILE_BYTES:
                        found.close()
                        continue
                    scanned += 1
                    if scanned > MAX_SEARCH_FILES:
                        found.close()
                        hits.append(f"[stopped after {MAX_SEARCH_FILES} files]")
                        return "\n".join(hits)
                    with _file(found) as fh:
                        data = fh.read()
                    if _is_binary(data[:4096]):
                        continue
                    file = folder.path / filename
                    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                        if needle in line.lower():
                            hits.append(f"{file}:{number}: {line.strip()[:200]}")
                            if len(hits) >= max_results:
                                hits.append(f"[stopped at {max_results} matches]")
                                return "\n".join(hits)
        finally:
            top.close()
    return "\n".join(hits) if hits else f"No matches for {query!r}."


def _tops(folders: GrantedFolders, path: str) -> Iterator[Opened]:
    """The folders to search: ``path``, or every granted folder (opened one at a time)."""
    if path:
        top = folders.open(path)
        if top.is_dir:
            yield top
        else:
            top.close()  # a file: nothing to walk, as before
        return
    folders._check_granted()
    for root in folders.roots:
        try:
            yield folders.open(str(root), "dir")
        except ToolError:
            continue  # a granted folder that is gone, or replaced by a link


def _write(folders: GrantedFolders, path: str, content: str, overwrite: bool) -> str:
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError:
        raise ToolError("The content is not valid text (it holds a lone surrogate).") from None
    if len(data) > MAX_WRITE_BYTES:
        raise ToolError(
            f"The content is {len(data):,} bytes; write_file writes at most {MAX_WRITE_BYTES:,}."
        )
    folder, name = folders.open_for_write(path)
    try:
        replaced = _write_in(folder, name, data, overwrite, path)
    except OSError as exc:
        raise ToolError(f"Cannot write '{path}': {exc.strerror or exc}.") from exc
    finally:
        folder.close()
    done = "Replaced" if replaced else "Created"
    return f"{done} {folder.path / name} ({len(data):,} bytes)."


def _write_in(folder: Opened, name: str, data: bytes, overwrite: bool, path: str) -> bool:
    """Write ``data`` as ``name`` in ``folder`` (by its fd, or its path where there is none):
    a temporary file made there, then renamed over it (``overwrite``) or linked to a name that
    must still be free. True when a file was replaced."""
    fd = folder.fd
    where = (lambda n: n) if fd is not None else (lambda n: str(folder.path / n))
    old = _lstat(where(name), fd)
    if old is not None:
        if stat.S_ISLNK(old.st_mode):
            raise ToolError(f"'{path}' is a symbolic link; write_file does not replace links.")
        if not stat.S_ISREG(old.st_mode):
            raise ToolError(f"'{path}' is not a file; write_file writes files only.")
        if not overwrite:
            raise ToolError(f"'{path}' already exists; pass overwrite=true to replace it.")
    temp = where(f".keiko-write-{secrets.token_hex(6)}.tmp")
    out = os.open(temp, _CREATE, 0o666, dir_fd=fd)  # the umask applies: a normal user file
    try:
        with os.fdopen(out, "wb") as fh:
            if old is not None and hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), stat.S_IMODE(old.st_mode))  # a replaced file keeps its mode
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(temp, where(name), src_dir_fd=fd, dst_dir_fd=fd)
        else:
            _link_new(temp, where(name), fd, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=fd)
        raise
    if fd is not None:
        with contextlib.suppress(OSError):
            os.fsync(fd)  # the rename itself, on disk
    return old is not None


def _link_new(temp: str, name: str, fd: int | None, path: str) -> None:
    """Give the written ``temp`` the ``name``, only if nothing has it (a hard link fails if
    the name exists; where links are not supported, a last check then a rename)."""
    try:
        # never through a link (Windows, without dir fds, only takes the default)
        os.link(temp, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=fd is None)
    except FileExistsError:
        raise ToolError(f"'{path}' already exists; pass overwrite=true to replace it.") from None
    except OSError:
        if _lstat(name, fd) is not None:
            raise ToolError(
                f"'{path}' already exists; pass overwrite=true to replace it."
            ) from None
        os.rename(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
        return
    os.unlink(temp, dir_fd=fd)


def _lstat(name: str, fd: int | None) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def create_files_server(
    folders: Sequence[str | Path], max_bytes: int = DEFAULT_MAX_BYTES
) -> MCPServer:
    """An in-process server over ``folders``."""
    granted = GrantedFolders(folders)
    server: MCPServer = MCPServer(
        "files",
        instructions=(
            "Read, list and search the folders the user granted; write_file saves a text file "
            "into one of them."
        ),
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

    @server.tool(annotations=WRITES)
    async def write_file(path: str, content: str, overwrite: bool = False) -> str:
        """Save text as a file in a granted folder (absolute, or relative to one), making
        missing folders. An existing file is replaced only with overwrite=true."""
        return await anyio.to_thread.run_sync(_write, granted, path, content, overwrite)

    return server
