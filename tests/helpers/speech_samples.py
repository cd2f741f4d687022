"""Speech with known words, and how to score a transcript of it.

``piper_speech`` (the bundled voice) and ``espeak_speech`` (``espeak-ng``, a very different,
formant-synthesised voice from Debian) say a text; ``SENTENCES`` are everyday things people say
to an assistant; ``normalize`` is a Whisper-style English normalizer (case, punctuation,
contractions, UK/US spelling, number words and digits), so spelling is not counted as error;
``word_error_rate`` is the corpus WER (edits over reference words).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keiko_desktop.core.voice.types import AudioClip

SENTENCES: tuple[str, ...] = (
    "Can you summarise this article in three short bullet points?",
    "What's the weather going to be like tomorrow morning?",
    "Remind me to call my sister at half past six.",
    "Please translate the last paragraph into French.",
    "How many grams of flour do I need for twelve pancakes?",
    "Write a polite email declining the meeting on Thursday.",
    "My favourite colour used to be green, but now it's blue.",
    "Explain the difference between a virus and a bacterium.",
    "The train to the city leaves every twenty minutes.",
    "Could you suggest a good book for a long flight?",
    "Turn the list into a table with two columns.",
    "I need to buy milk, eggs, bread and some fresh fruit.",
    "What year did the first person walk on the moon?",
    "Draft a short reply saying I will be ten minutes late.",
    "Sort these names in alphabetical order, please.",
    "Is it safe to leave the laptop charging overnight?",
    "Tell me a joke about a cat who learns to cook.",
    "We should organise a picnic in the park next weekend.",
    "How do I convert fifty degrees Fahrenheit to Celsius?",
    "Add a reminder for the dentist appointment on Monday.",
    "Keep the answer brief and avoid technical words.",
    "The children played football in the garden until it got dark.",
    "Open the notes from yesterday's meeting and find the action items.",
    "Thank you, that was really helpful.",
)

ESPEAK = "espeak-ng"


@functools.cache
def _piper_voice() -> object:
    from piper import PiperVoice

    from keiko_desktop.speech.models import bundled_voice

    path = bundled_voice()
    return PiperVoice.load(str(path), config_path=str(path) + ".json")


def piper_speech(text: str) -> AudioClip:
    """``text`` said by the bundled piper voice, straight from piper (not through Keiko)."""
    voice = _piper_voice()
    chunks = list(voice.synthesize(text))  # type: ignore[attr-defined]
    pcm = b"".join(chunk.audio_int16_bytes for chunk in chunks)
    return AudioClip(pcm, voice.config.sample_rate)  # type: ignore[attr-defined]


def have_espeak() -> bool:
    return shutil.which(ESPEAK) is not None


def espeak_speech(text: str) -> AudioClip:
    """``text`` said by espeak-ng's default voice (``espeak-ng --stdout``), as its WAV says."""
    done = subprocess.run([ESPEAK, "--stdout", text], capture_output=True, check=True, timeout=30)
    return AudioClip.from_wav(done.stdout)


def encode_file(path: Path, clip: AudioClip, codec: str, layout: str = "mono") -> Path:
    """Write ``clip`` to ``path`` with PyAV's encoder ``codec`` (flac, libmp3lame, aac,
    libopus...), in mono or as two equal ``stereo`` channels; returns ``path``."""
    import av
    import numpy as np

    samples = np.frombuffer(clip.pcm, dtype="<i2")
    with av.open(str(path), "w") as out:
        stream: Any = out.add_stream(codec, rate=clip.sample_rate)
        stream.layout = layout
        data = np.repeat(samples, 2) if layout == "stereo" else samples
        frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = clip.sample_rate
        resampler = av.AudioResampler(
            format=stream.format.name,
            layout=layout,
            rate=clip.sample_rate,
            frame_size=stream.codec_context.frame_size or None,
        )
        for piece in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(piece):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


# ---------------------------------------------------------------------- the normalizer

