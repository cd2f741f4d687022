"""``files.write_file``: writes only inside a granted folder, by directory fd, never through a
link, makes missing folders, replaces only when asked, atomically, with the umask's mode.

Reached through the SDK's in-memory ``Client(server)``, as a model's call would arrive."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError

from keiko_desktop.core.tools.models import Policy, ToolResult
from keiko_desktop.core.tools.permissions import default_policy
from keiko_desktop.mcp_tools.builtin import files as files_module
from keiko_desktop.mcp_tools.builtin import granted as granted_module
from keiko_desktop.mcp_tools.builtin.files import MAX_WRITE_BYTES, create_files_server
from keiko_desktop.mcp_tools.convert import tool_result, tool_spec

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and modes")

OUTSIDE = "outside the granted folders"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "granted"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_text("hello\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    return root


@pytest.fixture
def real(root: Path) -> Path:
    """The granted folder's real path, as results name it."""
    return Path(os.path.realpath(root))


@pytest.fixture
def outside(root: Path) -> Path:
    return root.parent / "outside"


@pytest.fixture
def umask() -> Iterator[int]:
    """A known umask for the test (restored after): group-writable files, as some users have."""
    previous = os.umask(0o002)
    try:
        yield 0o002
    finally:
        os.umask(previous)


async def write(root: Path | None, path: str, content: str, **more: Any) -> ToolResult:
    """One ``write_file`` call through a fresh in-memory client of a server over ``root``.

    (A client per call: an async fixture's setup and teardown run in different tasks, and
    the SDK's cancel scopes must close in the task that opened them.)"""
    server = create_files_server([] if root is None else [root])
    async with Client(server) as client:
        result = await client.call_tool("write_file", {"path": path, "content": content, **more})
    return tool_result(result, 100_000)


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


async def test_write_file_is_not_read_only_so_it_asks(root: Path) -> None:
    async with Client(create_files_server([root])) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    writer = tool_spec("files", tools["write_file"], builtin=True)
    reader = tool_spec("files", tools["read_file"], builtin=True)
    assert not writer.read_only
    assert default_policy(writer) is Policy.ASK
    assert default_policy(reader) is Policy.ALWAYS
    assert set(writer.input_schema["properties"]) == {"path", "content", "overwrite"}
    assert writer.input_schema["required"] == ["path", "content"]


async def test_a_new_file_gets_the_umasks_mode(root: Path, real: Path, umask: int) -> None:
    result = await write(root, "notes.md", "# Otters\nhold hands — «ñ»\n")
    assert not result.is_error, result.text
    assert result.text == f"Created {real}/notes.md (31 bytes)."
    assert (root / "notes.md").read_text() == "# Otters\nhold hands — «ñ»\n"
    assert stat.S_IMODE((root / "notes.md").stat().st_mode) == 0o666 & ~umask  # not 0600
    absolute = await write(root, str(root / "sub" / "abs.txt"), "absolute")
    assert not absolute.is_error, absolute.text
    assert (root / "sub" / "abs.txt").read_text() == "absolute"


async def test_missing_folders_are_made_inside(root: Path, umask: int) -> None:
    result = await write(root, "a/b/c/deep.txt", "deep")
    assert not result.is_error, result.text
    assert (root / "a" / "b" / "c" / "deep.txt").read_text() == "deep"
    assert stat.S_IMODE((root / "a" / "b").stat().st_mode) == 0o777 & ~umask
    dotted = await write(root, "sub/new/../beside.txt", "beside")  # made, then left
    assert not dotted.is_error, dotted.text
    assert (root / "sub" / "beside.txt").read_text() == "beside"
    blocked = await write(root, "hello.txt/inner.txt", "x")
    assert blocked.is_error
    assert "is a file" in blocked.text


async def test_an_existing_file_is_replaced_only_when_asked(root: Path) -> None:
    target = root / "hello.txt"
    target.chmod(0o640)
    refused = await write(root, "hello.txt", "new")
    assert refused.is_error
    assert "already exists; pass overwrite=true" in refused.text
    assert target.read_text() == "hello\n"

    with target.open() as before:  # a reader holding the old file keeps it whole
        replaced = await write(root, "hello.txt", "new text", overwrite=True)
        assert not replaced.is_error, replaced.text
        assert replaced.text.startswith("Replaced ")
        assert before.read() == "hello\n"  # renamed over, not rewritten in place
    assert target.read_text() == "new text"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # a replaced file keeps its mode
    fresh = await write(root, "fresh.txt", "made", overwrite=True)  # nothing to replace
    assert fresh.text.startswith("Created ")
    assert tree(root) == ["fresh.txt", "hello.txt", "sub"]  # no temporary file left


@pytest.mark.parametrize(
    "path",
    [
        "../outside/new.txt",
        "sub/../../outside/new.txt",
        "link-out/new.txt",
        "link-out/deeper/new.txt",
        "dangling/new.txt",
        "sub/up-and-out/new.txt",
        "OUTSIDE/new.txt",
        "/etc/keiko-should-not-be-here.txt",
    ],
)
async def test_writes_never_leave_the_granted_folder(root: Path, outside: Path, path: str) -> None:
    os.symlink(outside, root / "link-out")
    os.symlink(outside / "not-yet", root / "dangling")
    os.symlink("../../outside", root / "sub" / "up-and-out")
    before = tree(outside)
    result = await write(root, path.replace("OUTSIDE", str(outside)), "escaped!")
    assert result.is_error
    assert OUTSIDE in result.text
    assert tree(outside) == before
    assert "keiko-should-not-be-here.txt" not in os.listdir("/etc")


