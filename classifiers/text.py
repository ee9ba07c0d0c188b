"""Text normalisation and stemming shared by the classifiers (Russian first, English too)."""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[0-9A-Za-zА-Яа-яЁё]+")


def normalise(text: str) -> str:
    """Lower case, ё as е: how phrases and transcripts are compared."""
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=2)
def _stemmer(language: str):
    import snowballstemmer

    return snowballstemmer.stemmer(language)


def _language_of(word: str) -> str:
    return "english" if word.isascii() else "russian"


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball stem of one word, so "здравствуйте" and "здравствуй" (or "переводу"/"перевожу") meet."""
    word = normalise(word)
    if word.isdigit():
        return word
    return _stemmer(_language_of(word)).stemWord(word)


def tokens(text: str) -> list[str]:
    """Words of a text, normalised."""
    return [normalise(m.group()) for m in WORD.finditer(text)]


def stems(text: str) -> list[str]:
    """Stems of a text's words, in order."""
    return [stem(w) for w in tokens(text)]


@lru_cache(maxsize=4096)
def token_spans(text: str) -> tuple[tuple[str, int, int], ...]:
    """(stem, start, end) for each word, with character offsets into `text` (for evidence highlighting).

    Cached: every checklist item reads the same turns.
    """
    return tuple((stem(m.group()), m.start(), m.end()) for m in WORD.finditer(text))


@lru_cache(maxsize=500_000)
def similar(word: str, wanted: str) -> bool:
    """`word` starts with the stem `wanted`, or nearly: one edit in stems of 5+ letters, two in 8+.

    Speech recognition garbles a letter or two ("отбращения" for "обращения"); exact matching would
    fail the operator for the recogniser's mistake.
    """
    if word.startswith(wanted):
        return True
    allowed = 2 if len(wanted) >= 8 else 1 if len(wanted) >= 5 else 0
    if not allowed or abs(len(word) - len(wanted)) > allowed + 3:
        return False
    head = word[: len(wanted) + allowed]
    lengths = range(len(wanted) - allowed, len(head) + 1)
    return min((edit_distance(head[:n], wanted) for n in lengths), default=allowed + 1) <= allowed


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions to turn `a` into `b`."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def find_phrase(phrase_stems: list[str], text_stems: list[str], gap: int = 2) -> int | None:
    """Index in `text_stems` where `phrase_stems` occurs in order, allowing up to `gap` words between."""
    if not phrase_stems:
        return None
    for start, word in enumerate(text_stems):
        if not similar(word, phrase_stems[0]):
            continue
        position, matched = start, 1
        for wanted in phrase_stems[1:]:
            window = text_stems[position + 1 : position + 2 + gap]
            hit = next((i for i, w in enumerate(window) if similar(w, wanted)), None)
            if hit is None:
                break
            position += hit + 1
            matched += 1
        if matched == len(phrase_stems):
            return start
    return None
