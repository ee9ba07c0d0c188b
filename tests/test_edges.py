"""Utterance edges set from the channel's sound (asr.edges) and the activity they read (ingest.quality)."""

from __future__ import annotations

import numpy as np

from asr.edges import snap_to_sound
from asr.transcribe import Utterance, Word
from ingest.quality import FRAME_SECONDS, active_frames

FRAME = FRAME_SECONDS


def _utterance(start: float, end: float, text: str = "да") -> Utterance:
    return Utterance(start, end, text, text, 0.9, 0, [Word(start, end, text, 0.9)])


def _activity(seconds: float, *sounds: tuple[float, float]) -> np.ndarray:
    active = np.zeros(round(seconds / FRAME), dtype=bool)
    for a, b in sounds:
        active[round(a / FRAME) : round(b / FRAME)] = True
    return active


def test_edges_move_out_to_where_the_sound_begins_and_ends_and_words_keep_their_times():
    # the words say 1.2-2.6, the voice sounds 1.0-3.0 with a 60 ms closure at 2.8
    active = _activity(10, (1.0, 2.8), (2.86, 3.0))
    [snapped] = snap_to_sound([_utterance(1.2, 2.6)], active, FRAME, reach=1.0)
    assert (snapped.start, snapped.end) == (1.0, 3.0)
    assert (snapped.words[0].start, snapped.words[0].end) == (1.2, 2.6)


def test_a_pause_a_neighbour_or_the_reach_stops_an_edge():
    # a 0.4 s pause after the words is not their sound; the next utterance starts at 5.5 while the
    # channel sounds on; a sound running 3 s before the words is reached only 1 s back
    active = _activity(10, (1.0, 2.0), (2.4, 2.6), (4.0, 6.0), (6.5, 9.5))
    heard = [_utterance(1.1, 1.9), _utterance(4.2, 5.3), _utterance(5.5, 6.0)]
    first, second, third = snap_to_sound(heard, active, FRAME, reach=1.0)
    assert (first.start, first.end) == (1.0, 2.0)
    assert (second.start, second.end) == (4.0, 5.5)
    assert third.start == 5.5
    [late] = snap_to_sound([_utterance(9.4, 9.5)], active, FRAME, reach=1.0)
    assert late.start == 8.4


def test_no_reach_or_no_audio_leaves_the_utterances_as_decoded():
    utterances = [_utterance(1.2, 2.6)]
    active = _activity(10, (1.0, 3.0))
    assert snap_to_sound(utterances, active, FRAME, reach=0) == utterances
    assert snap_to_sound(utterances, np.zeros(0, dtype=bool), FRAME, reach=1.0) == utterances


def test_active_frames_find_a_voice_over_line_noise():
    rng = np.random.default_rng(7)
    signal = (rng.standard_normal(16000 * 4) * 0.001).astype(np.float32)  # -60 dBFS line noise
    t = np.arange(16000) / 16000
    signal[16000:32000] += (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    active = active_frames(signal)
    assert len(active) == 200
    assert active[50:100].all() and not active[:50].any() and not active[100:].any()


def test_a_mono_utterance_split_by_speaker_keeps_its_sound_edges_only_outside():
    """Diarization cuts a mono utterance where the speaker changes: the pieces' outer edges stay where
    the sound set them, the cut between them is at the words."""
    from diarization import Diarization, SpeakerTurn
    from diarization.attribution import split_by_speaker

    words = [Word(1.2, 1.6, "добрый", 0.9), Word(1.7, 2.1, "день", 0.9), Word(2.6, 3.0, "алло", 0.9)]
    utterance = Utterance(1.0, 3.3, "добрый день алло", "добрый день алло", 0.9, None, words)
    turns = [SpeakerTurn("A", 0.9, 2.3), SpeakerTurn("B", 2.3, 3.4)]
    first, second = split_by_speaker([utterance], Diarization(turns, ["A", "B"]), str.lower)
    assert (first.speaker, first.start, first.end) == ("A", 1.0, 2.1)
    assert (second.speaker, second.start, second.end) == ("B", 2.6, 3.3)
    [whole] = split_by_speaker([utterance], Diarization([SpeakerTurn("A", 0.9, 3.4)], ["A"]), str.lower)
    assert (whole.start, whole.end) == (1.0, 3.3)
