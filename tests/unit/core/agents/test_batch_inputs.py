"""Batch inputs read from a folder: text files only, no links out, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from keiko_desktop.core.agents.batch import folder_inputs, read_folder
from keiko_desktop.core.agents.errors import AgentError
from keiko_desktop.core.agents.plan import MAX_INSTRUCTION


async def test_each_text_file_is_one_input(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "a.md").write_text("first")
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2binary")
    (tmp_path / "big.txt").write_text("x" * 50_000)
    (tmp_path / "sub").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-secret.txt"
    outside.write_text("secret outside the folder")
    (tmp_path / "link.txt").symlink_to(outside)
    found = await folder_inputs(tmp_path)
    assert found.names == ["a.md", "b.txt", "big.txt"]
    assert found.inputs[0] == "File: a.md\n\nfirst"
    assert len(found.inputs[2]) <= MAX_INSTRUCTION
    assert found.inputs[2].endswith("[the rest of the file was cut]")
    assert ("blob.bin", "not a text file") in found.skipped
    assert not any("secret" in text for text in found.inputs)


def test_a_pattern_and_a_limit(tmp_path: Path) -> None:
    for n in range(5):
        (tmp_path / f"{n}.txt").write_text(str(n))
    (tmp_path / "x.md").write_text("md")
    found = read_folder(tmp_path, "*.txt", max_files=3)
    assert found.names == ["0.txt", "1.txt", "2.txt"]
    assert [name for name, _why in found.skipped] == ["3.txt", "4.txt"]


def test_no_folder_or_no_text_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="is not a folder"):
        read_folder(tmp_path / "nope")
    (tmp_path / "only.bin").write_bytes(b"\0")
    with pytest.raises(AgentError, match="no text file"):
        read_folder(tmp_path)
