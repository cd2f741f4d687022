"""A reply's sources: the "Sources" row under it, and its citations made into links.

A reply written from attached files has sources (the passages its turn carried, stored with
it). Once it is complete its text is rendered with each citation of one of them (``[report.pdf,
p. 3]``, found by ``core.files.prompt.find_citations``) as a ``keiko-source:<chunk id>`` link,
and the row lists them as buttons. Only the reply's own sources open: a link the model wrote
itself to another chunk is ignored (``source_id``). Citations inside code stay as they are.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import cache
from typing import Any

from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from keiko_desktop.core.files.prompt import find_citations
from keiko_desktop.core.files.types import Passage
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.markdown import MarkdownRenderer, Rendered
from keiko_desktop.ui.theme import Theme

SOURCE_SCHEME = "keiko-source"
MAX_SHOWN = 8


def source_url(chunk_id: int) -> str:
    return f"{SOURCE_SCHEME}:{chunk_id}"


def source_id(url: QUrl, passages: Sequence[Passage]) -> int | None:
    """The chunk a ``keiko-source:`` link opens, if it is one of ``passages``."""
    if url.scheme() != SOURCE_SCHEME:
        return None
    try:
        chunk_id = int(url.path())
    except ValueError:
        return None
    return chunk_id if any(p.chunk.id == chunk_id for p in passages) else None


def unique_sources(passages: Sequence[Passage]) -> list[Passage]:
    """One passage per citation label (several chunks of one page are one source)."""
    seen: dict[str, Passage] = {}
    for passage in passages:
        seen.setdefault(passage.label, passage)
    return list(seen.values())


def _render_text(_r: Any, tokens: Sequence[Token], idx: int, _o: OptionsDict, env: EnvType) -> str:
    text = tokens[idx].content
    passages: Sequence[Passage] = env.get("passages", ())
    if not passages:
        return html.escape(text, quote=False)
    out: list[str] = []
    pos = 0
    for start, end, passage in find_citations(text, passages):
        out.append(html.escape(text[pos:start], quote=False))
        label = html.escape(text[start:end], quote=False)
        out.append(f'<a href="{source_url(passage.chunk.id)}">{label}</a>')
        pos = end
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


class CitingRenderer(MarkdownRenderer):
    """The chat's Markdown renderer, with citations of given passages as links."""

    def __init__(self, theme: Theme) -> None:
        super().__init__(theme)
        self._md.add_render_rule("text", _render_text)

    def render_citing(self, text: str, passages: Sequence[Passage]) -> Rendered:
        env: dict[str, Any] = {"code_blocks": [], "theme": self.theme, "passages": passages}
        body = self._md.render(text, env)
        return Rendered(body, tuple(env["code_blocks"]))


@cache
def citing_renderer(theme: Theme) -> CitingRenderer:
    return CitingRenderer(theme)


def render_citing(theme: Theme, text: str, passages: Sequence[Passage]) -> Rendered:
    """``text`` as the chat renders it, its citations of ``passages`` made links."""
    return citing_renderer(theme).render_citing(text, passages)


class SourcesBar(QWidget):
    """ "Sources: [report.pdf, p. 3] [notes.md]" under a reply; each a button.

    Signals:
        source_clicked(int): the user opened the source with this chunk id.
    """

    source_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SourcesBar")
        self.setAccessibleName("Sources")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 2)
        self._layout.setSpacing(4)
        self.title = QLabel("Sources:", self)
        self.title.setObjectName("MessageMeta")
        self._layout.addWidget(self.title)
        self.more = QLabel(self)
        self.more.setObjectName("MessageMeta")
        self.more.setTextFormat(Qt.TextFormat.PlainText)
        self._layout.addWidget(self.more)
        self._layout.addStretch(1)
        self.buttons: list[QToolButton] = []
        self.hide()

    def set_passages(self, passages: Sequence[Passage]) -> None:
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        sources = unique_sources(passages)
        for index, passage in enumerate(sources[:MAX_SHOWN]):
            label = one_line(passage.label, 80)
            button = QToolButton(self)
            button.setObjectName("SourceLink")
            button.setText(label)
            button.setAutoRaise(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setAccessibleName(f"Source {label}")
            button.setToolTip(f"Show the passage of {label}")
            chunk_id = passage.chunk.id
            button.clicked.connect(lambda _=False, c=chunk_id: self.source_clicked.emit(c))
            self._layout.insertWidget(1 + index, button)
            self.buttons.append(button)
        hidden = len(sources) - MAX_SHOWN
        self.more.setText(f"and {hidden} more" if hidden > 0 else "")
        self.more.setVisible(hidden > 0)
        self.setVisible(bool(sources))

    def labels(self) -> list[str]:
        return [b.text() for b in self.buttons]

    def set_theme(self, theme: Theme) -> None:
        self.setStyleSheet(
            f"QToolButton#SourceLink {{ color: {theme.link}; border: none; padding: 1px 3px; }}"
            f" QToolButton#SourceLink:hover, QToolButton#SourceLink:focus"
            f" {{ background: {theme.hover}; border-radius: 4px; }}"
        )
