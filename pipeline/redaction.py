"""A redacted copy of a call's audio: card numbers (and their CVV) muted, found through word timestamps.

One code path for the `redact` stage and `callqa redact`: spans from the stored transcript (utterance
texts and their timed words), audio decoded and muted here, never in the store.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from asr.numbers import NUMBER_WORDS
from contracts.pii import find_pii
from store.speech import call_recording, load_transcript

MUTED_KINDS = ("card", "cvv")
PAD_SECONDS = 0.15
SAMPLE_RATE = 16000


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


def transcript_spans(transcript: list[dict]) -> list[tuple[float, float]]:
    """`muted_spans` of a stored transcript (utterance dicts with `words`, as `store.speech` loads them)."""
    return muted_spans(
        [
            (u.get("normalized_text") or "", [(w["start"], w["end"], w["word"]) for w in u.get("words", [])])
            for u in transcript
        ]
    )


def write_redacted(recording: str | Path, spans: list[tuple[float, float]], out: Path) -> None:
    """Decode `recording`, silence `spans` on every channel and write a 16 kHz PCM WAV to `out`."""
    from ingest import decode_audio
    from ingest.encode import write_audio

    audio = decode_audio(recording, split_channels=True)
    for start, end in spans:
        audio[:, int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)] = 0.0
    out.parent.mkdir(parents=True, exist_ok=True)
    write_audio(Path(out), audio.astype(np.float32), SAMPLE_RATE, "pcm")


def redact_call_audio(engine: Engine, uniqueid: str, out: Path) -> int:
    """Write a WAV copy of the call's recording with card numbers muted; returns how many spans were muted."""
    with engine.connect() as conn:
        recording = call_recording(conn, uniqueid)
        if recording is None:
            raise LookupError(f"call {uniqueid} has no accepted recording")
        transcript = load_transcript(conn, recording[0])
    spans = transcript_spans(transcript)
    write_redacted(recording[1], spans, out)
    return len(spans)
