"""A redacted copy of a call's audio: card numbers (and their CVV) muted, found through word timestamps."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select

from asr.numbers import NUMBER_WORDS
from classifiers.pii import find_pii
from store.schema import Call, Recording, Utterance, Word

MUTED_KINDS = ("card", "cvv")
PAD_SECONDS = 0.15


def _is_number_word(word: str) -> bool:
    token = re.sub(r"\W", "", word.lower())
    return bool(token) and (token.isdigit() or token in NUMBER_WORDS)


def muted_spans(utterances: list[tuple[str, list[tuple[float, float, str]]]]) -> list[tuple[float, float]]:
    """Time spans to mute: the spoken digits of every utterance whose text holds a card number or CVV.

    The number-normalised text says that a card was read out; the words that carry digits (spoken or
    written) say when. All of that utterance's number words are muted, erring towards silence.
    """
    spans = []
    for text, words in utterances:
        if not any(s.kind in MUTED_KINDS for s in find_pii(text)):
            continue
        spans += [
            (max(0.0, start - PAD_SECONDS), end + PAD_SECONDS)
            for start, end, w in words
            if _is_number_word(w)
        ]
    return spans


def redact_call_audio(engine: Engine, uniqueid: str, out: Path) -> int:
    """Write a WAV copy of the call's recording with card numbers muted; returns how many spans were muted."""
    from ingest import decode_audio
    from ingest.encode import write_audio

    with engine.connect() as conn:
        recording = conn.execute(
            select(Recording.id, Recording.path)
            .join(Call, Call.id == Recording.call_id)
            .where(Call.uniqueid == uniqueid, Recording.status == "accepted")
        ).first()
        if recording is None:
            raise LookupError(f"call {uniqueid} has no accepted recording")
        utterances = []
        for utterance_id, text in conn.execute(
            select(Utterance.id, Utterance.normalized_text).where(Utterance.recording_id == recording.id)
        ):
            words = conn.execute(
                select(Word.start, Word.end, Word.word)
                .where(Word.utterance_id == utterance_id)
                .order_by(Word.idx)
            ).all()
            utterances.append((text or "", [tuple(w) for w in words]))
    audio = decode_audio(recording.path, split_channels=True)
    spans = muted_spans(utterances)
    for start, end in spans:
        audio[:, int(start * 16000) : int(end * 16000)] = 0.0
    write_audio(Path(out), audio.astype(np.float32), 16000, "pcm")
    return len(spans)
