"""The folders granted to the ``files`` built-in, and a walk that cannot be led outside them.

``GrantedFolders.open`` opens a path relative to directory file descriptors, one component at a
time, never following a link on the way (``O_NOFOLLOW``), so checking that a path is inside a
granted folder and opening it are one step: swapping a folder for a symlink between the two
cannot lead outside. Each granted folder is opened afresh for every call, from ``/`` down,
refusing any link. A symlink inside a granted folder is followed only by walking its target the
same way: a relative target from where the link is, an absolute one only when it lies (as
written) under a granted folder, restarting from that folder; ``..`` never climbs above the
folder the walk is in; at most ``MAX_LINKS`` links. Anything else is refused as outside the
granted folders. An absolute path is mapped to the granted folder it lies under as written (the
folder as given or its real path), else by its realpath. ``open_for_write`` walks to a file's
folder the same way, making missing sub-folders on the way (each made, then opened, by dir fd).

Windows has no ``dir_fd`` support (``os.open in os.supports_dir_fd`` is False): there paths are
checked with ``os.path.realpath`` before use (``resolve``), as before, and a race with a symlink
swap remains possible.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

MAX_LINKS = 40
MAX_MADE = 64
"""At most this many folders made by one walk (``walk(create=True)``)."""

FD_WALK = (
    os.open in os.supports_dir_fd
    and os.scandir in os.supports_fd
    and hasattr(os, "fwalk")
    and hasattr(os, "O_NOFOLLOW")
    and hasattr(os, "O_DIRECTORY")
)
"""Whether paths are walked with directory fds (Linux, macOS); else the realpath check."""

_O = {name: getattr(os, name, 0) for name in ("O_NOFOLLOW", "O_DIRECTORY", "O_NONBLOCK")}
# Directories on the way: O_PATH (Linux) also passes folders we may enter but not list.
_DIR_FLAGS = (getattr(os, "O_PATH", 0) or os.O_RDONLY) | _O["O_DIRECTORY"] | _O["O_NOFOLLOW"]
_LAST_FLAGS = os.O_RDONLY | _O["O_NOFOLLOW"] | _O["O_NONBLOCK"]  # no hang on a FIFO
_OPEN_DIR = os.O_RDONLY | _O["O_DIRECTORY"]

Parts = tuple[str, ...]


class OutsideError(Exception):
    """The walk left the granted folders."""


class MissingError(Exception):
    """A component does not exist (or is not a folder)."""


class TooManyLinksError(MissingError):
    """More than ``MAX_LINKS`` links on the way (or a loop)."""


@dataclass
class Opened:
    """An open file or folder inside a granted folder: its fd (None on Windows), the real path
    to show, and where it is (root index and the components below it)."""

    fd: int | None
    path: Path
    st: os.stat_result
    root: int = 0
    names: Parts = ()

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.st.st_mode)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def parts_of(raw: str) -> Parts:
    return tuple(p for p in Path(raw).parts if p not in ("", "."))


class GrantedFolders:
    """The folders the user granted, resolved, and the rule that keeps paths inside them."""

    def __init__(self, folders: Sequence[str | Path]) -> None:
        given = [Path(os.path.abspath(Path(f).expanduser())) for f in folders]
        pairs = [(g, Path(os.path.realpath(g))) for g in given]
        pairs = [(g, r) for g, r in pairs if r.is_dir()]
        self.roots = [r for _, r in pairs]
        # Every spelling of each root (as given, and real), longest first.
        spellings = {(s.parts, i) for i, pair in enumerate(pairs) for s in pair}
        self._spellings = sorted(spellings, key=lambda item: -len(item[0]))

    def inside(self, real: Path) -> bool:
        return any(real == root or root in real.parents for root in self.roots)

    def resolve(self, raw: str) -> Path:
        """The real path for ``raw`` (absolute, or relative to a granted folder), by realpath;
        only where there is no ``dir_fd`` (Windows): elsewhere ``open`` walks it safely."""
        self._check_granted()
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
            raise outside_error(raw)
        raise ToolError(f"'{raw}' does not exist in the granted folders.")

    def _check_granted(self) -> None:
        if not self.roots:
            raise ToolError(
                "No folder is granted to the files tool; grant one in Settings > Tools."
            )

    # ------------------------------------------------------------------ opening
    def open(self, raw: str, kind: str | None = None) -> Opened:
        """Open ``raw`` (absolute, or relative to a granted folder) if it is inside a granted
        folder and, when asked, a ``kind`` ("file" or "dir"); else a ToolError saying why."""
        self._check_granted()
        wrong = f"'{raw}' is not a {'file' if kind == 'file' else 'folder'}."
        missing = f"'{raw}' does not exist in the granted folders."
        given = Path(raw).expanduser()
        if not FD_WALK:
            real = self.resolve(raw)
            if not real.exists() and kind is None:
                raise ToolError(missing)
            if kind is not None and not (real.is_file() if kind == "file" else real.is_dir()):
                raise ToolError(wrong)
            return Opened(None, real, real.stat())
        if given.is_absolute():
            candidates = self._match(given.parts) or self._match(
                Path(os.path.realpath(given)).parts
            )
        else:
            candidates = [(i, parts_of(str(given))) for i in range(len(self.roots))]
        outside = not candidates
        for index, parts in candidates:
            try:
                opened = self.walk(index, parts)
            except OutsideError:
                outside = True
                continue
            except TooManyLinksError as exc:
                raise ToolError(f"'{raw}' has more than {MAX_LINKS} links on the way.") from exc
            except MissingError:
                continue
            except OSError as exc:
                raise ToolError(f"Cannot open '{raw}': {exc.strerror or exc}.") from exc
            if kind is None or (opened.is_file if kind == "file" else opened.is_dir):
                return opened
            opened.close()
            raise ToolError(wrong)
        if outside:
            raise outside_error(raw)
        raise ToolError(wrong if given.is_absolute() and kind is not None else missing)

    def _match(self, parts: Parts) -> list[tuple[int, Parts]]:
        """The roots ``parts`` lies under, as written (the longest spelling first), each with
        the components below it."""
        seen: set[int] = set()
        out: list[tuple[int, Parts]] = []
        for spelled, index in self._spellings:
            if parts[: len(spelled)] == spelled and index not in seen:
                seen.add(index)
                out.append((index, tuple(p for p in parts[len(spelled) :] if p != ".")))
        return out

    def _open_root(self, index: int) -> int:
        """The granted folder, opened from ``/`` down without following any link: a folder
        replaced by a link since it was granted is refused, never followed."""
        real = self.roots[index]
        fd = os.open(real.anchor, _DIR_FLAGS)
        try:
            for name in real.parts[1:]:
                parent, fd = fd, os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(parent)
                if not stat.S_ISDIR(os.fstat(fd).st_mode):  # O_PATH opened a link itself
                    raise OutsideError
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
                raise MissingError from exc  # deleted since it was granted
            if isinstance(exc, OSError) and exc.errno in (errno.ENOTDIR, errno.ELOOP):
                raise OutsideError from exc  # replaced by a link (or a file)
            raise
        return fd

    def walk(self, index: int, parts: Parts, create: bool = False) -> Opened:
        """Open ``parts`` below root ``index`` one component at a time, never following a link
        except by walking its target the same way. Raises OutsideError or MissingError.
        ``create``: a missing component is made as a folder (with the umask's mode) where the
        walk is, then opened like any other, so it is made only inside."""
        stack: list[int] = []
        try:
            stack.append(self._open_root(index))
            names: list[str] = []
            pending = deque(parts)
            links = made = 0
            while pending:
                name = pending.popleft()
                if name == "..":
                    if len(stack) == 1:
                        raise OutsideError  # above the granted folder
                    os.close(stack.pop())
                    names.pop()
                    continue
                last = not pending
                try:
                    fd = open_component(name, stack[-1], last)
                except MissingError:
                    if not create or made >= MAX_MADE or not _make_folder(name, stack[-1]):
                        raise
                    made += 1
                    pending.appendleft(name)  # open what was made, as any folder
                    continue
                if fd is None:  # a symlink: walk its target instead
                    links += 1
                    if links > MAX_LINKS:
                        raise TooManyLinksError
                    try:
                        target = os.readlink(name, dir_fd=stack[-1])
                    except OSError:  # swapped back meanwhile: look again
                        pending.appendleft(name)
                        continue
                    if os.path.isabs(target):
                        match = self._match(Path(target).parts)
                        if not match:
                            raise OutsideError
                        index, rest = match[0]
                        while stack:
                            os.close(stack.pop())
                        stack.append(self._open_root(index))
                        names = []
                    else:
                        rest = parts_of(target)
                    pending.extendleft(reversed(rest))
                    continue
                if last:
                    where = (*names, name)
                    return Opened(
                        fd, self.roots[index].joinpath(*where), os.fstat(fd), index, where
                    )
                stack.append(fd)
                names.append(name)
            fd = os.open(".", _OPEN_DIR, dir_fd=stack[-1])  # readable, for scandir
            where = tuple(names)
            return Opened(fd, self.roots[index].joinpath(*where), os.fstat(fd), index, where)
        finally:
            for fd in stack:
                os.close(fd)

    def probe(self, index: int, parts: Parts) -> Opened | None:
        """``walk``, or None when the path leads outside; MissingError when it leads nowhere."""
        try:
            return self.walk(index, parts)
        except OutsideError:
            return None

    def open_for_write(self, raw: str) -> tuple[Opened, str]:
        """The folder to hold the file ``raw`` (opened as ``open`` does, its missing sub-folders
        made inside the granted folder) and the file's name in it; a ToolError saying why not.
        A relative path goes to the first granted folder where its folder exists, else to the
        first granted folder, where the missing folders are made."""
        self._check_granted()
        given = Path(raw).expanduser()
        if not raw.strip() or raw.endswith(("/", os.sep)) or given.name in ("", ".", ".."):
            raise ToolError(f"'{raw}' does not name a file.")
        if not FD_WALK:
            return self._folder_by_path(raw, given), given.name
        if given.is_absolute():
            parent = given.parent.parts
            candidates = self._match(parent) or self._match(
                Path(os.path.realpath(given.parent)).parts
            )
        else:
            candidates = [(i, parts_of(str(given.parent))) for i in range(len(self.roots))]
        outside = not candidates
        for index, parts in candidates:
            try:
                folder = self._folder_for_write(raw, index, parts, create=False)
            except OutsideError:
                outside = True
                continue
            if folder is not None:
                return folder, given.name
        if outside:
            raise outside_error(raw)
        index, parts = candidates[0]  # nowhere yet: made in the first granted folder
        try:
            folder = self._folder_for_write(raw, index, parts, create=True)
        except OutsideError:
            raise outside_error(raw) from None
        assert folder is not None
        return folder, given.name

    def _folder_for_write(self, raw: str, index: int, parts: Parts, create: bool) -> Opened | None:
        """``walk`` to the folder of ``raw``; None when it is missing (and not ``create``)."""
        try:
            folder = self.walk(index, parts, create=create)
        except TooManyLinksError as exc:
            raise ToolError(f"'{raw}' has more than {MAX_LINKS} links on the way.") from exc
        except MissingError:
            if not create:
                return None
            raise ToolError(
                f"Cannot make the folder for '{raw}': something that is not a folder is in the way."
            ) from None
        except OSError as exc:
            raise ToolError(f"Cannot open the folder of '{raw}': {exc.strerror or exc}.") from exc
        if folder.is_dir:
            return folder
        folder.close()
        raise ToolError(f"The folder of '{raw}' is a file.")

    def _folder_by_path(self, raw: str, given: Path) -> Opened:
        """Where there is no ``dir_fd`` (Windows): the folder by realpath, made if missing."""
        candidates = [given] if given.is_absolute() else [root / given for root in self.roots]
        inside = [Path(os.path.realpath(c.parent)) for c in candidates]
        inside = [real for real in inside if self.inside(real)]
        if not inside:
            raise outside_error(raw)
        real = next((r for r in inside if r.is_dir()), inside[0])
        try:
            real.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ToolError(f"Cannot make the folder for '{raw}': {exc.strerror or exc}.") from exc
        if not self.inside(Path(os.path.realpath(real))):
            raise outside_error(raw)
        return Opened(None, real, real.stat())


def open_component(name: str, parent: int, last: bool) -> int | None:
    """``name`` opened in the folder ``parent`` without following it; None when it is a
    symlink; MissingError when there is no such entry (or it is not a folder on the way)."""
    try:
        fd = os.open(name, _LAST_FLAGS if last else _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if _is_link(name, parent):
            return None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise MissingError from exc  # ELOOP: a link that was swapped for a file meanwhile
        raise
    if last or stat.S_ISDIR(os.fstat(fd).st_mode):
        return fd
    os.close(fd)  # O_PATH with O_NOFOLLOW can open the link itself
    if _is_link(name, parent):
        return None
    raise MissingError


def _make_folder(name: str, parent: int) -> bool:
    """Make the folder ``name`` in ``parent`` if there is no such entry; False when there is
    one (a file in the way: the walk's MissingError stands)."""
    try:
        os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        with contextlib.suppress(FileExistsError):  # made meanwhile: open it as it is
            os.mkdir(name, dir_fd=parent)
        return True
    return False


def _is_link(name: str, parent: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


def outside_error(raw: str) -> ToolError:
    return ToolError(f"'{raw}' is outside the granted folders; access refused.")
