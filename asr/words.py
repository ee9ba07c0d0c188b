"""Recognised words compared as words: the decoder writes case, punctuation and ё as it pleases."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"\W+")


def bare(word: str) -> str:
    """A word as compared with a list of words: lower case, ё read as е (the decoder writes either),
    without punctuation or spaces."""
    return _NOT_WORD.sub("", word.lower().replace("ё", "е"))
