"""Operator or customer: from the channel map, enrolled voiceprints, or what each speaker says first."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# What an operator says when answering (Russian first, English too): greeting, company, own name, offer.
OPERATOR_PHRASES = re.compile(
    r"здравствуйте|добр(ый|ое|ого) (день|утро|вечер)|техническ\w* поддержк|служб\w* поддержк|компани[яи]"
    r"|меня зовут|слушаю вас|чем (могу|я могу) помочь|оператор|специалист"
    r"|thank you for calling|my name is|how (can|may) i help|speaking",
    re.IGNORECASE,
)
GREETING_SECONDS = 20.0
# The most a role decision is trusted when the greeting words and the site's script name different
# speakers (a caller opening with an operator's words, or a caller reading back the script).
DISAGREEING = 0.6


@dataclass
class RoleAssignment:
    """Role per speaker label, how it was decided, and how sure it is (0..1)."""

    roles: dict[str, str] = field(default_factory=dict)
    method: str = "none"
    confidence: float = 0.0


def from_channel_map(speakers: list[str], channel_roles: dict[str, str]) -> RoleAssignment:
    """Stereo recordings: the PBX's channel map is configuration, so it is certain."""
    return RoleAssignment({s: channel_roles.get(s, "unknown") for s in speakers}, "channel_map", 1.0)


def from_voiceprints(
    centroids: dict[str, list[float]],
    voiceprints: dict[str, list[float]],
    threshold: float,
    margin: float,
) -> RoleAssignment | None:
    """The speaker closest to an enrolled operator voice is the operator.

    Enrolment clips and calls differ in line and microphone, so absolute similarities are modest
    (0.55-0.65 measured for the right speaker); the decision needs `threshold` and a `margin` over the
    other speakers, and the margin sets the confidence.
    """
    if not centroids or not voiceprints:
        return None
    speakers = list(centroids)
    voices = np.array(list(voiceprints.values()), dtype=np.float32)
    best_per_speaker = (np.array([centroids[s] for s in speakers], dtype=np.float32) @ voices.T).max(axis=1)
    best = int(np.argmax(best_per_speaker))
    others = np.delete(best_per_speaker, best)
    lead = float(best_per_speaker[best] - (others.max() if len(others) else 0.0))
    if best_per_speaker[best] < threshold or lead < margin:
        return None
    roles = {s: ("operator" if i == best else "customer") for i, s in enumerate(speakers)}
    return RoleAssignment(roles, "voiceprint", round(float(np.clip(0.5 + 5 * lead, 0.5, 0.95)), 3))


def from_speech(
    utterances: list[tuple[str, float, str]], site_cues: Callable[[str], set[str]] | None = None
) -> RoleAssignment:
    """(speaker, start, text) triples: the speaker who says the most operator phrases is the operator.

    Generic opening words count in the first `GREETING_SECONDS`; the site's own wording (`site_cues`: which
    of the company's names and script phrase groups an utterance says) counts over the whole call, each
    group once per speaker, because a caller may open with the same generic words («здравствуйте, компания
    …») but seldom speaks the site's script. The method is "site_script" where that wording decided (the
    greeting words alone named nobody, or someone else), else "greeting"; where the greeting words and
    the script name different speakers, the confidence is at most `DISAGREEING`. With no phrases at all,
    the first to speak is taken as the operator (an answered inbound call), with low confidence; a tie
    goes to the first speaker too.
    """
    speakers = list(dict.fromkeys(s for s, _, _ in sorted(utterances, key=lambda u: u[1])))
    if not speakers:
        return RoleAssignment()
    start = min(u[1] for u in utterances)
    greeting = {s: 0 for s in speakers}
    said: dict[str, set[str]] = {s: set() for s in speakers}
    for speaker, at, text in utterances:
        if at - start <= GREETING_SECONDS:
            greeting[speaker] += len(OPERATOR_PHRASES.findall(text))
        if site_cues is not None:
            said[speaker] |= site_cues(text)
    script = {s: len(said[s]) for s in speakers}
    hits = {s: greeting[s] + script[s] for s in speakers}
    ranked = sorted(speakers, key=lambda s: -hits[s])
    top, rest = hits[ranked[0]], (hits[ranked[1]] if len(ranked) > 1 else 0)
    if len(speakers) == 1:
        operator, method, confidence = speakers[0], "single_speaker", 0.3
    elif top == 0:
        operator, method, confidence = speakers[0], "first_speaker", 0.5
    else:
        operator = ranked[0]
        confidence = min(0.95, 0.6 + 0.1 * (top - rest)) if top > rest else 0.5
        by_greeting, by_script = _leader(greeting, speakers), _leader(script, speakers)
        method = "site_script" if script[operator] and by_greeting != operator else "greeting"
        if by_greeting and by_script and by_greeting != by_script:
            confidence = min(confidence, DISAGREEING)
    roles = {s: ("operator" if s == operator else "customer") for s in speakers}
    return RoleAssignment(roles, method, round(confidence, 3))


def _leader(counts: dict[str, int], speakers: list[str]) -> str | None:
    """The speaker with strictly the most, or None."""
    ranked = sorted(speakers, key=lambda s: -counts[s])
    runner_up = counts[ranked[1]] if len(ranked) > 1 else 0
    return ranked[0] if counts[ranked[0]] > runner_up else None
