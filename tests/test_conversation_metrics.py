"""Conversation metrics: exact figures on hand-built calls, and hold found on a simulated call."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from diarization import MetricOptions, conversation_metrics
from tests.conftest import REPO


def _said(role: str, start: float, end: float) -> SimpleNamespace:
    return SimpleNamespace(role=role, start=start, end=end)


def test_exact_figures_on_a_hand_built_call():
    utterances = [
        _said("operator", 0.0, 4.0),
        _said("customer", 5.0, 12.0),
        _said("operator", 11.0, 14.0),  # starts 1 s before the customer finishes: an interruption
        _said("customer", 30.0, 32.0),  # after 16 s of silence on both sides: a hold
        _said("operator", 32.1, 33.0),
    ]
    metrics = conversation_metrics(utterances, duration=35.0, words=[8, 14, 6, 4, 2])
    assert metrics.talk_time == {"operator": 7.9, "customer": 9.0}
    assert metrics.talk_listen_ratio == pytest.approx(7.9 / 9.0, abs=1e-3)
    assert metrics.overtalk_seconds == pytest.approx(1.0)
    assert metrics.interruptions == {"operator": 1, "customer": 0}
    assert metrics.holds == [(14.0, 30.0)] and metrics.hold_seconds == pytest.approx(16.0)
    assert metrics.longest_silence == pytest.approx(16.0)
    silence = 1.0 + 16.0 + 0.1 + 2.0  # 4-5, 14-30, 32-32.1, 33-35
    assert metrics.silence_share == pytest.approx(silence / 35.0, abs=1e-4)
    assert metrics.words_per_minute == {"operator": pytest.approx(60 * 16 / 7.9, abs=0.1), "customer": 120.0}


def test_hold_threshold_is_configurable():
    utterances = [_said("operator", 0, 2), _said("customer", 9, 10)]
    assert conversation_metrics(utterances, 10).holds == []
    assert conversation_metrics(utterances, 10, options=MetricOptions(hold_min_seconds=5)).holds == [(2, 9)]


def test_silent_call():
    metrics = conversation_metrics([], duration=8.0)
    assert (
        metrics.silence_share == 1.0 and metrics.longest_silence == 8.0 and metrics.talk_listen_ratio is None
    )


@pytest.mark.slow
def test_music_on_hold_is_found_in_a_simulated_call():
    from asr import AsrOptions
    from pipeline.stages import StageInput, StageOptions
    from pipeline.stages.transcribe import transcribe

    truth = json.loads((REPO / "demo" / "ground_truth.json").read_text(encoding="utf-8"))
    call = min((c for c in truth["calls"] if c["hold"]), key=lambda c: c["billsec"])
    options = StageOptions(asr=AsrOptions(cpu_threads=2))
    result = transcribe(StageInput(1, str(REPO / "demo" / call["recording"]), options=options))
    (true_start, true_end), found = call["hold"][0], result.metrics.holds
    assert any(start < true_end and end > true_start and (end - start) > 0.6 * (true_end - true_start)
               for start, end in found), found  # fmt: skip
