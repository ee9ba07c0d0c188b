"""Who said each word: channels for stereo calls, diarization for mono ones; then operator or customer.

Works on the transcript as plain dicts (utterances with words), the form the store keeps.
"""

from __future__ import annotations

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


def _mark_overlaps(utterances: list[dict], turns: list[SpeakerTurn]) -> None:
    """Flag words (and their utterances) spoken while another speaker was talking."""
    for utterance in utterances:
        words = utterance.get("words", [])
        marks = assign_words([(w["start"], w["end"]) for w in words], turns)
        for word, mark in zip(words, marks, strict=True):
            word["overlap"] = mark.overlap
        utterance["overlap"] = any(mark.overlap for mark in marks)


def attribute_stereo(utterances: list[dict], roles_by_channel: dict[int, str]) -> RoleAssignment:
    """Each channel is one party: speaker = channel, role from the PBX's channel map."""
    turns = []
    for utterance in utterances:
        channel = utterance["channel"]
        utterance["speaker"] = f"channel-{channel}"
        utterance["role"] = roles_by_channel.get(channel, "unknown")
        turns.append(SpeakerTurn(utterance["speaker"], utterance["start"], utterance["end"]))
    _mark_overlaps(utterances, turns)
    speakers = sorted({u["speaker"] for u in utterances})
    return from_channel_map(speakers, {f"channel-{c}": role for c, role in roles_by_channel.items()})


def _piece(utterance: dict, words: list[dict], speaker: str | None, normalise) -> dict:
    text = " ".join(w["word"] for w in words)
    probabilities = [w["probability"] for w in words if w.get("probability") is not None]
    confidence = sum(probabilities) / len(probabilities) if probabilities else utterance.get("confidence")
    return {
        **utterance,
        "start": words[0]["start"],
        "end": words[-1]["end"],
        "text": text,
        "normalized_text": normalise(text),
        "confidence": round(confidence, 4) if confidence is not None else None,
        "words": words,
        "speaker": speaker,
    }


def split_by_speaker(utterances: list[dict], diarization: Diarization, normalise) -> list[dict]:
    """Give every word the speaker talking at its time and cut utterances where the speaker changes."""
    out: list[dict] = []
    for utterance in utterances:
        words = utterance.get("words", [])
        if not words:
            out.append({**utterance, "speaker": None})
            continue
        marks = assign_words([(w["start"], w["end"]) for w in words], diarization.turns)
        group: list[dict] = []
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
    utterances: list[dict],
    diarization: Diarization,
    voiceprints: dict[str, list[float]],
    options: DiarizationOptions,
    normalise,
) -> tuple[list[dict], RoleAssignment]:
    """Split a mono transcript by speaker and name the operator (voiceprints first, then what is said)."""
    pieces = split_by_speaker(utterances, diarization, normalise)
    roles = from_voiceprints(
        diarization.centroids, voiceprints, options.voiceprint_similarity, options.voiceprint_margin
    ) or from_speech([(u["speaker"], u["start"], u["text"]) for u in pieces if u["speaker"]])
    for piece in pieces:
        piece["role"] = roles.roles.get(piece["speaker"], "unknown")
    _mark_overlaps(pieces, diarization.turns)
    return pieces, roles
