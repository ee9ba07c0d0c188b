"""Audio encoding, beside decoding: WAV/μ-law/A-law/GSM, MP3, Opus, FLAC and AAC from float32 arrays.

Used for redacted copies of calls and by the simulator and load generator.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import numpy as np

# codec name -> (container format, PyAV codec, file extension)
CODECS = {
    "pcm": ("wav", "pcm_s16le", ".wav"),
    "ulaw": ("wav", "pcm_mulaw", ".wav"),
    "alaw": ("wav", "pcm_alaw", ".wav"),
    "mp3": ("mp3", "libmp3lame", ".mp3"),
    "opus": ("ogg", "libopus", ".opus"),
    "flac": ("flac", "flac", ".flac"),
    "aac": ("ipod", "aac", ".m4a"),
    "gsm": ("wav", "gsm_ms", ".wav"),  # written with sox: PyAV has no GSM encoder
}


# Telephone-quality bit rates for the compressed codecs (their encoders default to music quality).
BIT_RATES = {"mp3": 24000, "opus": 16000, "aac": 24000}


def write_audio(path: Path, audio: np.ndarray, rate: int, codec: str) -> None:
    """Encode float32 audio of shape (channels, samples) with one of CODECS."""
    audio = np.atleast_2d(audio)
    if codec == "gsm":
        _write_gsm_with_sox(path, audio, rate)
        return
    container_format, codec_name, _ = CODECS[codec]
    layout = "stereo" if audio.shape[0] == 2 else "mono"
    out_rate = 48000 if codec == "opus" else rate
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec_name, rate=out_rate, layout=layout)
        if codec in BIT_RATES:
            stream.bit_rate = BIT_RATES[codec] * audio.shape[0]
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=out_rate)
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.T.reshape(1, -1).copy(), format="s16", layout=layout)
        frame.sample_rate = rate
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _write_gsm_with_sox(path: Path, audio: np.ndarray, rate: int) -> None:
    sox = shutil.which("sox")
    if sox is None:
        raise RuntimeError("writing GSM needs sox (apt-get install sox)")
    temporary = path.with_suffix(".pcm.wav")
    write_audio(temporary, audio[:1], rate, "pcm")
    subprocess.run(
        [sox, "-q", str(temporary), "-r", "8000", "-c", "1", "-e", "gsm-full-rate", str(path)], check=True
    )
    temporary.unlink()


def write_muted_copy(recording: str | Path, spans: list[tuple[float, float]], out: Path) -> None:
    """Decode `recording`, silence `spans` (seconds) on every channel, write a 16 kHz PCM WAV to `out`."""
    from ingest.audio import decode_audio

    rate = 16000
    audio = decode_audio(recording, split_channels=True)
    for start, end in spans:
        audio[:, int(start * rate) : int(end * rate)] = 0.0
    out.parent.mkdir(parents=True, exist_ok=True)
    write_audio(Path(out), audio.astype(np.float32), rate, "pcm")
