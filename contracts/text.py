"""Word normalisation and Snowball stemming: how transcripts are indexed, searched and compared.

Shared by the classifiers (phrases, checklists) and the store's search, so a word stems the same way
when it is written into the index and when it is looked for. `snowballstemmer` loads on first use.
"""

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
