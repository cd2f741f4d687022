"""Batch inputs from a folder: the text of each file, for one agent run per file.

Read off the event loop (``folder_inputs`` runs the reading in a thread). Only regular files
directly in the folder are read (no links followed, nothing outside it), in name order; a
binary file (a NUL byte in its first 8 KB) or one that cannot be read is skipped and named in
``skipped``; each text is cut to fit a batch step with a note.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from keiko_desktop.core.agents.errors import AgentError
from keiko_desktop.core.agents.plan import MAX_INSTRUCTION

MAX_FILES = 500
HEADER_ROOM = 300
"""Characters of a step left for the file's name and the note."""


@dataclass(frozen=True)
class FolderInputs:
    inputs: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(file name, why) for each file that was not read."""


def read_folder(folder: Path, pattern: str = "*", max_files: int = MAX_FILES) -> FolderInputs:
    if not folder.is_dir():
        raise AgentError(f"{folder} is not a folder.", "Choose a folder of text files.")
    limit = MAX_INSTRUCTION - HEADER_ROOM
    result = FolderInputs()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise AgentError(f"Cannot read the folder {folder}: {exc.strerror}.") from exc
    for entry in entries:
        if not Path(entry.name).match(pattern) or not entry.is_file(follow_symlinks=False):
            continue
        if len(result.inputs) >= max_files:
            result.skipped.append((entry.name, f"more than {max_files} files"))
            continue
        try:
            with open(entry.path, "rb", opener=_no_follow) as handle:
                data = handle.read(limit * 4 + 1)
        except OSError as exc:
            result.skipped.append((entry.name, exc.strerror or "cannot be read"))
            continue
        if b"\0" in data[:8192]:
            result.skipped.append((entry.name, "not a text file"))
            continue
        text = data.decode("utf-8", errors="replace")
        if len(text) > limit:
            text = text[:limit] + "\n[the rest of the file was cut]"
        result.inputs.append(f"File: {entry.name}\n\n{text}")
        result.names.append(entry.name)
    if not result.inputs:
        raise AgentError(
            f"There is no text file in {folder}"
            + (f" matching {pattern}." if pattern != "*" else "."),
            "Choose a folder with text files in it.",
        )
    return result


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


async def folder_inputs(
    folder: Path, pattern: str = "*", max_files: int = MAX_FILES
) -> FolderInputs:
    """``read_folder`` in a worker thread."""
    return await asyncio.to_thread(read_folder, folder, pattern, max_files)
