"""Markdown rendering for Qt rich text."""

from __future__ import annotations

from keiko_desktop.ui.dialogs.search_dialog import snippet_html
from keiko_desktop.ui.markdown import MarkdownRenderer
from keiko_desktop.ui.theme import DARK, LIGHT

SAMPLE = """# Title

Some `inline` code and a [link](https://example.org).

- one
- two

| a | b |
|---|---|
| 1 | 2 |

```python
def f(x):
    return x
```
"""


def test_headings_lists_tables_links_and_inline_code() -> None:
    html = MarkdownRenderer(LIGHT).render(SAMPLE).html
    assert "<h1>Title</h1>" in html
    assert "<li>one</li>" in html
    assert "<table border=" in html
    assert "<th>a</th>" in html
    assert '<a href="https://example.org">link</a>' in html
    assert "<code>inline</code>" in html


def test_fenced_code_is_highlighted_with_a_copy_link() -> None:
    rendered = MarkdownRenderer(DARK).render(SAMPLE)
    assert rendered.code_blocks == ("def f(x):\n    return x",)
    assert 'href="copy:0"' in rendered.html
    assert "<span style=" in rendered.html  # pygments colours, inline
    assert ">python<" in rendered.html


def test_raw_html_is_shown_not_run() -> None:
    html = MarkdownRenderer(LIGHT).render("<b>bold</b> <script>x</script>").html
    assert "<b>" not in html
    assert "&lt;b&gt;" in html


def test_unclosed_fence_while_streaming_renders_as_code() -> None:
    rendered = MarkdownRenderer(LIGHT).render("Here:\n```python\nprint(1)")
    assert rendered.code_blocks == ("print(1)",)


def test_search_snippet_marks_hits() -> None:
    html = snippet_html("a [hit] <tag>", LIGHT)
    assert LIGHT.mark_bg in html
    assert "hit</span>" in html
    assert "&lt;tag&gt;" in html


def test_stable_prefix_ends_after_finished_blocks_only() -> None:
    from keiko_desktop.ui.markdown import stable_prefix_length

    text = "# Title\n\nA paragraph.\n\nAnother one that is still gr"
    assert text[: stable_prefix_length(text)] == "# Title\n\nA paragraph.\n\n"
    fenced = "Intro\n\n```python\nx = 1\n\ny = 2\n"
    assert fenced[: stable_prefix_length(fenced)] == "Intro\n\n"  # not inside the fence
    closed = fenced + "```\n\nAfter"
    assert closed[: stable_prefix_length(closed)] == closed[: -len("After")]
    listed = "- one\n\n- two\n\n  more\n"
    assert stable_prefix_length(listed) == 0  # lists and their continuations stay whole
