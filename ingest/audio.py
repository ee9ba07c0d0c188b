"""Decoding and inspecting call recordings with PyAV (the decoder faster-whisper uses).

`decode_audio` gives 16 kHz float32 for the speech layer; `inspect_audio` streams a file once at
its native rate to measure what validation needs, with memory independent of the file's length.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.errors import IngestError

logger = logging.getLogger("callqa.ingest")

# Headerless telephony formats, known by extension: (ffmpeg demuxer, default sample rate).
RAW_FORMATS: dict[str, tuple[str, int]] = {
    ".al": ("alaw", 8000),
    ".alaw": ("alaw", 8000),
    ".ul": ("mulaw", 8000),
    ".ulaw": ("mulaw", 8000),
    ".mu": ("mulaw", 8000),
    ".sln": ("s16le", 8000),
    ".sln16": ("s16le", 16000),
    ".s16": ("s16le", 16000),
    ".raw": ("s16le", 8000),
    ".pcm": ("s16le", 8000),
}

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".mp3", ".ogg", ".opus", ".oga", ".flac", ".m4a", ".aac", ".mp4", ".gsm", ".wv", ".webm"}
    | set(RAW_FORMATS)
)

_PADDING_SECONDS = 0.05
_INT_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0, np.dtype(np.uint8): 128.0}


@dataclass
class AudioInfo:
    """What one pass over a recording tells: format, lengths and levels."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    decoded_duration: float
    declared_duration: float | None
    peak_dbfs: float
    rms_dbfs: float
    decode_error: str | None = None
    # Where the file is damaged when audio decodes again after an error (a zeroed or overwritten middle).
    damaged: str | None = None


