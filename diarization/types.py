"""Diarization options and results (dataclasses that serialise to JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
