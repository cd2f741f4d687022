"""The WER yardstick itself: the normalizer forgives spelling, not words; the WER counts edits."""

from __future__ import annotations

import pytest

from tests.helpers.speech_samples import SENTENCES, edit_distance, normalize, word_error_rate


@pytest.mark.parametrize(
    ("said", "heard"),
    [
        ("Can you summarise this?", "can you summarize this"),
        ("My favourite colours.", "My favorite colors"),
        ("three short bullet points", "3 short bullet points"),
        ("every twenty minutes", "every 20 minutes"),
        ("twenty-five people", "25 people"),
        ("one hundred and five", "105"),
        ("the first person", "the 1st person"),
        ("It's half past six.", "it is half past six"),
        ("I won't go, they're late", "I will not go, they are late"),
        ("four hundred dollars", "$400"),
        ("fifty percent", "50%"),
        ("at 6:30", "at 6 30"),
        ("Mr. Smith", "Mister Smith"),
        ("um, thank you", "Thank you."),
        ("send an email", "send an e-mail"),
    ],
)
def test_spelling_is_not_an_error(said: str, heard: str) -> None:
    assert normalize(said) == normalize(heard)


@pytest.mark.parametrize(
    ("said", "heard"),
    [
        ("three points", "free points"),
        ("six seven", "67"),
        ("ten five", "15"),
        ("a virus", "the virus"),
        ("now it is blue", "how it is blue"),
    ],
)
def test_other_words_are_errors(said: str, heard: str) -> None:
    assert normalize(said) != normalize(heard)


def test_word_error_rate_counts_edits_over_reference_words() -> None:
    assert edit_distance(["a", "b", "c", "d"], ["a", "x", "c"]) == 2
    assert word_error_rate(["a b c d"], ["a b c d"]) == 0
    assert word_error_rate(["a b c d"], ["a x c"]) == pytest.approx(0.5)
    assert word_error_rate(["one two", "three four five six"], ["1 2 extra", ""]) == 5 / 6
    with pytest.raises(ValueError, match="one hypothesis per reference"):
        word_error_rate(["a"], [])


def test_there_are_enough_varied_sentences() -> None:
    assert len(SENTENCES) >= 20
    assert len(set(SENTENCES)) == len(SENTENCES)
    words = [w for s in SENTENCES for w in normalize(s)]
    assert len(words) >= 200
    assert len(set(words)) >= 120
