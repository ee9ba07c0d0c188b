"""Conversation metrics from who spoke when: talk time, listening, silence, hold, overtalk, pace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Spoken(Protocol):
    """Anything with a role, a time span and a word count (stored utterances, transcript objects)."""

    role: str | None
    start: float
    end: float


@dataclass
class MetricOptions:
    """Thresholds: a silence this long on both sides is a hold; an interruption needs this much overlap."""

    hold_min_seconds: float = 10.0
    interruption_min_overlap: float = 0.3


@dataclass
class ConversationMetrics:
    """Per-call figures a team lead reads next to the scorecard (seconds unless said otherwise)."""

    duration: float
    talk_time: dict[str, float] = field(default_factory=dict)
    talk_listen_ratio: float | None = None  # operator talk / customer talk
    silence_share: float = 0.0
    longest_silence: float = 0.0
    holds: list[tuple[float, float]] = field(default_factory=list)
    hold_seconds: float = 0.0
    overtalk_seconds: float = 0.0
    interruptions: dict[str, int] = field(default_factory=dict)
    words_per_minute: dict[str, float] = field(default_factory=dict)


def _union(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _length(spans: Iterable[tuple[float, float]]) -> float:
    return sum(end - start for start, end in spans)


def _intersection(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def conversation_metrics(
    utterances: Sequence[Spoken],
    duration: float,
    words: Sequence[int] | None = None,
    options: MetricOptions | None = None,
) -> ConversationMetrics:
    """Metrics of a call of `duration` seconds; `words[i]` is the word count of `utterances[i]`."""
    options = options or MetricOptions()
    result = ConversationMetrics(duration=round(duration, 3))
    by_role: dict[str, list[tuple[float, float]]] = {}
    for utterance in utterances:
        by_role.setdefault(utterance.role or "unknown", []).append((utterance.start, utterance.end))
    talk = {role: _union(spans) for role, spans in by_role.items()}
    result.talk_time = {role: round(_length(spans), 3) for role, spans in talk.items()}
    operator, customer = result.talk_time.get("operator"), result.talk_time.get("customer")
    if operator is not None and customer:
        result.talk_listen_ratio = round(operator / customer, 3)
    anyone = _union(span for spans in talk.values() for span in spans)
    edges = [0.0, *(x for span in anyone for x in span), duration]
    silences = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2) if edges[i + 1] > edges[i]]
    if duration > 0:
        result.silence_share = round(_length(silences) / duration, 4)
    result.longest_silence = round(max((end - start for start, end in silences), default=0.0), 3)
    result.holds = [(round(a, 3), round(b, 3)) for a, b in silences if b - a >= options.hold_min_seconds]
    result.hold_seconds = round(_length(result.holds), 3)
    if operator is not None and customer is not None:
        overlap = _intersection(talk["operator"], talk["customer"])
        result.overtalk_seconds = round(_length(overlap), 3)
        for role, other in (("operator", "customer"), ("customer", "operator")):
            # Starting to speak while the other side is still talking, for a noticeable moment.
            result.interruptions[role] = sum(
                1
                for start, end in by_role[role]
                if any(
                    s < start < e and min(e, end) - start >= options.interruption_min_overlap
                    for s, e in talk[other]
                )
            )
    if words is not None:
        counts: dict[str, int] = {}
        for utterance, count in zip(utterances, words, strict=True):
            counts[utterance.role or "unknown"] = counts.get(utterance.role or "unknown", 0) + count
        result.words_per_minute = {
            role: round(60 * counts.get(role, 0) / seconds, 1)
            for role, seconds in result.talk_time.items()
            if seconds
        }
    return result
