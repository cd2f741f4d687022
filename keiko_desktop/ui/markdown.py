"""Markdown to the HTML subset Qt's rich text understands, with highlighted code blocks.

markdown-it-py parses (CommonMark + tables + strikethrough, raw HTML escaped); fenced code is
highlighted by pygments with inline styles and framed in a table whose header row carries the
language and a ``copy:N`` link that ``MessageBody`` turns into a copy to the clipboard.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters.html import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

from keiko_desktop.ui.theme import Theme

COPY_SCHEME = "copy"


@dataclass(frozen=True)
class Rendered:
    """HTML for one message and the raw text of its code blocks, by index."""

    html: str
    code_blocks: tuple[str, ...]


@cache
def _lexer(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


@cache
def _formatter(style: str) -> HtmlFormatter[str]:
    return HtmlFormatter(nowrap=True, noclasses=True, style=style)


def highlight_code(code: str, language: str, style: str) -> str:
    """``code`` as HTML spans with inline colours (no wrapper element)."""
    if not language:
        return html.escape(code)
    return highlight(code, _lexer(language.lower()), _formatter(style)).rstrip("\n")


_LIST_MARKER = re.compile(r"^([-*+]|\d{1,9}[.)])(\s|$)")


def stable_prefix_length(text: str) -> int:
    """How much of a growing Markdown text is finished blocks that later text cannot change.

    The prefix ends after a blank line that is outside a code fence and followed by a line that
    starts a new top-level block (not indented, not another list item, so lists stay whole).
    A streaming view renders that prefix once and re-renders only the rest as it grows.
    """
    lines = text.splitlines(keepends=True)
    in_fence = ""
    pos = 0
    stable = 0
    for i, line in enumerate(lines):
        pos += len(line)
        stripped = line.lstrip(" ")
        if in_fence:
            if stripped.startswith(in_fence) and not stripped.strip(in_fence[0]).strip():
                in_fence = ""
            continue
        if stripped.startswith(("```", "~~~")):
            in_fence = stripped[:3]
            continue
        if line.strip() or not line.endswith("\n") or i + 1 >= len(lines):
            continue
        following = lines[i + 1]
        if following[:1].strip() and not _LIST_MARKER.match(following):
            stable = pos
    return stable


def document_css(theme: Theme, mono_family: str) -> str:
    """The default style sheet for message documents (QTextDocument.setDefaultStyleSheet)."""
    return f"""
p {{ margin-top: 0px; margin-bottom: 8px; }}
h1 {{ font-size: x-large; font-weight: 600; margin-top: 6px; margin-bottom: 8px; }}
h2 {{ font-size: large; font-weight: 600; margin-top: 6px; margin-bottom: 6px; }}
h3, h4, h5, h6 {{ font-size: medium; font-weight: 600; margin-top: 8px; margin-bottom: 4px; }}
ul, ol {{ margin-top: 0px; margin-bottom: 8px; }}
li {{ margin-bottom: 3px; }}
a {{ color: {theme.link}; text-decoration: none; }}
code {{ font-family: '{mono_family}'; background-color: {theme.inline_code_bg}; }}
pre {{ font-family: '{mono_family}'; margin: 0px; white-space: pre-wrap; }}
blockquote {{ color: {theme.muted}; margin-left: 14px; margin-top: 0px; margin-bottom: 8px; }}
th {{ background-color: {theme.code_header}; font-weight: 600; }}
hr {{ color: {theme.border}; }}
"""


class MarkdownRenderer:
    """Renders message Markdown for one theme; cheap to call repeatedly on a growing text."""

    def __init__(self, theme: Theme) -> None:
        self.theme = theme
        self._md = MarkdownIt("commonmark", {"html": False, "breaks": True, "typographer": False})
        self._md.enable(["table", "strikethrough"])
        self._md.add_render_rule("fence", _render_fence)
        self._md.add_render_rule("code_block", _render_fence)
        self._md.add_render_rule("table_open", _render_table_open)
        self._md.add_render_rule("image", _render_image)

    def render(self, text: str) -> Rendered:
        env: dict[str, Any] = {"code_blocks": [], "theme": self.theme}
        body = self._md.render(text, env)
        return Rendered(body, tuple(env["code_blocks"]))


# markdown-it render rules, bound to its renderer: (renderer, tokens, idx, options, env) -> html
def _render_fence(_r: Any, tokens: Sequence[Token], idx: int, _o: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    language = token.info.strip().split(" ")[0] if token.info else ""
    code = token.content
    if code.endswith("\n"):
        code = code[:-1]
    blocks: list[str] = env["code_blocks"]
    index = len(blocks)
    blocks.append(code)
    t: Theme = env["theme"]
    label = html.escape(language or "code")
    body = highlight_code(code, language, t.pygments_style)
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0" border="0" '
        f'style="margin-top: 4px; margin-bottom: 12px; background-color: {t.code_bg};">'
        f'<tr><td style="background-color: {t.code_header}; padding: 4px 10px;">'
        f'<span style="color: {t.muted}; font-size: small;">{label}</span></td>'
        f'<td align="right" style="background-color: {t.code_header}; padding: 4px 10px;">'
        f'<a href="{COPY_SCHEME}:{index}" style="color: {t.muted}; font-size: small;">'
        f"Copy</a></td></tr>"
        f'<tr><td colspan="2" style="padding: 8px 12px;"><pre>{body}</pre></td></tr>'
        f"</table>"
    )


def _render_table_open(_r: Any, _t: Sequence[Token], _i: int, _o: OptionsDict, env: EnvType) -> str:
    t: Theme = env["theme"]
    return (
        f'<table border="1" cellspacing="0" cellpadding="6" '
        f'style="border-collapse: collapse; border-style: solid; '
        f'border-color: {t.border}; margin-bottom: 10px;">'
    )


def _render_image(_r: Any, tokens: Sequence[Token], idx: int, _o: OptionsDict, _e: EnvType) -> str:
    token = tokens[idx]
    src = html.escape(str(token.attrGet("src") or ""), quote=True)
    alt = html.escape(token.content or "image")
    return f'<a href="{src}">{alt}</a>'
