"""Who said each word: channels for stereo calls, diarization for mono ones; then operator or customer.

Works on the recogniser's utterances and returns new ones with speaker, role and overlap filled in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from asr import Utterance, Word
from diarization import (
    Diarization,
    DiarizationOptions,
    RoleAssignment,
    SpeakerTurn,
    assign_words,
    from_channel_map,
    from_speech,
    from_voiceprints,
)


def _mark_overlaps(utterances: list[Utterance], turns: list[SpeakerTurn]) -> list[Utterance]:
    """Flag words (and their utterances) spoken while another speaker was talking."""
    marked = []
    for utterance in utterances:
        marks = assign_words([(w.start, w.end) for w in utterance.words], turns)
        words = [replace(w, overlap=mark.overlap) for w, mark in zip(utterance.words, marks, strict=True)]
        marked.append(replace(utterance, words=words, overlap=any(mark.overlap for mark in marks)))
    return marked


def attribute_stereo(
    utterances: list[Utterance], roles_by_channel: dict[int, str]
) -> tuple[list[Utterance], RoleAssignment]:
    """Each channel is one party: speaker = channel, role from the PBX's channel map."""
    named = [
        replace(u, speaker=f"channel-{u.channel}", role=roles_by_channel.get(u.channel, "unknown"))
        for u in utterances
    ]
    turns = [SpeakerTurn(u.speaker, u.start, u.end) for u in named]
    speakers = sorted({u.speaker for u in named})
    roles = from_channel_map(speakers, {f"channel-{c}": role for c, role in roles_by_channel.items()})
    return _mark_overlaps(named, turns), roles


def _piece(utterance: Utterance, words: list[Word], speaker: str | None, normalise) -> Utterance:
    text = " ".join(w.word for w in words)
    probabilities = [w.probability for w in words if w.probability is not None]
    confidence = sum(probabilities) / len(probabilities) if probabilities else utterance.confidence
    # A piece that keeps the utterance's first or last word keeps that edge (set from the sound).
    return replace(
        utterance,
        start=utterance.start if words[0] is utterance.words[0] else words[0].start,
        end=utterance.end if words[-1] is utterance.words[-1] else words[-1].end,
        text=text,
        normalized_text=normalise(text),
        confidence=round(confidence, 4) if confidence is not None else None,
        words=words,
        speaker=speaker,
    )


def split_by_speaker(
    utterances: list[Utterance], diarization: Diarization, normalise: Callable[[str], str]
) -> list[Utterance]:
    """Give every word the speaker talking at its time and cut utterances where the speaker changes."""
    out: list[Utterance] = []
    for utterance in utterances:
        words = utterance.words
        if not words:
            out.append(replace(utterance, speaker=None))
            continue
        marks = assign_words([(w.start, w.end) for w in words], diarization.turns)
        group: list[Word] = []
        speaker = marks[0].speaker
        for word, mark in zip(words, marks, strict=True):
            if group and mark.speaker != speaker:
                out.append(_piece(utterance, group, speaker, normalise))
                group = []
            speaker = mark.speaker
            group.append(word)
        out.append(_piece(utterance, group, speaker, normalise))
    return out


def attribute_mono(
    utterances: list[Utterance],
    diarization: Diarization,
    voiceprints: dict[str, list[float]],
    options: DiarizationOptions,
    normalise: Callable[[str], str],
    site_cues: Callable[[str], set[str]] | None = None,
) -> tuple[list[Utterance], RoleAssignment]:
    """Split a mono transcript by speaker and name the operator (voiceprints first, then what is said:
    see `from_speech` for `site_cues`)."""
    pieces = split_by_speaker(utterances, diarization, normalise)
    roles = from_voiceprints(
        diarization.centroids, voiceprints, options.voiceprint_similarity, options.voiceprint_margin
    ) or from_speech([(u.speaker, u.start, u.text) for u in pieces if u.speaker], site_cues)
    named = [replace(piece, role=roles.roles.get(piece.speaker, "unknown")) for piece in pieces]
    return _mark_overlaps(named, diarization.turns), roles
