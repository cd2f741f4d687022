"""chunk_pages: passages that are true slices of one page, cut at boundaries, overlapping."""

from __future__ import annotations

import itertools

import pytest

from keiko_desktop.core.files.chunking import chunk_pages
from keiko_desktop.core.files.types import PageText
from tests.helpers.documents import page_text


def _check_slices(pages: list[PageText], chunks: list[tuple[int | None, int, str]]) -> None:
    by_page = {p.page: p.text for p in pages}
    for page, start, text in chunks:
        assert by_page[page][start : start + len(text)] == text
        assert text
        assert text == text.strip()


def test_short_pages_are_one_chunk_each_and_blank_pages_none() -> None:
    pages = [PageText(1, "  First page.\n"), PageText(2, " \n\t "), PageText(3, "Third.")]
    assert chunk_pages(pages) == [(1, 2, "First page."), (3, 0, "Third.")]


def test_chunks_never_cross_pages_and_cover_every_word() -> None:
    pages = [PageText(n, page_text(n, sentences=40)) for n in range(1, 6)]
    chunks = chunk_pages(pages, target=400, overlap=80)
    _check_slices(pages, chunks)
    for page in pages:
        mine = [c for c in chunks if c[0] == page.page]
        assert len(mine) > 3
        assert all(len(text) <= 400 for _, _, text in mine)
        covered = set()
        for _, start, text in mine:
            covered.update(range(start, start + len(text)))
        missing = [i for i in range(len(page.text)) if i not in covered]
        assert all(page.text[i].isspace() for i in missing)


def test_cuts_prefer_paragraphs_then_sentences() -> None:
    para = "Alpha beta gamma delta. " * 12  # ~290 chars
    text = para.strip() + "\n\n" + para.strip() + "\n\n" + para.strip()
    chunks = chunk_pages([PageText(None, text)], target=400, overlap=0)
    assert [c[2] for c in chunks] == [para.strip()] * 3
    one = "This is a sentence that ends here. " * 30
    chunks = chunk_pages([PageText(None, one)], target=200, overlap=0)
    assert all(text.endswith("here.") for _, _, text in chunks)


def test_words_are_kept_whole_unless_one_is_longer_than_the_window() -> None:
    words = " ".join(f"w{i:04d}" for i in range(400))
    chunks = chunk_pages([PageText(None, words)], target=100, overlap=0)
    assert all(
        t.split()[0].startswith("w") and len(w) == 5 for _, _, t in chunks for w in t.split()
    )
    assert " ".join(t for _, _, t in chunks) == words
    blob = "x" * 1000
    chunks = chunk_pages([PageText(None, blob)], target=300, overlap=0)
    assert "".join(t for _, _, t in chunks) == blob
    assert [len(t) for _, _, t in chunks] == [300, 300, 300, 100]


def test_overlap_repeats_the_words_around_a_cut() -> None:
    text = " ".join(f"word{i}" for i in range(300))
    chunks = chunk_pages([PageText(None, text)], target=200, overlap=50)
    _check_slices([PageText(None, text)], chunks)
    for (_, s1, t1), (_, s2, _) in itertools.pairwise(chunks):
        end1 = s1 + len(t1)
        assert s2 < end1  # overlaps
        assert end1 - s2 <= 50
        assert text[s2 - 1] == " "  # starts at a word


def test_overlap_starts_at_a_sentence_when_one_begins_there() -> None:
    text = "".join(f"Sentence number {i} is here. " for i in range(60))
    chunks = chunk_pages([PageText(None, text)], target=300, overlap=120)
    assert all(t.startswith("Sentence number") for _, _, t in chunks)


def test_deterministic() -> None:
    pages = [PageText(n, page_text(n, sentences=30)) for n in range(1, 4)]
    assert chunk_pages(pages) == chunk_pages(list(pages))


def test_large_text_is_fast_and_bounded() -> None:
    import time

    text = ("lorem ipsum dolor sit amet " * 40 + "\n\n") * 2000  # ~2.2 M chars
    began = time.perf_counter()
    chunks = chunk_pages([PageText(None, text)])
    assert time.perf_counter() - began < 2.0
    assert all(len(t) <= 1000 for _, _, t in chunks)


@pytest.mark.parametrize(("target", "overlap"), [(10, 0), (50_000, 0), (1000, 500), (1000, -1)])
def test_bad_parameters_are_refused(target: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        chunk_pages([PageText(None, "x")], target=target, overlap=overlap)
