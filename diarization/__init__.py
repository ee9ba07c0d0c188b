"""Who spoke when: stereo channel maps, built-in embedding clustering, optional pyannote.audio; roles."""

from __future__ import annotations

import numpy as np

from diarization.assign import SpeakerWord, assign_words
from diarization.metrics import ConversationMetrics, MetricOptions, conversation_metrics
from diarization.roles import RoleAssignment, from_channel_map, from_speech, from_voiceprints
from diarization.types import (
    Diarization,
    DiarizationOptions,
    DiarizationSummary,
    SpeakerTurn,
    TranscribeResult,
)


def diarize(audio: np.ndarray, options: DiarizationOptions | None = None) -> Diarization:
    """Who spoke when in a mono 16 kHz signal, by the configured backend."""
    options = options or DiarizationOptions()
    if options.backend == "builtin":
        from diarization.builtin import diarize_builtin

        return diarize_builtin(audio, options)
    if options.backend == "pyannote":
        from diarization.pyannote_backend import diarize_pyannote

        return diarize_pyannote(audio, options)
    raise ValueError(f"unknown diarization backend {options.backend!r}: use 'builtin' or 'pyannote'")


def enrol_voiceprint(audio: np.ndarray, device: str = "cpu") -> list[float]:
    """An operator's voiceprint from a clip of them speaking (speech found by VAD, at least 1.5 s)."""
    from diarization.builtin import speech_spans
    from diarization.embeddings import voiceprint

    spans = speech_spans(audio, DiarizationOptions())
    return [round(float(x), 6) for x in voiceprint(audio, spans or None, device)]


__all__ = [
    "ConversationMetrics",
    "Diarization",
    "DiarizationOptions",
    "DiarizationSummary",
    "MetricOptions",
    "RoleAssignment",
    "SpeakerTurn",
    "SpeakerWord",
    "TranscribeResult",
    "assign_words",
    "conversation_metrics",
    "diarize",
    "enrol_voiceprint",
    "from_channel_map",
    "from_speech",
    "from_voiceprints",
]
