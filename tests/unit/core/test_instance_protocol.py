"""The single-instance protocol: one bounded, type-checked JSON line, and where its socket is."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.instance_protocol import (
    MAX_ATTACHMENTS,
    MAX_LINE,
    MAX_PATH,
    MAX_TEXT,
    InstanceRequest,
    decode,
    encode,
    socket_path,
)

posix = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets and modes")


def _line(**body: object) -> bytes:
    return json.dumps(body).encode() + b"\n"


def _paths(root: Path) -> Paths:
    return Paths(root / "config", root / "data", root / "cache")


@pytest.mark.parametrize(
    "request_",
    [
        InstanceRequest("show"),
        InstanceRequest("quick", "what is 2+2?"),
        InstanceRequest("ask", "résumé ✓ 日本語\nline two", ("/tmp/a b.txt", "/home/x/é.pdf")),
        InstanceRequest("ask", "x" * MAX_TEXT, tuple(f"/f{i}" for i in range(MAX_ATTACHMENTS))),
    ],
)
def test_round_trip(request_: InstanceRequest) -> None:
    line = encode(request_)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert decode(line) == request_


def test_decode_defaults_and_ignores_unknown_keys() -> None:
    assert decode(_line(action="show")) == InstanceRequest("show")
    assert decode(_line(action="quick", text="hi", future="x", n=3)) == InstanceRequest(
        "quick", "hi"
    )
    assert decode(b'{"action":"show"}') == InstanceRequest("show")  # the newline is optional


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"", "not JSON"),
        (b"not json\n", "not JSON"),
        (b'{"action": "show"\n', "not JSON"),
        (b"\xff\xfe{}\n", "not UTF-8"),
        (b"[1, 2]\n", "JSON object"),
        (b'"show"\n', "JSON object"),
        (b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deep"),
        (_line(text="no action"), "action must be"),
        (_line(action="delete"), "action must be"),
        (_line(action=1), "action must be"),
        (_line(action="quick", text=5), "text must be a string"),
        (_line(action="quick", text=None), "text must be a string"),
        (_line(action="quick", text="x" * (MAX_TEXT + 1)), f"at most {MAX_TEXT}"),
        (_line(action="quick", text="\ud800"), "not valid Unicode"),
        (_line(action="ask", attachments="/etc/passwd"), "list of paths"),
        (_line(action="ask", attachments=["relative.txt"]), "absolute path"),
        (_line(action="ask", attachments=[7]), "must be a string"),
        (_line(action="ask", attachments=["/a\x00b"]), "absolute path"),
        (_line(action="ask", attachments=["/" + "a" * MAX_PATH]), f"max {MAX_PATH}"),
        (_line(action="ask", attachments=["/a"] * (MAX_ATTACHMENTS + 1)), "at most 20"),
        (b'{"action":"show"}\n{"action":"quick"}\n', "one request per line"),
    ],
)
def test_decode_refuses(line: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        decode(line)


def test_decode_refuses_a_line_over_one_mebibyte_before_parsing() -> None:
    padded = b'{"action":"show","pad":"' + b"x" * MAX_LINE + b'"}\n'
    with pytest.raises(ValueError, match="longer than"):
        decode(padded)
    # just within the bound, the same shape is fine (unknown keys are ignored)
    fits = b'{"action":"show","pad":"' + b"x" * (MAX_LINE - 30) + b'"}\n'
    assert len(fits) <= MAX_LINE
    assert decode(fits) == InstanceRequest("show")


def test_encode_refuses_what_decode_would() -> None:
    for bad in (
        InstanceRequest("quick", "x" * (MAX_TEXT + 1)),
        InstanceRequest("ask", "", ("relative",)),
        InstanceRequest("ask", "", ("/a",) * (MAX_ATTACHMENTS + 1)),
        InstanceRequest("nope", ""),  # type: ignore[arg-type]
        InstanceRequest("quick", "bad \udcff byte"),
    ):
        with pytest.raises(ValueError, match=r"at most|absolute|unknown action|not valid"):
            encode(bad)
    # the worst legal text (every character escaped by JSON) still fits in one line
    worst = InstanceRequest("quick", "\x01" * MAX_TEXT)
    assert len(encode(worst)) <= MAX_LINE


@posix
def test_socket_path_in_the_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    path = socket_path(_paths(tmp_path / "home"))
    folder = runtime / "keiko"
    assert Path(path).parent == folder
    assert Path(path).name.endswith(".sock")
    assert len(Path(path).stem) == 12
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert socket_path(_paths(tmp_path / "home")) == path  # stable
    other = socket_path(_paths(tmp_path / "other-home"))
    assert other != path  # two homes never share a socket


@posix
def test_same_home_by_another_spelling_is_the_same_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "home" / "config").mkdir(parents=True)
    os.symlink(tmp_path / "home", tmp_path / "link")
    assert socket_path(_paths(tmp_path / "home")) == socket_path(_paths(tmp_path / "link"))


@posix
@pytest.mark.parametrize("runtime", ["", "relative/dir", "/nonexistent/keiko-test-runtime"])
def test_socket_path_falls_back_to_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    path = socket_path(_paths(tmp_path))
    folder = Path(f"/tmp/keiko-{os.getuid()}")
    assert Path(path).parent == folder
    info = folder.lstat()
    assert stat.S_ISDIR(info.st_mode)
    assert info.st_uid == os.getuid()
    assert stat.S_IMODE(info.st_mode) == 0o700


@posix
def test_a_runtime_dir_too_long_for_a_socket_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    path = socket_path(_paths(tmp_path))
    assert path.startswith(f"/tmp/keiko-{os.getuid()}/")
    assert len(os.fsencode(path)) < 104


@posix
def test_a_loose_folder_of_ours_is_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = tmp_path / "keiko"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    socket_path(_paths(tmp_path))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@posix
def test_a_link_or_file_in_place_of_the_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "keiko")
    with pytest.raises(PermissionError, match="not a folder"):
        socket_path(_paths(tmp_path))
    (tmp_path / "keiko").unlink()
    (tmp_path / "keiko").write_text("x")
    with pytest.raises(PermissionError, match="not a folder"):
        socket_path(_paths(tmp_path))


@posix
def test_a_folder_owned_by_someone_else_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = tmp_path / "keiko"
    folder.mkdir(mode=0o700)
    if os.getuid() == 0:  # really someone else's: nobody's
        os.chown(folder, 65534, 65534)
    else:  # what lstat says of a folder another user made first
        real_lstat = os.lstat

        def lstat(path: str, *args: Any, **kwargs: Any) -> os.stat_result:
            info = real_lstat(path, *args, **kwargs)
            if str(path) != str(folder):
                return info
            fields = list(info)
            fields[stat.ST_UID] = os.getuid() + 1
            return os.stat_result(fields)

        monkeypatch.setattr(os, "lstat", lstat)
    with pytest.raises(PermissionError, match="another user"):
        socket_path(_paths(tmp_path))
    with pytest.raises(PermissionError, match="another user"):
        socket_path(_paths(tmp_path), create=False)  # the client will not connect there either


@posix
def test_without_create_a_missing_folder_is_not_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    path = socket_path(_paths(tmp_path), create=False)
    assert Path(path).parent == tmp_path / "keiko"
    assert not (tmp_path / "keiko").exists()
