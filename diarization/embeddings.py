"""Speaker embeddings (Resemblyzer): sliding windows over speech, or one voiceprint per clip."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_SECONDS = 0.01  # mel hop: 10 ms
TARGET_DBFS = -30.0  # the level the encoder was trained on
MEL_CHUNK_FRAMES = 6000  # one minute of frames per STFT

_ENCODERS: dict = {}


@dataclass
class WindowEmbeddings:
    """Embeddings of fixed windows: `starts`/`ends` in seconds, `vectors` L2-normalised rows, and the index
    of the speech span each window was made for (`stretches`; a short span's window reaches outside it)."""

    starts: np.ndarray
    ends: np.ndarray
    vectors: np.ndarray
    stretches: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


def _resemblyzer():
    with warnings.catch_warnings():
        # resemblyzer imports webrtcvad, which imports pkg_resources (setuptools<81), and a deprecated
        # scipy path; both only warn.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import resemblyzer
        import resemblyzer.audio

    return resemblyzer


def _encoder(device: str = "cpu"):
    """The Resemblyzer VoiceEncoder, loaded once per process from the wheel's verified weights."""
    if device not in _ENCODERS:
        from models import resemblyzer_weights

        weights = resemblyzer_weights()
        _ENCODERS[device] = _resemblyzer().VoiceEncoder(device=device, verbose=False, weights_fpath=weights)
    return _ENCODERS[device]


def _gain(audio: np.ndarray) -> float:
    """The factor that brings the signal's RMS to TARGET_DBFS (1 for silence)."""
    rms = float(np.sqrt(np.dot(audio, audio) / audio.size)) if audio.size else 0.0
    return 1.0 if rms <= 1e-6 else float(10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20))


def mel_frames(audio: np.ndarray) -> np.ndarray:
    """40-band mel frames (10 ms hop) of the whole signal, as the encoder expects them (frames × 40)."""
    if len(audio) < SAMPLE_RATE // 10:
        return np.zeros((0, 40), dtype=np.float32)
    to_mel = _resemblyzer().audio.wav_to_mel_spectrogram
    gain = _gain(audio)
    hop = round(SAMPLE_RATE * FRAME_SECONDS)
    chunk = MEL_CHUNK_FRAMES * hop  # the STFT of an hour at once would take ~600 MiB
    parts = [to_mel(audio[i : i + chunk] * gain)[:MEL_CHUNK_FRAMES] for i in range(0, len(audio), chunk)]
    return np.concatenate(parts)


def _embed(mels: np.ndarray, starts: list[int], width: int, device: str, batch: int = 256) -> np.ndarray:
    """Embeddings of the windows mels[s : s + width], a batch at a time (never all windows in memory)."""
    import torch

    encoder = _encoder(device)
    out = []
    with torch.inference_mode():
        for i in range(0, len(starts), batch):
            windows = np.stack([mels[s : s + width] for s in starts[i : i + batch]])
            out.append(encoder(torch.from_numpy(windows).to(encoder.device)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 256), dtype=np.float32)


def window_embeddings(
    audio: np.ndarray,
    spans: list[tuple[float, float]],
    window: float = 1.5,
    step: float = 0.75,
    device: str = "cpu",
) -> WindowEmbeddings:
    """Embed windows of `window` seconds every `step` seconds inside speech spans.

    A span shorter than a window gets one window centred on it (padded with its surroundings), so no
    speech is left without an embedding.
    """
    mels = mel_frames(audio)
    total = len(mels)
    width = round(window / FRAME_SECONDS)
    hop = round(step / FRAME_SECONDS)
    starts: list[int] = []
    stretches: list[int] = []
    for index, (start_s, end_s) in enumerate(spans):
        first, last = int(start_s / FRAME_SECONDS), int(end_s / FRAME_SECONDS)
        made = len(starts)
        if last - first <= width:
            centre = (first + last) // 2
            starts.append(min(max(0, centre - width // 2), max(0, total - width)))
        else:
            starts.extend(range(first, last - width + 1, hop))
            if (last - width - first) % hop:
                starts.append(last - width)  # cover the span's tail as well
        stretches += [index] * (len(starts) - made)
    if total < width or not starts:
        empty = np.zeros(0)
        return WindowEmbeddings(empty, empty, np.zeros((0, 256), dtype=np.float32), empty.astype(int))
    vectors = _embed(mels, starts, width, device)
    begin = np.array(starts) * FRAME_SECONDS
    return WindowEmbeddings(begin, begin + window, vectors, np.array(stretches))


def voiceprint(
    audio: np.ndarray, spans: list[tuple[float, float]] | None = None, device: str = "cpu"
) -> np.ndarray:
    """One L2-normalised embedding of a speaker from a clip (mean of its speech windows)."""
    if spans is None:
        spans = [(0.0, len(audio) / SAMPLE_RATE)]
    windows = window_embeddings(audio, spans, device=device)
    if not len(windows):
        raise ValueError("the clip has too little speech for a voiceprint (need at least 1.5 s)")
    mean = windows.vectors.mean(axis=0)
    return mean / np.linalg.norm(mean)
