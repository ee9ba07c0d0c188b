"""Diarization on real speech: speaker count, DER floor on AMI, voiceprints, words to speakers, roles."""

from __future__ import annotations

import numpy as np
import pytest

from diarization import (
    Diarization,
    DiarizationOptions,
    SpeakerTurn,
    assign_words,
    diarize,
    enrol_voiceprint,
    from_speech,
    from_voiceprints,
)
from ingest import decode_audio

SPEAKERS = "speakers"


@pytest.fixture(scope="module")
def katiesteve(shared_data) -> np.ndarray:
    return decode_audio(shared_data / SPEAKERS / "katiesteve.wav")


@pytest.mark.parametrize("speakers", [2, 0])
def test_a_two_party_conversation_has_two_speakers_taking_turns(katiesteve, speakers):
    result = diarize(katiesteve, DiarizationOptions(speakers=speakers))
    assert result.speakers == ["S0", "S1"], "the speaker count is right whether fixed or counted"
    changes = sum(a.speaker != b.speaker for a, b in zip(result.turns, result.turns[1:], strict=False))
    assert changes >= 4, "they answer each other"
    assert all(0 <= t.start < t.end <= len(katiesteve) / 16000 + 0.01 for t in result.turns)


def test_enrolled_voiceprints_tell_the_two_speakers_apart(katiesteve, shared_data):
    result = diarize(katiesteve)
    options = DiarizationOptions()
    picked = {}
    for name in ("katie", "steve"):
        voice = enrol_voiceprint(decode_audio(shared_data / SPEAKERS / f"enrollment_audio_{name}.wav"))
        roles = from_voiceprints(
            result.centroids, {name: voice}, options.voiceprint_similarity, options.voiceprint_margin
        )
        assert roles is not None and roles.method == "voiceprint"
        picked[name] = next(s for s, role in roles.roles.items() if role == "operator")
    assert picked["katie"] != picked["steve"], "each enrolled voice finds its own speaker"


def test_a_voiceprint_of_nobody_in_the_call_names_no_one(katiesteve):
    result = diarize(katiesteve)
    stranger = np.zeros(256, dtype=np.float32)
    stranger[0] = 1.0
    assert from_voiceprints(result.centroids, {"x": stranger.tolist()}, 0.5, 0.03) is None


@pytest.mark.slow
def test_der_on_the_ami_excerpts_stays_under_its_floor(shared_data):
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    from diarization.pyannote_backend import read_rttm, to_annotation

    ami = shared_data / "diarization" / "ami"
    metric = DiarizationErrorRate(collar=0.25)
    scored = 0
    for listing in ("train", "development"):
        for uri, reference in read_rttm(ami / f"debug.{listing}.rttm").items():
            if not (ami / f"{uri}.wav").exists():
                continue
            hypothesis = diarize(decode_audio(ami / f"{uri}.wav"), DiarizationOptions(speakers=0))
            metric(reference, to_annotation(hypothesis, uri), uem=Timeline([Segment(0, 30)]))
            scored += 1
    assert scored == 11
    # Measured 0.30 (BENCHMARKS.md); 18 % of the reference speech is overlapped, which a one-speaker-
    # at-a-time diarizer cannot get right, so this floor guards against regressions, not the target.
    assert abs(metric) < 0.38


@pytest.mark.parametrize("seconds", [0.0, 0.5, 3.0])
def test_silence_gives_no_speakers(seconds):
    result = diarize(np.zeros(int(seconds * 16000), dtype=np.float32))
    assert result.turns == [] and result.speakers == []


def test_words_go_to_the_speaker_talking_and_overlap_is_flagged():
    turns = [SpeakerTurn("S0", 0.0, 2.0), SpeakerTurn("S1", 1.5, 4.0), SpeakerTurn("S0", 5.0, 6.0)]
    marks = assign_words([(0.2, 0.6), (1.6, 1.9), (2.5, 3.0), (4.2, 4.4), (5.1, 5.5)], turns)
    assert [m.speaker for m in marks] == ["S0", "S0", "S1", "S1", "S0"]
    assert [m.overlap for m in marks] == [False, True, False, False, False]
    assert Diarization(turns=turns).overlaps() == [(1.5, 2.0)]


def test_a_changing_turn_is_not_overlap():
    marks = assign_words([(0.9, 1.3)], [SpeakerTurn("S0", 0.0, 1.0), SpeakerTurn("S1", 1.0, 2.0)])
    assert marks[0].speaker == "S1" and not marks[0].overlap