def wav_declared_duration(path: Path) -> float | None:
    """Length the RIFF header promises (data chunk size / average byte rate), read without decoding.

    ffmpeg derives a WAV's duration from the file size, which hides truncation; the header does not.
    None when the file is not RIFF/WAVE or the header holds no usable size (e.g. a writer that died
    before finalising it).
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(12)
            if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                return None
            byte_rate = None
            while chunk := handle.read(8):
                if len(chunk) < 8:
                    return None
                chunk_id, size = chunk[:4], int.from_bytes(chunk[4:], "little")
                if chunk_id == b"fmt ":
                    fmt = handle.read(size + (size & 1))
                    byte_rate = int.from_bytes(fmt[8:12], "little") if len(fmt) >= 12 else None
                elif chunk_id == b"data":
                    if not byte_rate or size in (0, 0xFFFFFFFF):
                        return None
                    return size / byte_rate
                else:
                    handle.seek(size + (size & 1), 1)
    except OSError:
        return None
    return None


def _open(path: Path, raw_sample_rate: int | None = None):
    import av

    raw = RAW_FORMATS.get(path.suffix.lower())
    try:
        if raw is not None:
            fmt, rate = raw
            options = {"sample_rate": str(raw_sample_rate or rate), "ch_layout": "mono"}
            return av.open(str(path), format=fmt, options=options, metadata_errors="ignore")
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise IngestError("not_audio", f"{path.name}: not a readable audio file ({e.strerror or e})") from e


def _to_float(array: np.ndarray) -> np.ndarray:
    scale = _INT_SCALE.get(array.dtype)
    if scale is None:
        return array.astype(np.float32, copy=False)
    if array.dtype == np.uint8:
        return (array.astype(np.float32) - 128.0) / scale
    return array.astype(np.float32) / scale


def _dbfs(value: float) -> float:
    return 20.0 * math.log10(value) if value > 1e-10 else -200.0


def inspect_audio(path: Path, raw_sample_rate: int | None = None) -> AudioInfo:
    """Decode `path` once at its native rate and measure duration, peak and RMS level.

    Raises IngestError for files that are not audio or hold no audio stream. A decode error after
    some audio was read does not raise: it is returned in `decode_error` for validation to judge.
    """
    import av

    with _open(path, raw_sample_rate) as container:
        if not container.streams.audio:
            raise IngestError("not_audio", f"{path.name}: the file holds no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        sample_rate = int(ctx.sample_rate or stream.rate or 0)
        channels = int(ctx.channels or 0)
        declared = wav_declared_duration(path) if container.format.name == "wav" else None
        if declared is None and stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        elif declared is None and container.duration is not None:
            declared = container.duration / 1_000_000
        samples = 0
        peak = 0.0
        energy = 0.0
        values = 0
        decode_error = None
        damaged_at = damaged_byte = None
        resumed_after = 0  # samples decoded after the first error: audio goes on past the damage
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as e:
                    if decode_error is None:
                        damaged_at = samples / max(sample_rate, 1)
                        damaged_byte = packet.pos if packet.pos is not None and packet.pos >= 0 else None
                        decode_error = f"decode error after {damaged_at:.1f} s: {e.strerror or e}"
                    continue
                for frame in frames:
                    array = _to_float(frame.to_ndarray())
                    if array.size == 0:
                        continue
                    samples += frame.samples
                    if decode_error is not None:
                        resumed_after += frame.samples
                    peak = max(peak, float(np.max(np.abs(array))))
                    energy += float(np.dot(array.ravel(), array.ravel()))
                    values += array.size
                    sample_rate = frame.sample_rate or sample_rate
        except av.error.FFmpegError as e:
            # The container itself stops making sense: what was read so far is all there is.
            if decode_error is None:
                damaged_at = samples / max(sample_rate, 1)
                decode_error = f"decode error after {damaged_at:.1f} s: {e.strerror or e}"
        codec = ctx.name or "unknown"
        container_name = container.format.name.split(",")[0] if container.format else "unknown"
    duration = samples / sample_rate if sample_rate else 0.0
    if decode_error and declared and declared - duration < _PADDING_SECONDS:
        # Writers pad the data chunk (sox adds a byte to odd-sized GSM data): an error in the
        # last few milliseconds is that padding, not damage.
        decode_error = None
    rms = math.sqrt(energy / values) if values else 0.0
    # Damage in the middle (audio decodes again after it) is told apart from a file that just ends.
    damaged = None
    if decode_error and sample_rate and resumed_after / sample_rate >= _PADDING_SECONDS:
        where = f" (byte {damaged_byte} of {path.stat().st_size})" if damaged_byte is not None else ""
        damaged = f"undecodable data at {damaged_at:.1f} s{where}, audio resumes after it"
    return AudioInfo(
        container=container_name,
        codec=codec,
        sample_rate=sample_rate,
        channels=channels,
        decoded_duration=duration,
        declared_duration=declared,
        peak_dbfs=_dbfs(peak),
        rms_dbfs=_dbfs(rms),
        decode_error=decode_error,
        damaged=damaged,
    )


def decode_audio(
    path: Path | str,
    sample_rate: int = 16000,
    split_channels: bool = False,
    raw_sample_rate: int | None = None,
) -> np.ndarray:
    """Decode a recording to float32 at `sample_rate`.

    Returns shape (samples,) mixed to mono, or (channels, samples) with `split_channels`
    (one row for a mono file).
    """
    import av

    path = Path(path)
    with _open(path, raw_sample_rate) as container:
        if not container.streams.audio:
            raise IngestError("not_audio", f"{path.name}: the file holds no audio stream")
        stream = container.streams.audio[0]
        channels = int(stream.codec_context.channels or 1) if split_channels else 1
        layout = stream.codec_context.layout.name if channels > 1 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as e:
            if not chunks:
                raise IngestError("corrupt", f"{path.name}: cannot decode ({e.strerror or e})") from e
            # Validation at ingest already judged how much of the file is usable.
            logger.debug("%s: decode stopped early (%s); using the audio read so far", path.name, e)
    audio = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), dtype=np.float32)
    audio = audio.astype(np.float32, copy=False)
    return audio if split_channels else audio.reshape(-1)
