"""Script compliance: a YAML checklist matched on word stems, with verdicts, evidence and a weighted score."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asr import Utterance
from classifiers.identifiers import identifiers
from classifiers.taxonomy import DEFAULTS, ConfigFileError, read_yaml
from classifiers.text import find_phrase, stems, token_spans
from contracts import ScoredItem, scorecard_score

CONDITIONS = ("short", "transferred", "dropped", "special", "no_registration")


@dataclass(frozen=True)
class ChecklistItem:
    """One thing the script requires (or, for `forbidden` items, must never be said)."""

    id: str
    title: str
    role: str = "operator"
    any_of: tuple[tuple[str, ...], ...] = ()  # phrases, as stems
    all_of: tuple[tuple[tuple[str, ...], ...], ...] = ()  # groups: one phrase of every group
    within_first: float | None = None
    within_last: float | None = None
    weight: float = 1.0
    critical: bool = False
    requires_number: bool = False
    any_speaker_identifier: str | None = None  # e.g. "inn": a valid INN said by anyone also passes
    not_applicable_when: tuple[str, ...] = ()
    examples: tuple[
        str, ...
    ] = ()  # semantic examples: a turn this close in meaning passes (needs an encoder)
    similarity: float = 0.88


@dataclass
class Checklist:
    """Items and forbidden phrases, with the file's version."""

    items: list[ChecklistItem]
    forbidden: list[ChecklistItem] = field(default_factory=list)
    version: str = "1"


@dataclass
class Evidence:
    """Where an item was satisfied or broken: utterance index, time, text and the matched words."""

    utterance: int
    start: float
    text: str
    matched: str


@dataclass
class ItemVerdict:
    """pass / fail / n/a for one item, with confidence and evidence."""

    id: str
    title: str
    verdict: str
    confidence: float
    weight: float
    critical: bool
    evidence: Evidence | None = None
    reason: str | None = None


@dataclass
class ComplianceResult:
    """All verdicts, forbidden phrases found, and the score (0-100, 0 when a critical item failed)."""

    items: list[ItemVerdict]
    forbidden: list[ItemVerdict]
    score: float | None
    checklist_version: str


def _phrases(values, where: str) -> tuple[tuple[str, ...], ...]:
    if not isinstance(values, list):
        raise ConfigFileError(f"{where}: expected a list of phrases")
    return tuple(tuple(stems(str(v))) for v in values if not str(v).startswith("{"))


def _item(body: dict, where: str) -> ChecklistItem:
    if "id" not in body:
        raise ConfigFileError(f"{where}: every item needs an id")
    unknown = set(body.get("not_applicable_when", [])) - set(CONDITIONS)
    if unknown:
        known = ", ".join(CONDITIONS)
        raise ConfigFileError(f"{where}: unknown conditions {sorted(unknown)} (known: {known})")
    identifier = next(
        (str(v).strip("{}") for v in body.get("evidence_any_speaker", []) if str(v).startswith("{")), None
    )
    return ChecklistItem(
        id=str(body["id"]),
        title=str(body.get("title", body["id"])),
        role=str(body.get("role", "operator")),
        any_of=_phrases(body.get("any_of", []), f"{where}.any_of"),
        all_of=tuple(_phrases(group, f"{where}.all_of") for group in body.get("all_of", [])),
        within_first=body.get("within_first"),
        within_last=body.get("within_last"),
        weight=float(body.get("weight", 1.0)),
        critical=bool(body.get("critical", False)),
        requires_number=bool(body.get("requires_number", False)),
        any_speaker_identifier=identifier,
        not_applicable_when=tuple(body.get("not_applicable_when", [])),
        examples=tuple(str(e) for e in body.get("examples", [])),
        similarity=float(body.get("similarity", 0.88)),
    )


def load_checklist(path: Path | None = None) -> Checklist:
    """Read a checklist YAML (default: the shipped Russian support-desk script)."""
    path = path or DEFAULTS / "checklist_ru.yaml"
    data = read_yaml(path, "checklist")
    items = [_item(body, f"{path}: items[{i}]") for i, body in enumerate(data.get("items") or [])]
    if not items:
        raise ConfigFileError(f"{path}: the checklist has no items")
    forbidden = [_item(body, f"{path}: forbidden[{i}]") for i, body in enumerate(data.get("forbidden") or [])]
    return Checklist(items, forbidden, str(data.get("version", "1")))


@dataclass
class CallContext:
    """Facts about the call that make items not applicable."""

    duration: float
    conditions: set[str] = field(default_factory=set)


def _in_window(item: ChecklistItem, start: float, end: float, duration: float) -> bool:
    if item.within_first is not None and start > item.within_first:
        return False
    return not (item.within_last is not None and end < duration - item.within_last)


def _match(item: ChecklistItem, text: str) -> str | None:
    """The words that satisfy the item in `text`, or None."""
    spans = token_spans(text)
    text_stems = [s for s, _, _ in spans]

    def found(phrases: tuple[tuple[str, ...], ...]) -> str | None:
        for phrase in phrases:
            at = find_phrase(list(phrase), text_stems)
            if at is not None:
                end = spans[min(at + len(phrase) - 1, len(spans) - 1)][2]
                return text[spans[at][1] : end]
        return None

    if item.all_of:
        parts = [found(group) for group in item.all_of]
        return " … ".join(parts) if all(parts) else None
    hit = found(item.any_of)
    if hit and item.requires_number and not re.search(r"\d{3,}", text):
        return None  # recognisers drop digits, so any number said counts, not only a well-formed one
    return hit