def test_the_greeting_names_the_operator_even_when_the_customer_speaks_first():
    roles = from_speech(
        [
            ("S1", 0.2, "алло"),
            ("S0", 1.0, "Добрый день, техническая поддержка Контур, Анна, слушаю вас."),
            ("S1", 5.0, "Здравствуйте, у меня отчёт не уходит."),
        ]
    )
    assert roles.roles == {"S0": "operator", "S1": "customer"} and roles.method == "greeting"
    assert roles.confidence >= 0.6


def test_one_voice_is_not_confidently_an_operator():
    roles = from_speech([("S0", 0.0, "Добрый день, слушаю вас.")])
    assert roles.confidence < 0.5


def test_pyannote_output_converts_through_pyannote_core_keeping_overlaps():
    from pyannote.core import Annotation, Segment

    from diarization.pyannote_backend import from_annotation

    annotation = Annotation()
    annotation[Segment(0.0, 2.0)] = "SPEAKER_01"
    annotation[Segment(1.5, 3.0)] = "SPEAKER_00"
    result = from_annotation(annotation)
    assert result.backend == "pyannote" and result.speakers == ["S0", "S1"]
    assert [(t.speaker, t.start, t.end) for t in result.turns] == [("S1", 0.0, 2.0), ("S0", 1.5, 3.0)]
    assert result.overlaps() == [(1.5, 2.0)]


def test_the_pyannote_backend_says_what_is_missing():
    from diarization.pyannote_backend import PyannoteUnavailable

    with pytest.raises(PyannoteUnavailable, match="pyannote_pipeline"):
        diarize(np.zeros(16000, dtype=np.float32), DiarizationOptions(backend="pyannote"))
    with pytest.raises(ValueError, match="unknown diarization backend"):
        diarize(np.zeros(16000, dtype=np.float32), DiarizationOptions(backend="nemo"))


def _voices(similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Two unit voice embeddings as alike as `similarity` (synthetic voices of one speaker model are)."""
    a, b = np.zeros(256), np.zeros(256)
    a[0] = 1.0
    b[0], b[1] = similarity, np.sqrt(1 - similarity**2)
    return a, b


def test_a_second_of_flicker_inside_a_stretch_of_speech_stays_with_its_speaker():
    from diarization.builtin import smooth_labels
    from diarization.embeddings import WindowEmbeddings

    a, b = _voices(0.93)
    leaning_b = (0.4 * a + 0.6 * b) / np.linalg.norm(0.4 * a + 0.6 * b)
    # One stretch (0-8 s): the operator, two windows that lean to the caller's voice, the operator again,
    # then the caller answers straight away (6 windows, no pause); after a pause (10-13 s) the caller again.
    vectors = [a] * 5 + [leaning_b] * 2 + [a] * 5 + [b] * 6 + [b] * 5
    truth = [0] * 12 + [1] * 11
    starts = np.array([0.5 * i for i in range(18)] + [10.0 + 0.5 * i for i in range(5)])
    stretches = np.array([0] * 18 + [1] * 5)  # the speech span each window belongs to
    windows = WindowEmbeddings(starts, starts + 1.5, np.array(vectors, dtype=np.float32), stretches)
    flickering = np.array([0] * 5 + [1] * 2 + [0] * 5 + [1] * 11)

    assert smooth_labels(windows, flickering, 0.0).tolist() == flickering.tolist(), "0 turns it off"
    smoothed = smooth_labels(windows, flickering, DiarizationOptions().switch_penalty)
    assert smoothed.tolist() == truth, "the flicker goes; a real answer without a pause stays"


def test_a_change_of_speaker_across_a_pause_is_free():
    from diarization.builtin import smooth_labels
    from diarization.embeddings import WindowEmbeddings

    a, b = _voices(0.93)
    # A short reply alone between two pauses: one window of the caller between the operator's stretches.
    vectors = [a] * 4 + [b] + [a] * 4
    starts = np.array([0.5 * i for i in range(4)] + [3.0] + [7.0 + 0.5 * i for i in range(4)])
    # The reply's span (3.8-4.2 s) is shorter than a window, whose 1.5 s reach into the first stretch: it
    # still counts as a stretch of its own.
    stretches = np.array([0] * 4 + [1] + [2] * 4)
    windows = WindowEmbeddings(starts, starts + 1.5, np.array(vectors, dtype=np.float32), stretches)
    labels = np.array([0] * 4 + [1] + [0] * 4)
    assert smooth_labels(windows, labels, 0.15).tolist() == labels.tolist()
