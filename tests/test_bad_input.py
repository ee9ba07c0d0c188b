"""Broken recordings end as rejections with a reason a person understands, never as crashes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import ValidationOptions, check_against_call_record, examine_recording, identify
from simulator.loadgen import speechlike, write_audio


def _examine(path, **options):
    return examine_recording(identify(path), ValidationOptions(**options) if options else None)


def _call_wav(path, seconds=6.0, rate=8000):
    write_audio(path, speechlike(seconds, rate, seed=5)[None, :], rate, "pcm")
    return path


def _header_length(raw: bytes) -> int:
    return raw.index(b"data") + 8


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    facts = _examine(path)
    assert facts.rejection.code == "empty"


def test_header_only_wav(tmp_path):
    full = _call_wav(tmp_path / "full.wav")
    header_only = tmp_path / "header.wav"
    raw = full.read_bytes()
    header_only.write_bytes(raw[: _header_length(raw)])
    facts = _examine(header_only)
    assert facts.rejection.code == "truncated"
    assert "header says 6.0 s" in facts.rejection.message


def test_truncated_wav_is_detected_from_its_header(tmp_path):
    full = _call_wav(tmp_path / "full.wav", seconds=10)
    cut = tmp_path / "cut.wav"
    raw = full.read_bytes()
    cut.write_bytes(raw[: _header_length(raw) + 8000 * 2 * 4])  # 4 of 10 seconds
    facts = _examine(cut)
    assert facts.rejection.code == "truncated"
    assert "decoded 4.0 s" in facts.rejection.message


def test_truncated_mp3_is_caught_by_the_call_record(tmp_path):
    full = tmp_path / "full.mp3"
    write_audio(full, speechlike(20, 8000, seed=2)[None, :], 8000, "mp3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 4])
    facts = _examine(cut)
    # MP3 has no reliable length in its header, so the file alone may pass ...
    if facts.rejection is None:
        # ... and the call record's talk time exposes it.
        mismatch = check_against_call_record(facts.audio.decoded_duration, billsec=20)
        assert mismatch is not None and mismatch.code == "duration_mismatch"
    else:
        assert facts.rejection.code in {"truncated", "corrupt"}


def test_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is a text file, not a recording\n" * 20)
    facts = _examine(path)
    assert facts.rejection.code == "not_audio"
    assert "notes.wav" in facts.rejection.message


def test_all_silence(tmp_path):
    path = tmp_path / "silence.wav"
    write_audio(path, np.zeros((1, 8000 * 5), dtype=np.float32), 8000, "pcm")
    facts = _examine(path)
    assert facts.rejection.code == "silent"


def test_longer_than_the_configured_maximum(tmp_path):
    path = _call_wav(tmp_path / "long.wav", seconds=8)
    assert _examine(path).rejection is None
    facts = _examine(path, max_duration_seconds=5)
    assert facts.rejection.code == "too_long"


@pytest.mark.parametrize("billsec, expected", [(60, None), (57, None), (30, "duration_mismatch"), (0, None)])
def test_call_record_length_check(billsec, expected):
    rejection = check_against_call_record(60.0, billsec)
    assert (rejection.code if rejection else None) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(min_size=0, max_size=4096), suffix=st.sampled_from([".wav", ".mp3", ".ogg", ".m4a", ".al"])
)
def test_random_bytes_never_crash(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    facts = _examine(path)  # must not raise
    if facts.rejection is None:
        assert facts.audio.decoded_duration > 0
    else:
        assert facts.rejection.code and facts.rejection.message


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=99))
def test_any_truncation_of_a_real_file_is_handled(tmp_path, shared_data, cut):
    source = (shared_data / "asr" / "OSR_us_000_0034_8k.wav").read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(source[: len(source) * cut // 100])
    facts = _examine(path)
    if cut < 95:
        assert facts.rejection is not None
        assert facts.rejection.code in {"empty", "truncated", "not_audio", "no_audio", "corrupt"}
