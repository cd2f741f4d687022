"""Regression (issue 9, item 10): the files built-in could be led outside by a symlink swap.

``read_file`` resolved the path (realpath), checked it was inside a granted folder, then opened
it by name: a granted folder swapped for a symlink to another folder between the check and the
open gave that folder's file (578 times in 10 s). Now the path is opened with directory fds,
one component at a time and without following links, so the check and the open are one step.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from keiko_desktop.mcp_tools.builtin.files import _list, _read, _search
from keiko_desktop.mcp_tools.builtin.granted import FD_WALK, GrantedFolders

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not FD_WALK, reason="no dir_fd here: the realpath check remains"
)

SECRET = "the secret outside the granted folder"
SWAP_SECONDS = 3.0


class Swapper(threading.Thread):
    """Keeps swapping ``granted`` between the real folder and a symlink to ``outside``."""

    def __init__(self, granted: Path, outside: Path) -> None:
        super().__init__(daemon=True)
        self.granted = granted
        self.parked = granted.with_name("parked")
        self.link = granted.with_name("link")
        os.symlink(outside, self.link)
        self.stop = threading.Event()
        self.swaps = 0

    def run(self) -> None:
        while not self.stop.is_set():
            os.rename(self.granted, self.parked)  # the real folder steps aside...
            os.rename(self.link, self.granted)  # ...a link to the outside takes its name...
            os.rename(self.granted, self.link)  # ...and goes again
            os.rename(self.parked, self.granted)
            self.swaps += 1

    def finish(self) -> None:
        self.stop.set()
        self.join()


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    granted = tmp_path / "granted"
    (granted / "sub").mkdir(parents=True)
    (granted / "a.txt").write_text("inside\n")
    (granted / "sub" / "a.txt").write_text("inside too\n")
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "a.txt").write_text(SECRET + "\n")
    (outside / "sub" / "a.txt").write_text(SECRET + "\n")
    return granted, outside


def test_reading_while_the_folder_is_swapped_for_a_link_never_leaks(
    layout: tuple[Path, Path],
) -> None:
    granted, outside = layout
    folders = GrantedFolders([granted])  # built once, before the swapping starts
    paths = ["a.txt", "sub/a.txt", str(granted / "a.txt")]
    swapper = Swapper(granted, outside)
    leaks = inside = refused = raw_errors = 0
    swapper.start()
    try:
        deadline = time.monotonic() + SWAP_SECONDS
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                text = _read(folders, paths[n % len(paths)], 0, 1000)
            except ToolError:
                refused += 1
                continue
            except OSError:  # not a clear message for the model
                raw_errors += 1
                continue
            if SECRET in text:
                leaks += 1
            else:
                inside += 1
    finally:
        swapper.finish()
    assert leaks == 0, f"the outside file was read {leaks} times"
    assert raw_errors == 0
    assert swapper.swaps > 100
    assert inside > 0  # the real folder was read while it was in place
    assert refused > 0  # and refused while it was gone or a link


def test_listing_and_search_while_swapped_never_leak(layout: tuple[Path, Path]) -> None:
    granted, outside = layout
    (outside / "only-outside.txt").write_text(SECRET + "\n")
    folders = GrantedFolders([granted])
    swapper = Swapper(granted, outside)
    leaks = raw_errors = 0
    swapper.start()
    try:
        deadline = time.monotonic() + SWAP_SECONDS / 2
        while time.monotonic() < deadline:
            calls: list[Callable[[], str]] = [
                partial(_list, folders, "."),
                partial(_list, folders, str(granted)),
                partial(_search, folders, "secret", "", 50),
            ]
            for call in calls:
                try:
                    text = call()
                except ToolError:
                    continue
                except OSError:
                    raw_errors += 1
                    continue
                leaks += SECRET in text or "only-outside" in text
    finally:
        swapper.finish()
    assert leaks == 0, f"the outside folder was shown {leaks} times"
    assert raw_errors == 0