def speaker_turns(utterances: Sequence[Utterance]) -> list[dict]:
    """Consecutive utterances of one role joined into turns (a pause inside a phrase splits utterances)."""
    turns: list[dict] = []
    for index, utterance in enumerate(utterances):
        text = utterance.normalized_text or utterance.text or ""
        last = turns[-1] if turns else None
        if last and last["role"] == utterance.role and utterance.start - last["end"] < 2.0:
            last["normalized_text"] = f"{last['normalized_text']} {text}".strip()
            last["end"] = utterance.end
            last["confidences"].append(utterance.confidence or 0.0)
        else:
            turns.append({"index": index, "role": utterance.role, "start": utterance.start,
                          "end": utterance.end, "normalized_text": text,
                          "confidences": [utterance.confidence or 0.0]})  # fmt: skip
    for turn in turns:
        confidences = turn.pop("confidences")
        turn["confidence"] = sum(confidences) / len(confidences)
    return turns


def _search(item: ChecklistItem, turns: list[dict], duration: float) -> Evidence | None:
    for turn in turns:
        if item.role not in ("any", turn["role"]) or not _in_window(
            item, turn["start"], turn["end"], duration
        ):
            continue
        matched = _match(item, turn["normalized_text"])
        if matched:
            return Evidence(turn["index"], turn["start"], turn["normalized_text"], matched)
    return None


def _semantic_evidence(
    item: ChecklistItem, turns: list[dict], duration: float, encoder: str | None
) -> Evidence | None:
    """The item's turn closest in meaning to one of its examples, when close enough."""
    if not (encoder and item.examples):
        return None
    from classifiers.encoders import encode

    eligible = [
        t
        for t in turns
        if item.role in ("any", t["role"]) and _in_window(item, t["start"], t["end"], duration)
    ]
    if not eligible:
        return None
    similarity = (
        encode(encoder, [t["normalized_text"] for t in eligible]) @ encode(encoder, list(item.examples)).T
    )
    best_turn, best_example = divmod(int(similarity.argmax()), len(item.examples))
    if similarity[best_turn, best_example] < item.similarity:
        return None
    turn = eligible[best_turn]
    matched = f"≈ {item.examples[best_example]} ({similarity[best_turn, best_example]:.2f})"
    return Evidence(turn["index"], turn["start"], turn["normalized_text"], matched)


def _identifier_evidence(item: ChecklistItem, utterances: Sequence[Utterance]) -> Evidence | None:
    if not item.any_speaker_identifier:
        return None
    for index, utterance in enumerate(utterances):
        text = utterance.normalized_text or utterance.text or ""
        values = identifiers(text).get(item.any_speaker_identifier, [])
        if values:
            return Evidence(index, utterance.start, text, values[0])
    return None


def evaluate(
    checklist: Checklist, utterances: Sequence[Utterance], context: CallContext, encoder: str | None = None
) -> ComplianceResult:
    """Judge every item on a call's utterances (role, start, end, text, confidence).

    With `encoder`, items that have semantic `examples` also pass on a turn close in meaning to one.
    """
    verdicts = []
    turns = speaker_turns(utterances)
    for item in checklist.items:
        blocking = sorted(set(item.not_applicable_when) & context.conditions)
        if blocking:
            verdicts.append(ItemVerdict(item.id, item.title, "n/a", 1.0, item.weight, item.critical,
                                        reason=", ".join(blocking)))  # fmt: skip
            continue
        evidence = (
            _search(item, turns, context.duration)
            or _identifier_evidence(item, utterances)
            or _semantic_evidence(item, turns, context.duration, encoder)
        )
        if evidence:
            sure = round(min(0.99, 0.5 + (utterances[evidence.utterance].confidence or 0.5) / 2), 3)
            verdict = ItemVerdict(item.id, item.title, "pass", sure, item.weight, item.critical, evidence)
            verdicts.append(verdict)
        else:
            # Missing words can be ASR errors: the less sure the transcript, the less sure the failure.
            spoken = [u.confidence or 0.0 for u in utterances if u.role == item.role]
            confidence = sum(spoken) / len(spoken) if spoken else 0.3
            verdicts.append(ItemVerdict(item.id, item.title, "fail", round(max(0.3, confidence), 3),
                                        item.weight, item.critical))  # fmt: skip
    forbidden = []
    for item in checklist.forbidden:
        evidence = _search(item, turns, context.duration)
        if evidence:
            forbidden.append(ItemVerdict(item.id, item.title, "fail", 0.8, item.weight, True, evidence))
    return ComplianceResult(verdicts, forbidden, score(verdicts, forbidden), checklist.version)


def score(items: list[ItemVerdict], forbidden: list[ItemVerdict] | None = None) -> float | None:
    """Weighted share of applicable items passed (0-100); 0 on a failed critical or forbidden item."""
    scored = [ScoredItem(i.id, i.verdict, i.weight, i.critical) for i in items]
    return scorecard_score(scored, bool(forbidden))
