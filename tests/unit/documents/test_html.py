"""HTML: the text a reader sees, never scripts, styles or markup."""

from __future__ import annotations

from pathlib import Path

from keiko_desktop.documents import DocumentExtractor
from keiko_desktop.documents.html_text import html_to_text
from tests.helpers.documents import make_html


def test_title_first_blocks_on_lines_no_script_or_style(tmp_path: Path) -> None:
    body = (
        "<h1>Heading</h1><p>Hello <b>bold</b>\n   world &amp; more&nbsp;here</p>"
        "<ul><li>one<li>two</ul><div>block</div>inline<br>break"
        "<script>alert('also hidden')</script><!-- a comment -->"
    )
    got = DocumentExtractor().extract(make_html(tmp_path / "p.html", "My  Page", body), "html")
    text = got.pages[0].text
    assert got.mime == "text/html"
    assert (
        text
        == "My Page\n\nHeading\n\nHello bold world & more here\n\none\ntwo\n\nblock\ninline\nbreak"
    )
    assert "SCRIPT TEXT" not in text
    assert "color" not in text
    assert "hidden" not in text
    assert "comment" not in text


def test_tables_give_rows_and_tabbed_cells() -> None:
    html = "<table><tr><th>a</th><th>b</th></tr><tr><td>1<td>2</tr></table>"
    assert html_to_text(html, limit=1000) == ("a\tb\n1\t2", False)


def test_pre_keeps_its_layout() -> None:
    text, _ = html_to_text("<p>x</p><pre>  def f():\n      return 1</pre>", limit=1000)
    assert text == "x\n\n  def f():\n      return 1"


def test_markup_inside_script_cannot_leak() -> None:
    html = "<script>document.write('</p><p>leak')</script><p>kept</p>"
    assert html_to_text(html, limit=1000)[0] == "kept"


def test_text_is_bounded() -> None:
    text, cut = html_to_text("<p>" + "word " * 100_000 + "</p>", limit=1000)
    assert len(text) <= 1000
    assert cut


def test_a_page_without_text_has_a_note_and_no_pages(tmp_path: Path) -> None:
    path = tmp_path / "blank.html"
    path.write_text("<html><body><script>x()</script></body></html>")
    got = DocumentExtractor().extract(path, "html")
    assert got.pages == ()
    assert "no text" in got.note
