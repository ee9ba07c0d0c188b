"""Per-channel audio quality of a call recording: levels, activity, clipping, one-way audio, quiet at the end.

The speech layer reads `identical_channels` to treat a fake-stereo file as mono; quality
controllers see one-way audio and clipping as PBX faults rather than operator faults. Each channel's
quiet at the end (`quiet_at_end`) tells a recording cut off in the middle of speech: nobody hangs up
within a fraction of a second of their last word (the call rules' `cut_off_seconds` decide).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.audio import decode_audio

ANALYSIS_RATE = 16000
_FRAME = 320  # 20 ms at 16 kHz
FRAME_SECONDS = _FRAME / ANALYSIS_RATE


@dataclass
class QualityOptions:
    """Thresholds for the quality flags."""

    identical_correlation: float = 0.99
    activity_margin_db: float = 15.0
    activity_floor_dbfs: float = -45.0
    one_way_max_activity: float = 0.02
    one_way_min_other_activity: float = 0.10
    clipping_level: float = 0.999
    clipping_max_share: float = 0.001
    low_level_dbfs: float = -40.0


@dataclass
class ChannelQuality:
    """Levels and activity of one channel."""

    channel: int
    rms_dbfs: float
    peak_dbfs: float
    active_share: float
    clipped_share: float
    quiet_at_end: float | None = None  # seconds from its last active frame to the end (None: never active)


@dataclass
class AudioQuality:
    """The quality profile of a recording; `flags` names every problem found."""

    duration: float
    channels: list[ChannelQuality] = field(default_factory=list)
    channel_correlation: float | None = None
    identical_channels: bool = False
    flags: list[str] = field(default_factory=list)


def _dbfs(value: float) -> float:
    return float(20 * np.log10(value)) if value > 1e-10 else -200.0


def active_frames(signal: np.ndarray, margin_db: float = 15.0, floor_dbfs: float = -45.0) -> np.ndarray:
    """Per 20 ms frame (`FRAME_SECONDS`) of a 16 kHz channel: whether it is louder than the line's noise.

    The noise floor is the channel's 10th-percentile frame level (calls are mostly speech and pauses,
    so a tenth of the frames is line noise); a frame is active `margin_db` over it and over `floor_dbfs`.
    """
    frames = signal[: len(signal) // _FRAME * _FRAME].reshape(-1, _FRAME)
    if not len(frames):
        return np.zeros(0, dtype=bool)
    # Each frame's energy without a squared copy of the whole signal (an hour of audio is 57.6 M samples).
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / _FRAME
    frame_db = 10 * np.log10(power + 1e-12)
    noise_floor = float(np.percentile(frame_db, 10))
    return frame_db > max(noise_floor + margin_db, floor_dbfs)


def _channel_quality(index: int, signal: np.ndarray, options: QualityOptions) -> ChannelQuality:
    activity = active_frames(signal, options.activity_margin_db, options.activity_floor_dbfs)
    active, quiet_at_end = 0.0, None
    if len(activity):
        loud = np.flatnonzero(activity)
        active = len(loud) / len(activity)
        if len(loud):
            quiet_at_end = round((len(signal) - (loud[-1] + 1) * _FRAME) / ANALYSIS_RATE, 3)
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    rms = float(np.sqrt(np.mean(signal**2))) if signal.size else 0.0
    clipped = float(np.mean(np.abs(signal) >= options.clipping_level)) if signal.size else 0.0
    return ChannelQuality(index, _dbfs(rms), _dbfs(peak), active, clipped, quiet_at_end)


def analyse_quality(audio: np.ndarray, options: QualityOptions | None = None) -> AudioQuality:
    """Profile decoded audio of shape (channels, samples) at 16 kHz."""
    options = options or QualityOptions()
    audio = np.atleast_2d(audio)
    result = AudioQuality(duration=audio.shape[1] / ANALYSIS_RATE)
    result.channels = [_channel_quality(i, channel, options) for i, channel in enumerate(audio)]
    if audio.shape[0] == 2 and audio.shape[1] > 0:
        left, right = audio
        if np.std(left) > 0 and np.std(right) > 0:
            result.channel_correlation = float(np.corrcoef(left, right)[0, 1])
        else:
            result.channel_correlation = 1.0 if np.array_equal(left, right) else 0.0
        result.identical_channels = result.channel_correlation > options.identical_correlation
        if result.identical_channels:
            result.flags.append("identical_channels")
        else:
            shares = [c.active_share for c in result.channels]
            if (
                min(shares) < options.one_way_max_activity
                and max(shares) > options.one_way_min_other_activity
            ):
                result.flags.append("one_way_audio")
    if any(c.clipped_share > options.clipping_max_share for c in result.channels):
        result.flags.append("clipping")
    if all(c.rms_dbfs < options.low_level_dbfs for c in result.channels):
        result.flags.append("low_level")
    return result


def recording_quality(path: Path | str, options: QualityOptions | None = None) -> AudioQuality:
    """Decode a recording per channel at 16 kHz and profile it."""
    return analyse_quality(decode_audio(path, ANALYSIS_RATE, split_channels=True), options)