async def test_a_link_is_never_written_through(root: Path, outside: Path) -> None:
    os.symlink(outside / "secret.txt", root / "evil.txt")
    os.symlink("hello.txt", root / "inner.txt")
    for name in ("evil.txt", "inner.txt"):
        result = await write(root, name, "overwritten", overwrite=True)
        assert result.is_error
        assert "is a symbolic link" in result.text
    assert (outside / "secret.txt").read_text() == "secret\n"
    assert (root / "hello.txt").read_text() == "hello\n"
    assert (root / "evil.txt").is_symlink()


async def test_a_link_to_a_folder_inside_is_followed(root: Path, real: Path) -> None:
    os.symlink("sub", root / "inner-dir")
    result = await write(root, "inner-dir/via-link.txt", "inside")
    assert not result.is_error, result.text
    assert (root / "sub" / "via-link.txt").read_text() == "inside"
    assert result.text.startswith(f"Created {real}/sub/via-link.txt")


@pytest.mark.parametrize("path", ["", "  ", "sub/", "sub/..", ".", "sub"])
async def test_a_path_that_names_no_file_is_refused(root: Path, path: str) -> None:
    result = await write(root, path, "x")
    assert result.is_error
    assert "does not name a file" in result.text or "is not a file" in result.text
    assert tree(root) == ["hello.txt", "sub"]


async def test_the_size_is_bounded(root: Path) -> None:
    too_big = await write(root, "big.txt", "x" * (MAX_WRITE_BYTES + 1))
    assert too_big.is_error
    assert "at most 1,000,000" in too_big.text
    assert not (root / "big.txt").exists()
    wide = "é" * (MAX_WRITE_BYTES // 2 + 1)  # under the bound in characters, over in bytes
    assert (await write(root, "wide.txt", wide)).is_error
    exactly = await write(root, "big.txt", "x" * MAX_WRITE_BYTES)
    assert not exactly.is_error, exactly.text
    assert (root / "big.txt").stat().st_size == MAX_WRITE_BYTES


async def test_no_granted_folder_says_how_to_grant() -> None:
    result = await write(None, "x.txt", "x")
    assert result.is_error
    assert "No folder is granted" in result.text


def test_without_hard_links_a_free_name_is_still_checked(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")  # as on FAT or some shares

    monkeypatch.setattr(os, "link", no_links)
    folders = granted_module.GrantedFolders([root])
    assert files_module._write(folders, "new.txt", "new", False).startswith("Created ")
    assert (root / "new.txt").read_text() == "new"
    with pytest.raises(ToolError, match="already exists"):
        files_module._write(folders, "new.txt", "again", False)
    assert tree(root) == ["hello.txt", "new.txt", "sub"]


def test_without_dir_fds_the_realpath_check_still_keeps_writes_inside(
    root: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Windows way (no ``dir_fd``): paths checked by realpath, then written by path."""
    monkeypatch.setattr(granted_module, "FD_WALK", False)
    os.symlink(outside, root / "link-out")
    folders = granted_module.GrantedFolders([root])
    assert files_module._write(folders, "made/here.txt", "here", False).startswith("Created ")
    assert (root / "made" / "here.txt").read_text() == "here"
    with pytest.raises(ToolError, match="already exists"):
        files_module._write(folders, "made/here.txt", "again", False)
    assert files_module._write(folders, "made/here.txt", "again", True).startswith("Replaced ")
    assert (root / "made" / "here.txt").read_text() == "again"
    for path in ("link-out/x.txt", "../outside/x.txt"):
        with pytest.raises(ToolError, match=OUTSIDE):
            files_module._write(folders, path, "x", False)
    assert tree(outside) == ["secret.txt"]


def test_lone_surrogates_are_refused(root: Path) -> None:
    folders = granted_module.GrantedFolders([root])
    with pytest.raises(ToolError, match="not valid text"):
        files_module._write(folders, "bad.txt", "half \ud800 a pair", False)
    assert not (root / "bad.txt").exists()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_no_descriptor_is_left_open(root: Path, outside: Path) -> None:
    os.symlink(outside, root / "link-out")
    folders = granted_module.GrantedFolders([root])
    before = len(os.listdir("/proc/self/fd"))
    for i in range(30):
        files_module._write(folders, f"a/b/{i}.txt", "x", False)
        files_module._write(folders, "a/b/0.txt", "y", True)
        for path, overwrite in (("a/b/0.txt", False), ("link-out/x", False), ("hello.txt/x", True)):
            with pytest.raises(ToolError):
                files_module._write(folders, path, "z", overwrite)
    assert len(os.listdir("/proc/self/fd")) == before
    assert len(list((root / "a" / "b").iterdir())) == 30
