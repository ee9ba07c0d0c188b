"""Several recordings of one call: tell a copy from a different file, and choose the copy to transcribe.

Some PBXs keep a stereo WAV and a mono MP3 or GSM copy of every call. Copies are alternatives of one
another, not conflicts: the best one is the call's recording, the others stay listed.

The order of copies, best first (`copy_rank`):
1. stereo (two or more channels) over mono: each party on its own channel needs no diarization;
2. a higher sample rate over a lower one;
3. lossless (PCM, FLAC) over G.711 (μ-law, A-law: companded, but the telephone's own signal) over
   lossy codecs (MP3, GSM, Opus, AAC, …);
4. a longer decoded duration (a copy cut short by a fraction of a second loses speech);
5. otherwise the one registered first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.audio import decode_audio
from ingest.errors import IngestError
from ingest.filenames import parse_recording_name

logger = logging.getLogger("callqa.ingest")

_LOSSLESS = frozenset({"pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8", "pcm_s16be", "flac"})
_G711 = frozenset({"pcm_mulaw", "pcm_alaw"})


@dataclass
class RecordingCopy:
    """What decides between copies of one call: the file's format and content length."""

    path: str
    channels: int | None = None
    sample_rate: int | None = None
    codec: str | None = None
    decoded_duration: float | None = None
    # Loudness per frame of the mono mix (`content_envelope`): what the file says, whatever its format.
    envelope: np.ndarray | None = None


@dataclass
class CopyOptions:
    """How far two files of one call may differ in length and still be copies of each other."""

    duration_tolerance_seconds: float = 1.0
    duration_tolerance_ratio: float = 0.02
    # Copies' loudness envelopes correlate closely; another conversation of the same length does not.
    min_content_similarity: float = 0.6
    # Copies may start a little apart (one recorder joined later): envelopes are compared up to this shift.
    max_shift_seconds: float = 0.5


_ENVELOPE_RATE = 8000
_FRAME_SECONDS = 0.05


def content_envelope(path: str | Path, raw_sample_rate: int | None = None) -> np.ndarray | None:
    """RMS of the mono mix per 50 ms frame; None when the file cannot be decoded."""
    try:
        audio = decode_audio(path, _ENVELOPE_RATE, raw_sample_rate=raw_sample_rate)
    except (IngestError, OSError, ValueError) as e:
        logger.warning("cannot compare %s with another copy: %s", path, e)
        return None
    frame = int(_ENVELOPE_RATE * _FRAME_SECONDS)
    frames = len(audio) // frame
    if frames == 0:
        return np.zeros(0, dtype=np.float32)
    blocks = audio[: frames * frame].reshape(frames, frame)
    return np.sqrt(np.mean(blocks.astype(np.float64) ** 2, axis=1)).astype(np.float32)


def content_similarity(a: np.ndarray, b: np.ndarray, max_shift_frames: int = 10) -> float | None:
    """Best Pearson correlation of two envelopes over small shifts (1.0: the same conversation); None
    when they are too short or too flat to compare."""
    best: float | None = None
    for shift in range(-max_shift_frames, max_shift_frames + 1):
        x, y = (a[shift:], b) if shift >= 0 else (a, b[-shift:])
        n = min(len(x), len(y))
        if n < 20:
            continue
        x, y = x[:n].astype(np.float64), y[:n].astype(np.float64)
        if x.std() == 0 or y.std() == 0:
            continue
        value = float(np.corrcoef(x, y)[0, 1])
        best = value if best is None else max(best, value)
    return best


def codec_fidelity(codec: str | None) -> int:
    """2 lossless, 1 G.711, 0 lossy or unknown."""
    name = (codec or "").lower()
    if name in _LOSSLESS or (name.startswith("pcm_") and name not in _G711):
        return 2
    return 1 if name in _G711 else 0


def copy_rank(copy: RecordingCopy) -> tuple:
    """A sort key: greater is better (see the module's order)."""
    return (
        (copy.channels or 1) >= 2,
        copy.sample_rate or 0,
        codec_fidelity(copy.codec),
        round(copy.decoded_duration or 0.0, 1),
    )


def best_copy(copies: list[RecordingCopy]) -> int:
    """Index of the copy to transcribe; ties go to the earliest in the list (the one registered first)."""
    if not copies:
        raise ValueError("best_copy needs at least one recording")
    best = 0
    for index, copy in enumerate(copies[1:], start=1):
        if copy_rank(copy) > copy_rank(copies[best]):
            best = index
    return best


def _parties(path: str) -> tuple[str, str] | None:
    name = parse_recording_name(Path(path))
    if name is None or not (name.src or name.dst):
        return None
    return name.src, name.dst


def difference(a: RecordingCopy, b: RecordingCopy, options: CopyOptions | None = None) -> str | None:
    """None when `a` and `b` are copies of one call, else what tells them apart (in plain words).

    Copies have the same length within a tolerance, the same parties where both file names say who
    spoke, and the same conversation where both envelopes are known (loudness over time correlates
    closely). A file of unknown length cannot be shown to be a copy.
    """
    options = options or CopyOptions()
    if a.decoded_duration is None or b.decoded_duration is None:
        return "the length of one file is unknown"
    longer = max(a.decoded_duration, b.decoded_duration)
    tolerance = max(options.duration_tolerance_seconds, options.duration_tolerance_ratio * longer)
    if abs(a.decoded_duration - b.decoded_duration) > tolerance:
        return f"{a.decoded_duration:.1f} s against {b.decoded_duration:.1f} s"
    parties_a, parties_b = _parties(a.path), _parties(b.path)
    if parties_a and parties_b and parties_a != parties_b:
        return f"parties {'/'.join(parties_a)} against {'/'.join(parties_b)}"
    if a.envelope is not None and b.envelope is not None:
        shift = round(options.max_shift_seconds / _FRAME_SECONDS)
        similarity = content_similarity(a.envelope, b.envelope, shift)
        if similarity is not None and similarity < options.min_content_similarity:
            return f"another conversation: loudness over time correlates {similarity:.2f}"
    return None
