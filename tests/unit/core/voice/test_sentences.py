"""The sentence splitter on streamed markdown: the same sentences however the reply is cut,
sentences out as soon as they are complete, and code and syntax never read."""

from __future__ import annotations

import random

import pytest

from keiko_desktop.core.voice.sentences import MAX_RUN, SentenceSplitter, clean, speakable

REPLY = """# Getting started

Sure! Here is how to install it. Dr. Smith said it works, e.g. on Linux, i.e. everywhere.
The value is 3.5 today, up from 2.75 in Jan. 2024. Version 1.2.3 is out.

1. First, run `pip install keiko`. Then wait.
2. Open the **settings** dialog (see [the docs](https://example.com/docs?x=1)).
- A bullet with _emphasis_ and ~~strike~~. Visit https://example.com/page.
- [ ] A task item
  that goes on over two lines
    - a nested item. With two sentences.

```python
def foo():
    return "Not read. Never."
```

> A quote. With two sentences!
> It goes on here...

| Name | Age |
|------|----:|
| Ann  | 31  |

    indented code. not read either.

Some text ![an image](pic.png) and <b>bold</b> tags 🎉 right here... Then
**Bold ends.** She said "stop!" Then left. Is `a. b` code? Yes!!

~~~
tilde fence. Not read.
~~~
#1 is not a heading. ```x``` is inline.
```y``` starts a line. 2024 was a year.
[Docs](https://x.y/docs) explain it. Read them.

[1]: https://example.com/reference. Not read.
[^2]: A footnote. Not read.
Final line without a period"""

EXPECTED = [
    "Getting started",
    "Sure!",
    "Here is how to install it.",
    "Dr. Smith said it works, e.g. on Linux, i.e. everywhere.",
    "The value is 3.5 today, up from 2.75 in Jan. 2024.",
    "Version 1.2.3 is out.",
    "First, run pip install keiko.",
    "Then wait.",
    "Open the settings dialog (see the docs).",
    "A bullet with emphasis and strike.",
    "Visit link.",
    "A task item that goes on over two lines",
    "a nested item.",
    "With two sentences.",
    "A quote.",
    "With two sentences!",
    "It goes on here...",
    "Name, Age",
    "Ann, 31",
    "Some text and bold tags 🎉 right here...",
    "Then Bold ends.",
    'She said "stop!"',
    "Then left.",
    "Is a. b code?",
    "Yes!!",
    "#1 is not a heading.",
    "x is inline.",
    "y starts a line.",
    "2024 was a year.",
    "Docs explain it.",
    "Read them.",
    "Final line without a period",
]


def split(pieces: list[str]) -> list[str]:
    splitter = SentenceSplitter()
    out: list[str] = []
    for piece in pieces:
        out += splitter.feed(piece)
    return out + splitter.flush()


def test_a_whole_reply_gives_its_sentences() -> None:
    assert split([REPLY]) == EXPECTED


def test_char_by_char_gives_the_same_sentences() -> None:
    assert split(list(REPLY)) == EXPECTED


def test_every_split_point_gives_the_same_sentences() -> None:
    for at in range(len(REPLY) + 1):
        assert split([REPLY[:at], REPLY[at:]]) == EXPECTED, f"split at {at}: {REPLY[at:][:20]!r}"


@pytest.mark.parametrize("seed", range(40))
def test_random_pieces_give_the_same_sentences(seed: int) -> None:
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(REPLY):
        size = rng.choice([1, 1, 2, 3, 4, 7, 12, 30])
        pieces.append(REPLY[at : at + size])
        at += size
    assert split(pieces) == EXPECTED


@pytest.mark.parametrize("size", [1, 5, 10_000])
def test_crlf_line_ends_split_between_pieces(size: int) -> None:
    text = REPLY.replace("\n", "\r\n")
    assert split([text[i : i + size] for i in range(0, len(text), size)]) == EXPECTED


def test_a_sentence_comes_out_once_the_space_after_it_arrives() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Hello there.") == []  # could still be "there.5" or "there.com"
    assert splitter.feed(" How") == ["Hello there."]
    assert splitter.feed(" are you?\n") == ["How are you?"]
    assert splitter.flush() == []


def test_a_fenced_block_split_over_many_pieces_is_swallowed_whole() -> None:
    splitter = SentenceSplitter()
    out: list[str] = []
    for piece in [
        "Here:\n",
        "``",
        "`py",
        "thon\nx = 1. ",
        "Never said. ",
        "\ny = 2\n`",
        "``\nDone. ",
    ]:
        out += splitter.feed(piece)
    assert out == ["Here:", "Done."]
    # an open fence at the end of the reply is dropped, not read
    assert split(["Look:\n```\nprint('never. said.')\n"]) == ["Look:"]


