"""Word error rate for Russian and English transcripts, with numbers compared as spoken digits."""

from __future__ import annotations

import re

import jiwer

DIGIT_WORDS = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")


def normalise(text: str, language: str = "ru") -> str:
    """Lower case, ё→е, punctuation dropped; digits spelled one by one (references say them that way)."""
    text = text.lower().replace("ё", "е")
    if language == "ru":
        text = re.sub(r"\d", lambda m: f" {DIGIT_WORDS[int(m.group())]} ", text)
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def word_errors(reference: str, hypothesis: str, language: str = "ru") -> tuple[int, int]:
    """(errors, reference words) so that WER can be pooled over many files."""
    ref, hyp = normalise(reference, language), normalise(hypothesis, language)
    if not ref:
        return len(hyp.split()), 0
    output = jiwer.process_words(ref, hyp or "∅")
    return output.substitutions + output.deletions + output.insertions, len(ref.split())
