"""Diarization options and results, and the transcription stage's result (dataclasses, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field

from asr import NumberReading, Utterance
from diarization.metrics import ConversationMetrics


@dataclass
class DiarizationOptions:
    """How mono calls are split into speakers.

    `speakers = 2` suits calls (operator and customer); `0` counts speakers automatically, up to
    `max_speakers`. Two clusters whose voices are more alike than `same_voice_similarity` are one speaker
    (a monologue, a voicemail).
    """

    backend: str = "builtin"  # "builtin" or "pyannote"
    speakers: int = 2
    max_speakers: int = 6
    window_seconds: float = 1.5
    step_seconds: float = 0.5
    vad_threshold: float = 0.2  # 8 kHz telephone speech and far-field meetings score low
    min_silence_ms: int = 400
    speech_pad_ms: int = 200
    affinity_keep: float = 0.4  # share of nearest windows each window keeps in the affinity graph
    # One real voice split in two measured 0.85-0.94, two real voices 0.64, but two synthetic voices from one
    # Festival voice 0.93-0.94: calls are two-party, so only near-identical halves are merged.
    same_voice_similarity: float = 0.95
    min_turn_seconds: float = 0.4
    # A change of speaker inside one stretch of speech (no pause) costs this much cosine similarity: window
    # labels that flicker for a second between alike voices are smoothed away (0: off). 0.1-0.2 lowered
    # speaker confusion on AMI meetings and on both simulated sites' mono mixes (BENCHMARKS.md).
    switch_penalty: float = 0.15
    voiceprint_similarity: float = 0.5  # an enrolled voiceprint this close, and by this margin over the
    voiceprint_margin: float = 0.03  # other speaker, names the operator
    device: str = "cpu"
    pyannote_pipeline: str = ""  # a local pipeline directory or a hub name
    pyannote_token: str = ""


@dataclass
class SpeakerTurn:
    """One speaker talking from `start` to `end` (seconds)."""

    speaker: str
    start: float
    end: float


@dataclass
class Diarization:
    """Who spoke when. `centroids` are the speakers' mean voice embeddings (for voiceprint matching)."""

    turns: list[SpeakerTurn] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    centroids: dict[str, list[float]] = field(default_factory=dict)
    backend: str = "builtin"

    def overlaps(self) -> list[tuple[float, float]]:
        """Spans where two different speakers' turns overlap (overlapping speech)."""
        spans = []
        ordered = sorted(self.turns, key=lambda t: t.start)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                if b.start >= a.end:
                    break
                if b.speaker != a.speaker:
                    spans.append((b.start, min(a.end, b.end)))
        return spans


@dataclass
class DiarizationSummary:
    """How a mono call was split into speakers: the backend and the seconds two speakers overlapped."""

    backend: str
    overlap_seconds: float


@dataclass
class TranscribeResult:
    """A transcribed call with who said what: utterances with speakers and roles, and call-level figures.

    `layout` is "stereo" (one party per channel) or "mono" (split by diarization, then `diarization` says
    how). The store keeps the utterances in their own table and the rest as the stage's result.
    """

    utterances: list[Utterance]
    language: str
    language_probability: float
    confidence: float
    low_confidence: bool
    model: str
    duration: float
    flags: list[str] = field(default_factory=list)
    layout: str = "mono"
    speakers: int = 0
    roles_from: str = "none"
    roles_confidence: float = 0.0
    metrics: ConversationMetrics | None = None
    diarization: DiarizationSummary | None = None
    # Dictated digits read a second time (asr/digits.py): alternatives to the utterances' text there.
    number_readings: list[NumberReading] = field(default_factory=list)