def test_inline_triple_backticks_are_not_a_fence() -> None:
    assert split(["```x``` is inline. Next."]) == ["x is inline.", "Next."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. and Mrs. Smith met Prof. Lee at St. Mary's. They talked.", 2),
        ("Use a tool, e.g. a hammer. Or i.e. not.", 2),
        ("J. R. R. Tolkien wrote it. Yes.", 2),
        ("Apples, pears, etc. are fruit. Right.", 2),
        ("It is 3.14159 roughly. And 10.5% more.", 2),
        ("Wait... What?! Really? Yes.", 4),
        ("The U.S. economy grew. Fine.", 2),
    ],
)
def test_abbreviations_and_numbers_do_not_end_sentences(text: str, expected: int) -> None:
    sentences = split([text])
    assert len(sentences) == expected, sentences
    assert " ".join(sentences) == text


def test_ordered_list_numbers_are_not_sentence_ends() -> None:
    assert split(["Steps:\n1. Install it\n2. Run it\n10) Done\n"]) == [
        "Steps:",
        "Install it",
        "Run it",
        "Done",
    ]


def test_indented_code_is_dropped_but_list_continuations_are_read() -> None:
    text = "Intro.\n\n    secret = 1\n    more()\n\nAfter.\n\n- item\n\n    continued here.\n"
    assert split([text]) == ["Intro.", "After.", "item", "continued here."]


def test_headings_quotes_and_breaks() -> None:
    text = "Title\n=====\n\n## Part two ##\n\n---\n\n> > Deep quote.\n\n***\nEnd."
    assert split([text]) == ["Title", "Part two", "Deep quote.", "End."]


def test_a_long_run_without_punctuation_is_cut_at_a_space_before_the_end() -> None:
    words = [f"word{i}" for i in range(200)]
    splitter = SentenceSplitter()
    early = splitter.feed(" ".join(words) + " ")
    assert early, "speech must not wait for the end of a very long run"
    sentences = early + splitter.flush()
    assert all(len(s) <= MAX_RUN for s in sentences)
    assert " ".join(sentences).split() == words


def test_a_stray_backtick_does_not_stop_sentences_for_long() -> None:
    text = "I use ` as a mark. " + "Then more words here. " * 10 + "End."
    splitter = SentenceSplitter()
    early = splitter.feed(text)
    assert len(early) >= 2
    assert " ".join(early + splitter.flush()).split() == text.replace("`", "").split()


def test_flush_starts_afresh() -> None:
    splitter = SentenceSplitter()
    splitter.feed("```\nopen fence and")
    assert splitter.flush() == []
    assert splitter.feed("Read this. ") == ["Read this."]


@pytest.mark.parametrize(
    ("markdown", "spoken"),
    [
        ("Run `ls -la` now.", "Run ls -la now."),
        ("Use ``a `tick` b`` here.", "Use a `tick` b here."),
        ("See [the guide](https://x.org/a_(b)) first.", "See the guide first."),
        ("See [ref][1] and [^2] too.", "See ref and too."),
        ("An ![image](a.png) here.", "An here."),
        (
            "Go to https://example.com/a?b=1. Or www.example.org, then.",
            "Go to link. Or link, then.",
        ),
        ("Mail <me@example.com> or <https://x.org>.", "Mail me@example.com or link."),
        (
            "**Bold**, *italic*, __strong__, _em_ and ~~gone~~.",
            "Bold, italic, strong, em and gone.",
        ),
        ("snake_case_name and 2 * 3 stay.", "snake_case_name and 2 * 3 stay."),
        ("It takes ~5 minutes.", "It takes about 5 minutes."),
        ("Some <span class='x'>html</span> and <br/> <!-- a note --> here.", "Some html and here."),
        ("Escaped \\*stars\\* and \\# hash.", "Escaped stars and # hash."),
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
        ("Party 🎉🥳 time! 👨‍👩‍👧", "Party 🎉🥳 time! 👨‍👩‍👧"),
        ("bidi\u202e and \x07 bell", "bidi and bell"),
        ("a   lot\tof    space", "a lot of space"),
        ("**", ""),
        ("[]()", ""),
    ],
)
def test_clean(markdown: str, spoken: str) -> None:
    assert clean(markdown) == spoken


def test_speakable_reads_a_whole_reply() -> None:
    assert speakable(REPLY) == " ".join(EXPECTED)
    assert speakable("```\ncode only\n```") == ""
    assert speakable("") == ""
