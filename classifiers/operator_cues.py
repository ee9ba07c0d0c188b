"""The site's own operator wording as evidence of who the operator is on a mono line.

A caller may introduce themselves with the same words an operator opens with («Здравствуйте, это Дмитрий,
компания Кафе Берёзка») while the operator only says «Алло»; what a caller seldom says is the site's
script: its company's name, «номер заявки», «привязан к договору», «удачного дня». Which of those phrases
each speaker says over a whole call names the operator where the generic greeting words cannot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from classifiers.matching import align, closeness
from classifiers.profile import SiteProfile, name_closeness, name_phrases
from classifiers.text import normalise, stems, token_spans, tokens

# How nearly a phrase must be aligned to an utterance to count (the checklist's near-miss band starts at
# 0.7): «привязан до договору» for «привязан к договору» counts, one shared word of three does not.
CUE_AT = 0.8

Phrase = tuple[str, ...]  # stems; a name's words as "=word" (whole words, see `name_closeness`)


def operator_cue_finder(profile: SiteProfile) -> Callable[[str], set[str]] | None:
    """A function giving which of the site's cue groups an utterance says: "company" (any of its names,
    matched as whole words like the checklist's `{company}`) and "script.NAME" for each script phrase
    group of the profile. None when the profile has neither.

    Products and departments are not cues (callers name the product they call about and the department
    they want), and a company name said as part of a product's name («не работает Ромашка ТВ») is not the
    company's name said."""
    groups = {f"script.{name}": _stemmed(phrases) for name, phrases in profile.script.items()}
    groups = {key: phrases for key, phrases in groups.items() if phrases}
    company, products = _names(profile.company), _names(profile.products)
    if not company and not groups:
        return None

    def find(text: str) -> set[str]:
        words = tokens(text)
        if not words:
            return set()
        stemmed = [span[0] for span in token_spans(normalise(text))]
        found = {key for key, phrases in groups.items() if _says(phrases, words, stemmed)}
        if company and _says(company, words, stemmed, skip=_where_said(products, words, stemmed)):
            found.add("company")
        return found

    return find


def _stemmed(phrases: tuple[str, ...]) -> list[Phrase]:
    return [stemmed for stemmed in (tuple(stems(p)) for p in phrases) if stemmed]


def _names(names: tuple[str, ...]) -> list[Phrase]:
    return [form for name in names for form in name_phrases(name)]


def _alignments(
    phrases: list[Phrase], words: list[str], stemmed: list[str], skip: frozenset[int] = frozenset()
) -> Iterator[tuple[Phrase, int, int]]:
    """(phrase, first word, last word) of each phrase aligned well enough, words in `skip` left out."""

    def close(token: str, i: int) -> float:
        if i in skip:
            return 0.0
        return name_closeness(words[i], token[1:]) if token.startswith("=") else closeness(stemmed[i], token)

    for phrase in phrases:
        value, first, last, _ = align(phrase, len(words), close)
        if value >= CUE_AT:
            yield phrase, first, last


def _says(
    phrases: list[Phrase], words: list[str], stemmed: list[str], skip: frozenset[int] = frozenset()
) -> bool:
    return next(_alignments(phrases, words, stemmed, skip), None) is not None


def _where_said(names: list[Phrase], words: list[str], stemmed: list[str]) -> frozenset[int]:
    """Indices of the words where any of `names` is said, its words side by side, every time it is."""
    found: set[int] = set()
    while True:
        spans = [
            range(first, last + 1)
            for name, first, last in _alignments(names, words, stemmed, frozenset(found))
            if last - first < len(name)
        ]
        if not spans:
            return frozenset(found)
        found.update(*spans)