# Contractions, as Whisper's EnglishTextNormalizer expands them (on both sides alike).
_CONTRACTIONS: tuple[tuple[str, str], ...] = (
    (r"\bwon't\b", "will not"),
    (r"\bcan't\b", "can not"),
    (r"\blet's\b", "let us"),
    (r"\bgonna\b", "going to"),
    (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "got to"),
    (r"n't\b", " not"),
    (r"'re\b", " are"),
    (r"'s\b", " is"),
    (r"'d\b", " would"),
    (r"'ll\b", " will"),
    (r"'ve\b", " have"),
    (r"'m\b", " am"),
)
_TITLES = {"mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "st": "saint"}
# British spellings and their American forms, and other spellings of one word.
_SPELLINGS = {
    "summarise": "summarize",
    "summarised": "summarized",
    "summarising": "summarizing",
    "organise": "organize",
    "organised": "organized",
    "organising": "organizing",
    "recognise": "recognize",
    "realise": "realize",
    "apologise": "apologize",
    "prioritise": "prioritize",
    "analyse": "analyze",
    "favourite": "favorite",
    "favour": "favor",
    "colour": "color",
    "neighbour": "neighbor",
    "behaviour": "behavior",
    "flavour": "flavor",
    "humour": "humor",
    "honour": "honor",
    "centre": "center",
    "theatre": "theater",
    "metre": "meter",
    "litre": "liter",
    "programme": "program",
    "travelling": "traveling",
    "travelled": "traveled",
    "cancelled": "canceled",
    "grey": "gray",
    "cheque": "check",
    "catalogue": "catalog",
    "dialogue": "dialog",
    "defence": "defense",
    "licence": "license",
    "okay": "ok",
    "alright": "all right",
}
_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ORDINALS = {
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
    "twelfth": "12th", "twentieth": "20th",
}  # fmt: skip
_FILLERS = frozenset({"uh", "um", "hmm", "mm", "mhm", "ah", "er", "erm"})


def _numbers(words: list[str]) -> list[str]:
    """Runs of number words as digits ("twenty five" → "25", "six seven" → "6 7")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word not in _ONES and word not in _TENS:
            out.append(_ORDINALS.get(word, word))
            i += 1
            continue
        total, current = 0, 0
        j = i
        while j < len(words):
            w = words[j]
            if w in _ONES:
                if current % 10 or (current and current < 20 and _ONES[w] < 10):
                    break  # "six seven": two numbers
                current += _ONES[w]
            elif w in _TENS:
                if current % 100:
                    break
                current += _TENS[w]
            elif w in _SCALES and current:
                current *= _SCALES[w]
                if _SCALES[w] > 100:
                    total, current = total + current, 0
            elif (
                w == "and"
                and current >= 100
                and j + 1 < len(words)
                and (words[j + 1] in _ONES or words[j + 1] in _TENS)
            ):
                pass
            else:
                break
            j += 1
        out.append(str(total + current))
        i = j
    return out


def _spelling(word: str) -> str:
    if word in _SPELLINGS:
        return _SPELLINGS[word]
    if word.endswith("s") and word[:-1] in _SPELLINGS:  # colours, neighbours
        return _SPELLINGS[word[:-1]] + "s"
    return word


def normalize(text: str) -> list[str]:
    """``text`` as comparable words, in the manner of Whisper's English normalizer.

    Lowercase; bracketed asides and fillers dropped; contractions expanded; titles spelled
    out; "%" as "percent", "$5" as "5 dollars", "6:30" as "6 30"; punctuation removed
    (a hyphen or slash splits words); British spellings as American ones; number words as
    digits ("twenty five" and "25" are both "25", "first" and "1st" both "1st").
    """
    text = text.lower().replace("’", "'").replace("‘", "'")
    text = re.sub(r"[<\[][^>\]]*[>\]]|\([^)]*\)", " ", text)
    for pattern, replacement in _CONTRACTIONS:
        text = re.sub(pattern, replacement, text)
    text = re.sub(r"\$(\d+(?:\.\d+)?)", r"\1 dollars", text)
    text = re.sub(r"(\d)\s*%", r"\1 percent", text)
    text = re.sub(r"(\d+):(\d\d)\b", r"\1 \2", text)
    text = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)
    text = re.sub(r"\be-mail", "email", text)
    text = re.sub(r"[^\w\s']|_", " ", text)
    text = text.replace("'", "")
    words = [w for w in text.split() if w not in _FILLERS]
    words = [_TITLES.get(w, w) for w in words]
    words = " ".join(_spelling(w) for w in words).split()
    return _numbers(words)


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions, insertions, deletions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def word_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus WER of ``hyps`` against ``refs`` (both normalized): all edits over all words."""
    if len(refs) != len(hyps):
        raise ValueError("one hypothesis per reference")
    errors = words = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        r, h = normalize(ref), normalize(hyp)
        errors += edit_distance(r, h)
        words += len(r)
    return errors / words if words else 0.0
