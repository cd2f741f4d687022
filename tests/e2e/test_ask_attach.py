"""`keiko ask --attach` as a real subprocess with the bundled model: the files are ingested,
linked to the question and cited after the answer; a file that cannot be attached is exit 2,
its reason on stderr, and nothing of the question or the files stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import db_rows, run_keiko, write_settings
from tests.helpers.documents import make_binary, make_pdf, make_text, page_text

pytestmark = pytest.mark.model


@pytest.fixture
def home(keiko_home: Path) -> Path:
    write_settings(keiko_home, max_tokens=24, temperature=0.0)
    return keiko_home


def _copies(home: Path) -> list[Path]:
    files = home / "data" / "files"
    return [p for p in files.rglob("*") if p.is_file()] if files.exists() else []


def test_ask_with_attachments_links_them_and_prints_sources(home: Path, tmp_path: Path) -> None:
    notes = make_text(tmp_path / "notes.txt", "Facts.\nThe vault code is 4417.\n")
    pages = [page_text(n) for n in range(1, 4)]
    pages[1] = "The lighthouse keeper is named Ada.\n" + pages[1]
    handbook = make_pdf(tmp_path / "handbook.pdf", pages)
    result = run_keiko(
        home, "ask", "--attach", str(notes), "--attach", str(handbook), "What is the vault code?"
    )
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.rstrip("\n").rpartition("\n")
    assert answer.strip()
    assert sources.startswith("Sources: ")
    assert "[notes.txt]" in sources  # the passage with the code was chosen
    print(f"\nanswer: {answer!r}\n{sources}")

    rows = db_rows(
        home,
        "SELECT m.role, m.content, a.name, a.kind, ma.position FROM message_attachments ma "
        "JOIN messages m ON m.id = ma.message_id JOIN attachments a ON a.id = ma.attachment_id "
        "ORDER BY ma.position",
    )
    question = "What is the vault code?"
    assert rows == [
        ("user", question, "notes.txt", "text", 0),
        ("user", question, "handbook.pdf", "pdf", 1),
    ]
    cited = db_rows(home, "SELECT count(*) FROM message_sources")
    assert cited[0][0] >= 1
    assert len(_copies(home)) == 2

    # --json carries the same sources, with pages for the PDF's passages
    again = run_keiko(
        home, "ask", "--json", "--attach", str(handbook), "Who is the lighthouse keeper?"
    )
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["status"] == "complete"
    assert out["sources"]
    assert {s["name"] for s in out["sources"]} == {"handbook.pdf"}
    assert all(s["label"] == f"[handbook.pdf, p. {s['page']}]" for s in out["sources"])
    assert 2 in {s["page"] for s in out["sources"]}
    assert len(_copies(home)) == 2  # the same PDF again: no second copy


def test_a_binary_file_is_refused_and_nothing_is_stored(home: Path, tmp_path: Path) -> None:
    good = make_text(tmp_path / "good.txt", "The vault code is 4417.\n")
    blob = make_binary(tmp_path / "blob.bin")
    result = run_keiko(
        home, "ask", "--attach", str(good), "--attach", str(blob), "What is in these?"
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "blob.bin" in result.stderr
    assert "binary" in result.stderr
    assert result.stdout == ""
    assert db_rows(home, "SELECT count(*) FROM messages") == [(0,)]
    assert db_rows(home, "SELECT count(*) FROM conversations") == [(0,)]
    # good.txt was ingested before blob.bin failed: discarded again, its copy too
    assert db_rows(home, "SELECT count(*) FROM attachments") == [(0,)]
    assert db_rows(home, "SELECT count(*) FROM chunks") == [(0,)]
    assert _copies(home) == []


def test_a_missing_file_and_too_many_files(home: Path, tmp_path: Path) -> None:
    missing = run_keiko(home, "ask", "--attach", str(tmp_path / "nope.txt"), "hi")
    assert missing.returncode == 2
    assert "nope.txt" in missing.stderr
    assert db_rows(home, "SELECT count(*) FROM messages") == [(0,)]
    note = make_text(tmp_path / "n.txt", "x\n")
    many = run_keiko(home, "ask", *(["--attach", str(note)] * 21), "hi")
    assert many.returncode == 2
    assert "at most 20 files" in many.stderr
