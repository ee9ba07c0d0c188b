"""Text matching for the classifiers: fuzzy stems and phrases (stemming itself is `contracts.text`)."""

from __future__ import annotations

from functools import lru_cache

from contracts.text import WORD, normalise, stem, stems, token_spans, tokens

__all__ = ["WORD", "edit_distance", "find_phrase", "normalise", "similar", "stem", "stems", "token_spans",
           "tokens"]  # fmt: skip


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
