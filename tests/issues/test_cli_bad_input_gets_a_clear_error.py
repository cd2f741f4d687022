"""Regression (issue 9, item 13): bad input ended in a traceback.

``keiko ask "$(printf 'abc\\xff\\xfe')"`` (bytes that are not UTF-8; Python hands them over as
lone surrogates) ended in a ``UnicodeEncodeError`` traceback and left an empty conversation;
``keiko models use`` with a read-only config folder ended in a raw ``OSError``. Each now ends
with exit status 1 and a message that names the problem and its fix.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import db_rows, keiko_env, run_keiko


def test_a_question_that_is_not_utf8_is_refused_clearly(keiko_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "keiko_desktop", "ask", b"abc\xff\xfe"],
        env=keiko_env(keiko_home),
        capture_output=True,
        timeout=120,
        check=False,
    )
    stderr = result.stderr.decode("utf-8", errors="replace")
    assert result.returncode != 0
    assert "Traceback" not in stderr
    assert "UnicodeEncodeError" not in stderr
    assert "not valid UTF-8" in stderr
    assert "\\xff" in stderr
    assert "\\xfe" in stderr
    assert db_rows(keiko_home, "SELECT id FROM conversations WHERE deleted_at IS NULL") == []


@contextlib.contextmanager
def _read_only_folder(folder: Path) -> Iterator[None]:
    """``folder`` made read-only: by its mode, or (root ignores modes) by a read-only mount."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"root, and cannot mount a read-only tmpfs: {mounted.stderr!r}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_models_use_with_a_read_only_config_folder(keiko_home: Path) -> None:
    with _read_only_folder(keiko_home / "config"):
        result = run_keiko(keiko_home, "models", "use", "smollm2-135m-instruct", timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "OSError" not in result.stderr
    assert str(keiko_home / "config") in result.stderr  # names the folder or the file in it
    assert "read-only" in result.stderr.lower() or "permission" in result.stderr.lower()


def test_mcp_import_with_a_read_only_config_folder(keiko_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "claude.json"
    source.write_text('{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}')
    with _read_only_folder(keiko_home / "config"):
        result = run_keiko(keiko_home, "mcp", "import", str(source), timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot save" in result.stderr.lower()  # the message: "Cannot save …mcp.json: …"
    assert f"Check that {keiko_home / 'config'} is writable" in result.stderr


@pytest.mark.model
def test_keiko_chat_refuses_a_line_that_is_not_utf8_and_goes_on(keiko_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "keiko_desktop", "chat"],
        env=keiko_env(keiko_home),
        input=b"abc\xff\xfe\n/exit\n",
        capture_output=True,
        timeout=180,
        check=False,
    )
    stderr = result.stderr.decode("utf-8", errors="replace")
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "is not valid text" in stderr
    assert db_rows(keiko_home, "SELECT id FROM conversations WHERE deleted_at IS NULL") == []
