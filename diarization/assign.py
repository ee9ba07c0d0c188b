"""Words to speakers by their timestamps, with overlapping speech flagged rather than hidden."""

from __future__ import annotations

from dataclasses import dataclass

from diarization.types import SpeakerTurn


@dataclass
class SpeakerWord:
    """Where a word landed: the speaker who talked most during it, and whether another talked too."""

    speaker: str | None
    overlap: bool


def _overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def assign_words(words: list[tuple[float, float]], turns: list[SpeakerTurn]) -> list[SpeakerWord]:
    """Speaker per word (start, end): most overlap wins; with no overlap, the nearest turn's speaker.

    `overlap` is set when turns of two different speakers both cover part of the word and overlap
    each other there (two people talking at once), not merely when a word straddles a change of turn.
    """
    ordered = sorted(turns, key=lambda t: t.start)
    out = []
    for start, end in words:
        shares: dict[str, float] = {}
        covering = [t for t in ordered if _overlap(start, end, t.start, t.end) > 0]
        for turn in covering:
            shares[turn.speaker] = shares.get(turn.speaker, 0.0) + _overlap(start, end, turn.start, turn.end)
        if shares:
            speaker = max(shares, key=shares.__getitem__)
        elif ordered:
            middle = (start + end) / 2
            speaker = min(ordered, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker
        else:
            speaker = None
        overlap = any(
            a.speaker != b.speaker and _overlap(a.start, a.end, b.start, b.end) > 0
            for i, a in enumerate(covering)
            for b in covering[i + 1 :]
        )
        out.append(SpeakerWord(speaker, overlap))
    return out
