"""The site's own operator wording as evidence of who the operator is on a mono line.

A caller may introduce themselves with the same words an operator opens with («Здравствуйте, это Дмитрий,
компания Кафе Берёзка») while the operator only says «Алло»; what the caller does not say is the site's
script: its company's name, «номер заявки», «привязан к договору», «удачного дня». Counting those phrases
over a whole call names the operator where the generic greeting words cannot.
"""

from __future__ import annotations

from collections.abc import Callable

from classifiers.matching import align, closeness
from classifiers.profile import SiteProfile
from classifiers.text import normalise, stems, token_spans

# How nearly a phrase must be aligned to an utterance to count (the checklist's near-miss band starts at
# 0.7): «привязан до договору» for «привязан к договору» counts, one shared word of three does not.
CUE_AT = 0.8


def operator_cue_counter(profile: SiteProfile) -> Callable[[str], int] | None:
    """A function giving how many of the site's cue groups an utterance says: the company (any of its
    names) and each script phrase group of the profile count once each. None when the profile has none.

    Products and departments are not cues (callers name the product they call about and the department
    they want), and a company name said as part of a product's name («не работает Ромашка ТВ») is not the
    company's name said."""
    company = _stemmed(profile.company)
    script = [phrases for phrases in (_stemmed(v) for v in profile.script.values()) if phrases]
    products = _stemmed(profile.products)
    if not company and not script:
        return None

    def count(text: str) -> int:
        words = [span[0] for span in token_spans(normalise(text))]
        if not words:
            return 0
        in_products = _words_of(products, words)
        said = sum(_says(phrases, words) for phrases in script)
        return said + bool(company and _says(company, words, skip=in_products))

    return count


def _stemmed(phrases: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [stemmed for stemmed in (tuple(stems(p)) for p in phrases) if stemmed]


def _alignments(phrases: list[tuple[str, ...]], words: list[str], skip: frozenset[int] = frozenset()):
    def close(token: str, i: int) -> float:
        return 0.0 if i in skip else closeness(words[i], token)

    for phrase in phrases:
        value, first, last, _ = align(phrase, len(words), close)
        if value >= CUE_AT:
            yield phrase, first, last


def _says(phrases: list[tuple[str, ...]], words: list[str], skip: frozenset[int] = frozenset()) -> bool:
    return next(_alignments(phrases, words, skip), None) is not None


def _words_of(names: list[tuple[str, ...]], words: list[str]) -> frozenset[int]:
    """Indices of the words where any of `names` is said, its words side by side."""
    return frozenset(
        i
        for name, first, last in _alignments(names, words)
        if last - first < len(name)
        for i in range(first, last + 1)
    )
