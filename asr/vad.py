"""Silero VAD (shipped with faster-whisper) over long audio in bounded memory."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
CHUNK_SECONDS = 120  # faster-whisper's VAD batches every 32 ms frame of its input at once


def find_speech(
    audio: np.ndarray,
    threshold: float,
    min_silence_ms: int,
    speech_pad_ms: int,
    max_speech_seconds: float = float("inf"),
) -> list[tuple[float, float]]:
    """Speech spans (seconds) of a mono 16 kHz signal, two minutes at a time.

    Spans that meet at a chunk boundary are joined, so chunking changes no result but the memory:
    the whole-signal call copies the audio about twice (an hour: ~450 MiB more).
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(
        threshold=threshold,
        min_silence_duration_ms=min_silence_ms,
        speech_pad_ms=speech_pad_ms,
        max_speech_duration_s=max_speech_seconds,
    )
    chunk = CHUNK_SECONDS * SAMPLE_RATE
    spans: list[tuple[float, float]] = []
    for offset in range(0, len(audio), chunk):
        for s in get_speech_timestamps(audio[offset : offset + chunk], vad):
            start, end = (offset + s["start"]) / SAMPLE_RATE, (offset + s["end"]) / SAMPLE_RATE
            boundary = offset / SAMPLE_RATE
            meets = bool(spans) and abs(spans[-1][1] - boundary) < 0.05 and abs(start - boundary) < 0.05
            if meets and offset and end - spans[-1][0] <= max_speech_seconds:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans
