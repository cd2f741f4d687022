"""The fd-based walk of the files built-in (``builtin/granted.py``): what it follows, what not."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from keiko_desktop.mcp_tools.builtin.files import _list, _read, _search
from keiko_desktop.mcp_tools.builtin.granted import FD_WALK, MAX_LINKS, GrantedFolders

pytestmark = pytest.mark.skipif(sys.platform == "win32" or not FD_WALK, reason="no dir_fd")

OUTSIDE = "outside the granted folders"
SECRET = "THE-SECRET-CONTENT"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "granted"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "top.txt").write_text("top\n")
    (root / "sub" / "deep.txt").write_text("deep\n")
    (root / "sub" / "deeper" / "deepest.txt").write_text("deepest\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n")
    return root


def read(folders: GrantedFolders, path: str) -> str:
    return _read(folders, path, 0, 1000)


def refused(folders: GrantedFolders, path: str) -> str:
    with pytest.raises(ToolError) as info:
        read(folders, path)
    assert SECRET not in str(info.value)
    return str(info.value)


def test_dot_dot_stays_inside_and_cannot_climb_out(root: Path) -> None:
    folders = GrantedFolders([root])
    assert read(folders, "sub/deeper/../deep.txt") == "deep\n"
    assert read(folders, "sub/./deeper/../../top.txt") == "top\n"
    assert OUTSIDE in refused(folders, "../outside/secret.txt")
    assert OUTSIDE in refused(folders, "sub/../../outside/secret.txt")
    assert OUTSIDE in refused(folders, f"{root}/../outside/secret.txt")
    assert OUTSIDE in refused(folders, f"{root}/sub/../../outside/secret.txt")


def test_links_that_stay_inside_are_followed(root: Path) -> None:
    os.symlink("sub/deep.txt", root / "relative.txt")
    os.symlink(root / "sub" / "deeper", root / "absolute-dir")
    os.symlink("../top.txt", root / "sub" / "up.txt")
    os.symlink("relative.txt", root / "chain.txt")
    os.symlink("deeper/../deep.txt", root / "sub" / "dotted.txt")
    folders = GrantedFolders([root])
    assert read(folders, "relative.txt") == "deep\n"
    assert read(folders, "absolute-dir/deepest.txt") == "deepest\n"
    assert read(folders, "absolute-dir/../deep.txt") == "deep\n"  # .. from where the link led
    assert read(folders, "sub/up.txt") == "top\n"
    assert read(folders, "chain.txt") == "deep\n"
    assert read(folders, "sub/dotted.txt") == "deep\n"
    listing = _list(folders, ".")
    assert "relative.txt  (5 bytes)" in listing
    assert "absolute-dir/" in listing


def test_links_that_leave_are_refused(root: Path) -> None:
    outside = root.parent / "outside"
    os.symlink("../outside/secret.txt", root / "relative-out.txt")
    os.symlink(outside / "secret.txt", root / "absolute-out.txt")
    os.symlink(outside, root / "out-dir")
    os.symlink("../../outside", root / "sub" / "up-and-out")
    os.symlink(f"{root}/../outside/secret.txt", root / "lexical-out.txt")
    folders = GrantedFolders([root])
    for path in (
        "relative-out.txt",
        "absolute-out.txt",
        "out-dir/secret.txt",
        "sub/up-and-out/secret.txt",
        "lexical-out.txt",
    ):
        assert OUTSIDE in refused(folders, path), path
    listing = _list(folders, ".")
    assert "out-dir -> (link outside the granted folders, not followed)" in listing
    assert "absolute-out.txt -> (link outside the granted folders, not followed)" in listing
    assert _search(folders, "SECRET-CONTENT", "", 50) == "No matches for 'SECRET-CONTENT'."
    with pytest.raises(ToolError, match=OUTSIDE):
        _list(folders, "out-dir")


def test_a_loop_of_links_is_refused_with_a_reason(root: Path) -> None:
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    folders = GrantedFolders([root])
    assert f"more than {MAX_LINKS} links" in refused(folders, "a")
    assert "a -> (broken link)" in _list(folders, ".")


def test_absolute_paths_map_to_their_granted_folder(root: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    os.symlink(root, alias)
    via_alias = GrantedFolders([alias])  # granted through a link: its real path is the root
    assert read(via_alias, f"{alias}/top.txt") == "top\n"  # as given
    assert read(via_alias, f"{root}/sub/deep.txt") == "deep\n"  # as real
    elsewhere = tmp_path / "elsewhere"
    os.symlink(root / "sub", elsewhere)
    assert read(via_alias, f"{elsewhere}/deep.txt") == "deep\n"  # by its realpath
    assert OUTSIDE in refused(via_alias, f"{tmp_path}/outside/secret.txt")
    assert OUTSIDE in refused(via_alias, "/etc/passwd")
    assert "is not a file" in refused(via_alias, f"{root}/missing.txt")
    assert "does not exist" in refused(via_alias, "missing.txt")
    assert "is not a file" in refused(via_alias, "sub")


def test_a_granted_folder_replaced_by_a_link_is_refused(root: Path) -> None:
    folders = GrantedFolders([root])
    moved = root.with_name("moved")
    root.rename(moved)
    os.symlink(root.parent / "outside", root)
    assert OUTSIDE in refused(folders, "secret.txt")
    assert "No matches" in _search(folders, SECRET, "", 50)


def test_relative_paths_try_every_granted_folder(root: Path, tmp_path: Path) -> None:
    second = tmp_path / "second"
    second.mkdir()
    (second / "only-here.txt").write_text("second\n")
    folders = GrantedFolders([root, second])
    assert read(folders, "only-here.txt") == "second\n"
    assert read(folders, "top.txt") == "top\n"
    found = _search(folders, "second", "", 50)
    assert f"{second}/only-here.txt:1: second" in found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_no_descriptor_is_left_open(root: Path) -> None:
    os.symlink("sub", root / "inner-dir")
    os.symlink(root.parent / "outside", root / "out-dir")
    folders = GrantedFolders([root])
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        read(folders, "inner-dir/deep.txt")
        refused(folders, "out-dir/secret.txt")
        refused(folders, "sub/deeper/../../../outside/secret.txt")
        _list(folders, ".")
        _search(folders, "deep", "", 1)
        _search(folders, "deep", "", 50)
    assert len(os.listdir("/proc/self/fd")) == before
