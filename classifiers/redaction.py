"""Which moments of a call to mute: the spoken digits of card numbers and CVV codes.

The number-normalised text says that a card was read out; the words that carry digits (spoken or written)
say when. All of that utterance's number words are muted, erring towards silence. A second reading of
dictated digits (`asr.digits`) that hears a card where the text does not mutes its whole stretch too:
what might be a card is silenced, whichever reading is right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from asr import NumberReading
from asr.numbers import NUMBER_WORDS
from asr.transcribe import Utterance
from contracts.pii import find_pii

MUTED_KINDS = ("card", "cvv")
PAD_SECONDS = 0.15


def _is_number_word(word: str) -> bool:
    token = re.sub(r"\W", "", word.lower())
    return bool(token) and (token.isdigit() or token in NUMBER_WORDS)


def _says_a_card(text: str) -> bool:
    return any(s.kind in MUTED_KINDS for s in find_pii(text or ""))


def muted_spans(
    utterances: Sequence[Utterance], readings: Sequence[NumberReading] = ()
) -> list[tuple[float, float]]:
    """Time spans (seconds) to silence in the recording these utterances (with their words) came from;
    `readings`: the call's second readings of dictated digits."""
    spans = [
        (max(0.0, r.start - PAD_SECONDS), r.end + PAD_SECONDS)
        for r in readings
        if any(_says_a_card(text) for text in (r.heard, *r.alternatives))
    ]
    for utterance in utterances:
        if not _says_a_card(utterance.normalized_text or ""):
            continue
        spans += [
            (max(0.0, w.start - PAD_SECONDS), w.end + PAD_SECONDS)
            for w in utterance.words
            if _is_number_word(w.word)
        ]
    return spans
