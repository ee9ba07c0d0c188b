"""The decoder's prompt written out in place of the audio.

Given the site's names as `initial_prompt` and `hotwords`, Whisper sometimes writes them out where it
hears little or nothing (hold music, a cut-off word, silence at the end of a window): a name or two at
a very low probability, or the whole list, often over and over. The first pass drops such runs
(`drop_prompt_echo`); recovery decodes a read-back again without the prompt (`find_echoes`). Both find
runs of consecutive prompt words the same way, and compare words with one normaliser (`asr.words.bare`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection

import numpy as np

from asr.words import bare

logger = logging.getLogger("callqa.asr")

_NAME_END = re.compile(r"[.,;:!?]")


def prompt_text(options) -> str:
    """The decoder's prompt and hotwords (of an `AsrOptions`) as one text."""
    return f"{options.initial_prompt}, {options.hotwords}"


def prompt_words(text: str) -> list[str]:
    """The words of a prompt in its order, bare (split at white space, as the decoder writes words)."""
    return [w for w in map(bare, text.split()) if w]


def prompt_names(text: str) -> list[list[str]]:
    """The names of a prompt (split at punctuation), each as its bare words."""
    names = [[bare(w) for w in part.split()] for part in _NAME_END.split(text)]
    return [[w for w in name if w] for name in names if any(name)]


def prompt_runs(tokens: list[str], vocabulary: Collection[str]) -> list[tuple[int, int]]:
    """Index ranges [i, j) of the longest runs of consecutive bare words that are all prompt words."""
    runs: list[tuple[int, int]] = []
    start = None
    for k, token in enumerate([*tokens, None]):
        if token is not None and token in vocabulary:
            start = k if start is None else start
        elif start is not None:
            runs.append((start, k))
            start = None
    return runs


def find_echoes(words: list, prompt: str, min_words: int = 3) -> list[tuple[int, int]]:
    """Index ranges [i, j) where the decoder wrote out its own prompt instead of the audio: at least
    `min_words` words in a row that are the prompt's words in the prompt's order."""
    vocabulary = prompt_words(prompt)
    if len(vocabulary) < min_words:
        return []
    tokens = [bare(w.word) for w in words]
    echoes: list[tuple[int, int]] = []
    for start, end in prompt_runs(tokens, set(vocabulary)):
        i = start
        while i < end:  # from each word, as far as the words keep the prompt's order
            j, position = i, -1
            while j < end and tokens[j] in vocabulary[position + 1 :]:
                position = vocabulary.index(tokens[j], position + 1)
                j += 1
            if j - i >= min_words:
                echoes.append((i, j))
                i = j
            else:
                i += 1
    return echoes


def drop_prompt_echo(words: list, names: list[list[str]], floor: float) -> list:
    """`words` without the runs of consecutive prompt words that the model wrote out rather than heard:
    a run heard with a mean probability below `floor`, or longer than any one name of the prompt (the
    list copied, often in a loop). Whisper does that where it hears nothing, and such a name must not
    count as said."""
    vocabulary = {w for name in names for w in name}
    longest = max((len(name) for name in names), default=0)
    dropped: set[int] = set()
    for i, j in prompt_runs([bare(w.word) for w in words], vocabulary):
        run = words[i:j]
        if len(run) > longest or float(np.mean([w.probability for w in run])) < floor:
            logger.debug("dropped the prompt's words %s", "".join(w.word for w in run))
            dropped.update(range(i, j))
    return [w for k, w in enumerate(words) if k not in dropped]
