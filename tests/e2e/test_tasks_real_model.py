"""Task kinds over the real bundled model, through `keiko tasks` and a headless worker: an
agent over every file of a folder (one child task per file, the parent finishing when they
have, each child linked to its agent run) and a summary of a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import db_rows, run_keiko, write_settings

pytestmark = pytest.mark.model


def _added(home: Path, *args: str) -> dict[str, Any]:
    done = run_keiko(home, "tasks", "add", *args, "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_an_agent_over_a_folder_and_a_summary_with_the_real_model(
    keiko_home: Path, tmp_path: Path
) -> None:
    write_settings(keiko_home, schema_version=2, chat={"temperature": 0.0, "max_tokens": 32})
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in (("a.txt", "The cat sat on the mat."), ("b.md", "# Plan\nBuy milk.")):
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "skip.bin").write_bytes(b"\x00\x01binary")
    parent = _added(
        keiko_home, "agent_folder", "--param", "agent=Summarizer",
        "--param", f"folder={folder}", "--param", "prompt=Say what this file is about.",
    )  # fmt: skip
    summary = _added(keiko_home, "summarise", "--param", f"path={folder / 'a.txt'}")

    worker = run_keiko(keiko_home, "tasks", "worker", "--until-idle", timeout=300)
    assert worker.returncode == 0, worker.stderr[-3000:]

    rows = db_rows(
        keiko_home,
        "SELECT id, kind, status, parent_id, run_id, result, progress FROM tasks ORDER BY id",
    )
    by_id = {row[0]: row for row in rows}
    children = [row for row in rows if row[3] == parent["id"]]
    assert sorted(row[1] for row in children) == ["agent_file", "agent_file"]  # not the binary
    for child in children:
        assert child[2] == "completed", child
        assert child[4] is not None  # its trace: the agent run
        assert child[5].strip()  # the model said something
    assert by_id[parent["id"]][2] == "completed"
    assert by_id[parent["id"]][6] == 100
    run_status = db_rows(keiko_home, "SELECT status FROM runs")
    assert run_status
    assert all(status == ("completed",) for status in run_status)
    assert by_id[summary["id"]][2] == "completed"
    assert by_id[summary["id"]][5].strip()
