"""The readable text of an HTML page: what a browser shows, none of its markup.

The standard library's ``html.parser`` (no network, no scripts, no entities beyond HTML's own).
The title comes first, on its own line. ``script``, ``style``, ``template``, ``noscript``,
``svg``, ``math``, ``iframe`` and ``object`` are skipped with everything inside them; block
elements (paragraphs, headings, list items, table rows, ``br``…) give line breaks, table cells
a tab; runs of white space collapse to one space except inside ``pre``. Bounded: at most
``limit`` characters are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

SKIPPED = frozenset({"script", "style", "template", "noscript", "svg", "math", "iframe", "object"})
PARAGRAPHS = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol",
        "dl", "section", "article", "header", "footer", "nav", "aside", "main", "figure",
        "form", "fieldset", "address", "details", "hr",
    }
)  # fmt: skip
LINES = frozenset(
    {"br", "div", "li", "tr", "dt", "dd", "figcaption", "summary", "caption", "option", "legend"}
)
CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
FEED = 256 * 1024


class _TextParser(HTMLParser):
    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.limit = limit
        self.title: list[str] = []
        self.parts: list[str] = []
        self.size = 0
        self.full = False
        self._skip = 0  # depth inside skipped elements
        self._pre = 0
        self._in_title = False
        self._cells = 0  # cells so far in this table row
        self._trailing = 2  # line breaks the text so far ends with (the start counts as two)

    def _emit(self, text: str) -> None:
        if self.full or not text:
            return
        room = self.limit - self.size
        if len(text) >= room:
            text = text[:room]
            self.full = True
        self.parts.append(text)
        self.size += len(text)
        if not text.strip("\n"):
            self._trailing += len(text)
        elif text.strip():  # white space between tags leaves the count as it is
            self._trailing = len(text) - len(text.rstrip("\n"))

    def _breaks(self, wanted: int) -> None:
        """End the text so far with ``wanted`` line breaks, counting those already there."""
        if self._trailing < wanted:
            self._emit("\n" * (wanted - self._trailing))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in SKIPPED:
            self._skip += 1
        elif tag == "pre":
            self._pre += 1
        self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag != "br":  # <br> breaks once, <br/> is start and end
            self._break(tag, start=False)

    def _break(self, tag: str, start: bool = True) -> None:
        if self._skip:
            return
        if tag == "br":
            self._emit("\n")
        elif tag in PARAGRAPHS:
            self._breaks(2)
        elif tag in LINES:
            self._breaks(1)
        elif tag in CELLS and start:
            if self._cells:  # a tab between cells, none before the first
                self._emit("\t")
            self._cells += 1
        if tag == "tr":
            self._cells = 0

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self._emit(data if self._pre else _SPACES.sub(" ", data.replace("\n", " ")))


def html_to_text(
    html: str, *, limit: int, check: Callable[[], None] | None = None
) -> tuple[str, bool]:
    """``(text, cut)``: the page's text, and whether it was cut at ``limit`` characters.
    ``check`` is called every 256 K characters (it raises to stop)."""
    parser = _TextParser(limit)
    for start in range(0, len(html), FEED):
        if check is not None:
            check()
        parser.feed(html[start : start + FEED])
        if parser.full:
            break
    parser.close()
    title = " ".join(" ".join(parser.title).split())
    body = _tidy("".join(parser.parts))
    text = f"{title}\n\n{body}" if title and body else title or body
    return text[:limit], parser.full


def _tidy(text: str) -> str:
    # a collapsed space at a line's start goes; a <pre>'s indentation (two or more) stays
    lines = [
        line[1:] if line.startswith(" ") and not line.startswith("  ") else line
        for line in (raw.rstrip() for raw in text.split("\n"))
    ]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


__all__ = ["html_to_text"]
