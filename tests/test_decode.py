"""Decoding every PBX format, mono and stereo, 8 and 16 kHz, plus the real files in ../shared/data."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from ingest import decode_audio, examine_recording, identify, inspect_audio
from simulator.loadgen import CODECS, speechlike, write_audio

LOSSLESS = {"pcm", "flac"}
# Lossy codecs add encoder delay and frame padding (AAC: 1024 samples of priming).
LENGTH_TOLERANCE = {"aac": 0.3, "mp3": 0.2, "opus": 0.1}


def _tone_pair(seconds: float, rate: int) -> np.ndarray:
    """Left: a 440 Hz tone; right: speech-like noise; so channels are told apart after decoding."""
    t = np.arange(int(seconds * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    return np.stack([left, speechlike(seconds, rate, seed=3)])


# GSM 06.10 is 8 kHz mono by definition; every other codec in both rates and layouts.
FORMATS = [
    (codec, rate, channels)
    for codec in sorted(CODECS)
    for rate in (8000, 16000)
    for channels in (1, 2)
    if codec != "gsm" or (rate, channels) == (8000, 1)
]


@pytest.mark.parametrize(("codec", "rate", "channels"), FORMATS)
def test_every_codec_decodes_to_16k_float(tmp_path, codec, rate, channels):
    if codec == "gsm" and shutil.which("sox") is None:
        pytest.fail("sox is needed to write GSM fixtures (apt-get install sox)")
    audio = _tone_pair(3.0, rate)[:channels]
    path = tmp_path / f"call{CODECS[codec][2]}"
    write_audio(path, audio, rate, codec)

    mono = decode_audio(path)
    assert mono.dtype == np.float32 and mono.ndim == 1
    tolerance = LENGTH_TOLERANCE.get(codec, 0.05)
    assert abs(len(mono) / 16000 - 3.0) < tolerance, "decoded length must match the written length"
    assert 0.05 < np.sqrt(np.mean(mono**2)) < 1.0

    split = decode_audio(path, split_channels=True)
    assert split.shape[0] == channels
    if channels == 2:
        # The tone channel's energy sits at 440 Hz; the noise channel's does not.
        spectrum = [np.abs(np.fft.rfft(ch[:16000])) for ch in split]
        peak_bins = [int(np.argmax(s)) for s in spectrum]
        assert abs(peak_bins[0] - 440) <= 3
        assert abs(peak_bins[1] - 440) > 3

    info = inspect_audio(path)
    assert info.channels == channels
    assert abs(info.decoded_duration - 3.0) < tolerance
    if codec in LOSSLESS:
        assert abs(info.peak_dbfs - 20 * np.log10(np.max(np.abs(audio)))) < 0.5


def test_raw_alaw_matches_its_wav_twin(shared_data):
    raw = decode_audio(shared_data / "decode_ru" / "sample_3.al")
    wav = decode_audio(shared_data / "decode_ru" / "sample_3.wav")
    assert abs(len(raw) - len(wav)) < 160
    n = min(len(raw), len(wav))
    correlation = np.corrcoef(raw[:n], wav[:n])[0, 1]
    assert correlation > 0.95, "the headerless A-law file must decode to the same speech as its WAV"


@pytest.mark.parametrize(
    "relative",
    [
        "asr/jfk.flac",
        "asr/OSR_us_000_0034_8k.wav",
        "asr/test_sound_ru.wav",
        "asr/hotwords.mp3",
        "asr/multilingual.mp3",
        "decode_ru/privet_oleg.aac",
        "decode_ru/sample_1.mp3",
        "decode_ru/stierlitz.wav",
        "decode_ru/negative_sample.s16",
        "diarization/stereo_diarization.wav",
        "speakers/katiesteve.wav",
    ],
)
def test_real_recordings_are_accepted(shared_data, relative):
    facts = examine_recording(identify(shared_data / relative))
    assert facts.rejection is None, facts.rejection
    assert facts.audio.decoded_duration > 1.0
    assert len(facts.identity.sha256) == 64


def test_stereo_file_keeps_its_channels_apart(shared_data):
    audio = decode_audio(shared_data / "diarization" / "stereo_diarization.wav", split_channels=True)
    assert audio.shape[0] == 2
    assert abs(np.corrcoef(audio[0], audio[1])[0, 1]) < 0.5
