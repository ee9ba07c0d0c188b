"""Utterance edges where the channel's sound begins and ends, not where Whisper's word times put them.

Whisper's word timestamps end a phrase's last word early (by a syllable's length on 8 kHz lines) and
often start the first word late, so an utterance built from word times leaves the speech at its edges
outside it: the call page's audio moment starts after the first sound, redaction and talk time miss the
edges. Here each utterance's start and end move outward over the channel's active frames that run on
from its words (a short quiet stretch inside, a stop consonant's closure, does not stop it), never past
a neighbouring utterance of the channel and never more than `reach` seconds. Word times stay as decoded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol, TypeVar

import numpy as np


class Timed(Protocol):
    """A dataclass with a start and an end in seconds (an utterance)."""

    start: float
    end: float


Span = TypeVar("Span", bound=Timed)

# A quiet stretch up to this long inside speech (a plosive's closure, a breath) does not end it.
HOLE_SECONDS = 0.1


def _sound_end(active: np.ndarray, frame: float, time: float, limit: float) -> float:
    """Where the sound running on from `time` stops (seconds), looking no further than `limit`."""
    hole = round(HOLE_SECONDS / frame)
    index, last = int(time / frame), time
    quiet = 0
    while index < len(active) and index * frame < limit and quiet <= hole:
        if active[index]:
            last, quiet = (index + 1) * frame, 0
        else:
            quiet += 1
        index += 1
    return min(max(time, last), max(limit, time))


def _sound_start(active: np.ndarray, frame: float, time: float, limit: float) -> float:
    """Where the sound leading into `time` starts (seconds), looking no further back than `limit`."""
    hole = round(HOLE_SECONDS / frame)
    index, first = min(int(time / frame), len(active)) - 1, time
    quiet = 0
    while index >= 0 and (index + 1) * frame > limit and quiet <= hole:
        if active[index]:
            first, quiet = index * frame, 0
        else:
            quiet += 1
        index -= 1
    return max(min(time, first), min(limit, time))


def snap_to_sound(
    utterances: list[Span], active: np.ndarray, frame_seconds: float, reach: float
) -> list[Span]:
    """The utterances of one channel (in time order) with their edges moved out to the channel's sound.

    `active` holds one flag per frame of `frame_seconds` (`ingest.quality.active_frames`); `reach` bounds
    how far an edge moves (0: unchanged).
    """
    if reach <= 0 or not len(active):
        return list(utterances)
    ordered = sorted(utterances, key=lambda u: u.start)
    out: list[Span] = []
    for i, utterance in enumerate(ordered):
        following = ordered[i + 1].start if i + 1 < len(ordered) else float("inf")
        previous = out[-1].end if out else 0.0
        end = _sound_end(active, frame_seconds, utterance.end, min(following, utterance.end + reach))
        start = _sound_start(active, frame_seconds, utterance.start, max(previous, utterance.start - reach))
        out.append(replace(utterance, start=round(start, 3), end=round(end, 3)))
    return out
