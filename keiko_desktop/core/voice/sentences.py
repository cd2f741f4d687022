"""What of a reply is read aloud: markdown made speakable, cut into sentences as it streams.

``SentenceSplitter`` is fed a reply piece by piece, as the model streams it, and hands back
each sentence once it is complete, so speech can start long before the reply ends. Code
blocks (fenced, even over many pieces, or indented) are never read; headings, list items and
table rows are sentences of their own; markdown syntax, HTML tags and URLs are taken out
(``clean``).

How a reply was cut into pieces never changes the sentences: a line's kind is decided from its
first characters only once more of them could not change it, and a sentence ends only at a
white space or line end, judged by what came before it. A sentence ends at ``. ! ? …`` (and
closing quotes, brackets or emphasis) followed by white space, but not after an abbreviation
("e.g.", "Dr.", an initial) and never inside a number ("3.5") or an inline code span. A run
of about ``MAX_RUN`` characters without an end is cut at a space, so speech starts anyway.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Literal

MAX_RUN = 300
"""Characters after which a sentence without an end is cut at a space."""
SPAN_MAX = 120
"""An inline code span still open after this many characters was a stray backtick."""

ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "cf", "al"),
        *("approx", "fig", "figs", "eq", "inc", "ltd", "co", "corp", "dept", "est", "ca"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    }
)
"""Words (lower case, without their period) after which a period does not end a sentence."""

_END = re.compile(r"([.!?…]+)[)\]\"'”’»*_~`]*$")
_DOTTED = re.compile(r"(?:[a-z]{1,2}\.)+[a-z]{1,2}")  # e.g, i.e, u.s, a.m, ph.d
_SPECIAL = re.compile(r"[`\s]")
_QUOTES = re.compile(r"(?:[ \t]{0,3}>[ \t]?)*")
_BREAK_CHARS = frozenset(" \t")

LineKind = Literal["text", "item", "heading", "table", "drop"]


def ends_sentence(text: str) -> bool:
    """Whether ``text`` (no trailing space) ends a sentence, were white space to follow."""
    match = _END.search(text)
    if match is None:
        return False
    if match.group(1) != ".":
        return True
    word = text[: match.start()].rsplit(" ", 1)[-1].lstrip("([{\"'“‘*_~`")
    lower = word.lower()
    if lower in ABBREVIATIONS or _DOTTED.fullmatch(lower):
        return False
    return not (len(word) == 1 and word.isupper())  # an initial: "J. R. R. Tolkien"


def speakable(markdown: str) -> str:
    """The words of ``markdown`` as they are read aloud: code blocks dropped, syntax taken
    out, one line (the splitter's sentences, joined by spaces)."""
    splitter = SentenceSplitter()
    return " ".join(splitter.feed(markdown) + splitter.flush())


class SentenceSplitter:
    """Streamed markdown in, speakable sentences out (see the module docstring)."""

    def __init__(self, max_run: int = MAX_RUN) -> None:
        self._max_run = max_run
        self._reset()

    def _reset(self) -> None:
        self._buf = ""  # text not yet read: from a line start, or mid-line once _kind is set
        self._kind: LineKind | None = None  # how the current line is read; None: a line start
        self._fence = ""  # the open code fence ("```", "~~~~"); "" outside one
        self._text = ""  # the raw sentence in progress (markdown, lines joined by a space)
        self._para = False  # a paragraph or list item is open: a plain line continues it
        self._in_list = False
        self._in_code = False  # the last line was indented code
        self._ticks = 0  # length of the backtick run being read
        self._span = 0  # backticks that opened the code span we are in; 0: none
        self._span_at = 0  # where in _text it opened
        self._out: list[str] = []

    def feed(self, piece: str) -> list[str]:
        """Add ``piece``; return the sentences it completed (speakable, stripped, non-empty)."""
        self._buf += piece.replace("\r", "")
        self._read()
        out, self._out = self._out, []
        return out

    def flush(self) -> list[str]:
        """The end of the reply: return what is left (an open code block is dropped), and
        start afresh."""
        self._buf += "\n"
        self._read()
        self._end_unit()
        out = self._out
        self._reset()
        return out

    # ------------------------------------------------------------------ lines

    def _read(self) -> None:
        while self._buf:
            if self._kind is None:
                if not self._start_line():
                    return  # the line's kind needs more text
            elif self._kind in ("text", "item"):
                self._scan()
            else:
                newline = self._buf.find("\n")
                if newline < 0:
                    if self._kind == "drop":
                        self._buf = ""
                    return
                line, self._buf = self._buf[:newline], self._buf[newline + 1 :]
                if self._kind == "heading":
                    self._emit(closing_hashes(line))
                elif self._kind == "table":
                    self._emit(table_row(line))
                self._kind = None

    def _start_line(self) -> bool:
        newline = self._buf.find("\n")
        complete = newline >= 0
        line = self._buf[:newline] if complete else self._buf
        decided = self._classify(line, complete)
        if decided is None:
            return False
        kind, start = decided
        if kind in ("blank", "fence", "break", "body", "refdef"):
            if complete:
                self._buf = self._buf[newline + 1 :]
            else:  # the rest of an opening fence's or a reference's line
                self._buf, self._kind = "", "drop"
            if kind in ("blank", "fence", "break"):
                self._end_unit()
                self._para = False
            if kind == "blank":
                return True
            self._in_code = False
            return True
        self._buf = self._buf[start:]
        self._in_code = kind == "code"
        if kind == "code":
            self._kind = "drop"
        elif kind == "text":
            if not self._para:
                self._end_unit()
            self._para = True
            self._kind = "text"
        else:
            self._end_unit()
            self._para = kind == "item"
            self._in_list = kind == "item" or (kind == "table" and self._in_list)
            self._kind = kind  # type: ignore[assignment]
        return True

    def _classify(self, line: str, complete: bool) -> tuple[str, int] | None:
        """``(kind, where its content starts)``, or None while more text could change it."""
        if self._fence:
            if not complete:
                return None
            rest = line[_QUOTES.match(line).end() :].strip()  # type: ignore[union-attr]
            fence = self._fence
            if len(rest) >= len(fence) and rest == fence[0] * len(rest):
                self._fence = ""
                return "fence", 0
            return "body", 0
        start = _QUOTES.match(line).end()  # type: ignore[union-attr]
        column, i = 0, start
        while i < len(line) and line[i] in " \t":
            column += 4 - column % 4 if line[i] == "\t" else 1
            i += 1
        rest = line[i:]
        if not rest:
            return ("blank", 0) if complete else None
        if column >= 4 and not self._para and (self._in_code or not self._in_list):
            return "code", i
        if not self._para and column < 2:
            self._in_list = False
        return self._marker(rest, i, complete)

    def _marker(self, rest: str, i: int, complete: bool) -> tuple[str, int] | None:
        first = rest[0]
        run = len(rest) - len(rest.lstrip(first))
        if first in "`~":
            if run == len(rest) and not complete:
                return None
            if run >= 3:
                if first == "`" and not complete:
                    return None  # a backtick later in the line makes it inline code
                if first == "~" or "`" not in rest[run:]:
                    self._fence = rest[:run]
                    return "fence", 0
            return "text", i
        if first == "#":
            if run == len(rest):
                if run > 6:
                    return "text", i
                return ("heading", i + run) if complete else None
            return ("heading", i + run + 1) if run <= 6 and rest[run] in " \t" else ("text", i)
        if first in "-*+" and (len(rest) == 1 or rest[1] in " \t"):
            if set(rest) <= _BREAK_CHARS | {first}:
                if not complete:
                    return None
                if rest.count(first) >= 3:
                    return "break", 0
            return "item", i + min(2, len(rest))
        if first in "-*_=":
            allowed = _BREAK_CHARS | {first} | ({"|", ":"} if first == "-" else set())
            if set(rest) <= allowed:
                return ("break", 0) if complete else None
            return "text", i
        if "0" <= first <= "9":
            digits = len(rest) - len(rest.lstrip("0123456789"))
            if digits > 9:
                return "text", i
            if digits == len(rest):
                return None if not complete else ("text", i)
            if rest[digits] in ".)":
                if digits + 1 == len(rest):
                    return ("item", i + digits + 1) if complete else None
                if rest[digits + 1] in " \t":
                    return "item", i + digits + 2
            return "text", i
        if first == "|":
            return "table", i
        if first == "[":
            close = rest.find("]")
            if close < 0 or close + 1 == len(rest):
                return None if not complete and len(rest) < 200 else ("text", i)
            if rest[close + 1] == ":":
                return "refdef", 0
        return "text", i

    # ------------------------------------------------------------------ sentences

    def _scan(self) -> None:
        """Read the current text line up to its end (or the end of the buffer), ending
        sentences at white space."""
        buf, text = self._buf, self._text
        i, size = 0, len(self._buf)
        while i < size:
            char = buf[i]
            if char == "`":
                self._ticks += 1
                text += char
                i += 1
                continue
            if self._ticks:  # a run of backticks ended: it opens or closes a code span
                if not self._span:
                    self._span, self._span_at = self._ticks, len(text) - self._ticks
                elif self._span == self._ticks:
                    self._span = 0
                self._ticks = 0
            if not char.isspace():
                special = _SPECIAL.search(buf, i)
                end = special.start() if special else size
                text += buf[i:end]
                i = end
                continue
            i += 1
            if self._span and len(text) - self._span_at > SPAN_MAX:
                self._span = 0
            if text and not self._span and ends_sentence(text):
                self._emit(text)
                text = ""
            elif len(text) > self._max_run:
                cut = text.rfind(" ", 0, self._max_run + 1)
                if cut <= 0:
                    self._emit(text)
                    text = ""
                else:
                    self._emit(text[:cut])
                    text = text[cut + 1 :]
                    self._span_at = max(0, self._span_at - cut - 1)
            if text and not text.endswith(" "):
                text += " "
            if char == "\n":
                self._kind = None
                break
        self._buf, self._text = buf[i:], text

    def _end_unit(self) -> None:
        self._emit(self._text)
        self._text = ""
        self._span = self._ticks = 0

    def _emit(self, raw: str) -> None:
        if not raw.strip():
            return
        sentence = clean(raw)
        if sentence:
            self._out.append(sentence)


# ---------------------------------------------------------------------- inline markdown

_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_TARGET = r"(?:\((?:[^()]|\([^()]*\))*\)|\[[^\]]*\])"  # (url), (url_(with_parens)) or [ref]
_IMAGE = re.compile(r"!\[[^\]]*\]" + _TARGET)
_LINK = re.compile(r"\[([^\[\]]*)\]" + _TARGET)
_FOOTNOTE = re.compile(r"\[\^[^\]]*\]")
_LINK_TAIL = re.compile(r"\]\([^)\s]*\)")
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^<>\s]*|[^<>\s@]+@[^<>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_URL = re.compile(r"\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]+")
_CHECKBOX = re.compile(r"^\s*\[[ xX]\]\s+")
_STARS = re.compile(r"(?<!\s)\*+|\*+(?!\s)")
_UNDERSCORES = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")
_PIPE = re.compile(r"\s+\|\s+")
_SPACE_BEFORE = re.compile(r" +([,.;:!?…])(?=\s|$)")
_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_DELIMITER_ROW = re.compile(r"\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?")
_CELL = re.compile(r"(?<!\\)\|")


def clean(markdown: str) -> str:
    """One sentence's markdown as words: inline code keeps its text, links their text,
    images go, bare URLs say "link", emphasis, tags and stray syntax are taken out, white
    space collapsed. "" when nothing speakable is left."""
    markdown = _CHECKBOX.sub("", markdown)
    parts, at = [], 0
    for match in _CODE_SPAN.finditer(markdown):
        parts += [_prose(markdown[at : match.start()]), match.group(2).strip()]
        at = match.end()
    parts.append(_prose(markdown[at:]))
    text = "".join(parts)
    if not text.isprintable():  # controls, format characters, odd spaces: rare
        text = "".join(char for char in text if _printable(char))
    text = _SPACE_BEFORE.sub(r"\1", " ".join(text.split()))
    return text if any(unicodedata.category(c)[0] in "LNS" for c in text) else ""


def closing_hashes(heading: str) -> str:
    """A heading's text without its optional closing ``#``s."""
    return _HASHES.sub("", heading)


def table_row(line: str) -> str:
    """A table row's cells, separated by commas; "" for the delimiter row (``|---|:-:|``)."""
    row = line.strip()
    if _DELIMITER_ROW.fullmatch(row):
        return ""
    return ", ".join(cell.strip() for cell in _CELL.split(row.strip("|")) if cell.strip())


def _prose(text: str) -> str:
    # Each pass runs only when its mark is there: most sentences have none.
    if "<" in text:
        text = _COMMENT.sub(" ", text)
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    if "[" in text or "]" in text:
        text = _IMAGE.sub("", text)
        text = _LINK.sub(r"\1", text)
        text = _FOOTNOTE.sub("", text)
        text = _LINK_TAIL.sub("", text).replace("[", "").replace("]", "")
    if "<" in text:
        text = _AUTOLINK.sub(lambda m: "link" if "://" in m.group(1) else m.group(1), text)
        text = _TAG.sub(" ", text)
    if "://" in text or "www." in text:
        text = _URL.sub(_link_word, text)
    if "*" in text:
        text = _STARS.sub("", text)
    if "_" in text:
        text = _UNDERSCORES.sub("", text)
    if "~" in text:
        text = re.sub(r"~(?=\d)", "about ", text.replace("~~", "")).replace("~", "")
    if "|" in text:
        text = _PIPE.sub(", ", text)
    text = text.replace("`", "")
    return html.unescape(text) if "&" in text else text


def _link_word(match: re.Match[str]) -> str:
    url = match.group(0)
    bare = url.rstrip(".,;:!?)'\"")
    return "link" + url[len(bare) :]


def _printable(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return char in "\t\n"
    return category != "Cf" or char == "\u200d"  # keep the joiner inside emoji sequences
