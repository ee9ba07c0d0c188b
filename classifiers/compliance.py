"""Script compliance: a YAML checklist matched on word stems, with verdicts, evidence and a weighted score."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asr import Utterance
from classifiers.identifiers import identifiers
from classifiers.profile import SiteProfile, name_matches
from classifiers.taxonomy import DEFAULTS, ConfigFileError, read_yaml
from classifiers.text import normalise, similar, stems, token_spans, tokens
from contracts import ScoredItem, scorecard_score

logger = logging.getLogger("callqa.classifiers")

CONDITIONS = ("short", "transferred", "dropped", "special", "no_registration")
PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[A-Za-z0-9_]+)?)\}")
# A phrase word that is the call's operator's own name (bound per call from the roster).
NAME_SLOT = "{operator_name}"
# Placeholders whose values are proper names: matched as whole words, not as stem prefixes.
_PROPER = ("company", "products")


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
    unconfigured: tuple[str, ...] = ()  # placeholders the site profile gives no value for

    @property
    def names_operator(self) -> bool:
        """The item needs the operator's own name ({operator_name})."""
        phrases = self.any_of + tuple(p for group in self.all_of for p in group)
        return any(NAME_SLOT in phrase for phrase in phrases)


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


def _expand(text: str, profile: SiteProfile, where: str) -> tuple[list[tuple[str, ...]], set[str]]:
    """A phrase with placeholders as the word sequences it stands for, and the placeholders left empty.

    Words are stems; a proper name's words are "=word" (whole-word match); the operator's name is NAME_SLOT.
    """
    parts = PLACEHOLDER.split(text)
    variants: list[tuple[str, ...]] = [()]
    for i, part in enumerate(parts):
        if i % 2 == 0:
            variants = [v + tuple(stems(part)) for v in variants]
        elif part == "operator_name":
            variants = [(*v, NAME_SLOT) for v in variants]
        elif part in ("company", "products", "department") or part.startswith("script."):
            values = profile.values(part)
            if not values:  # the profile's own wording is optional; its names are not
                return [], set() if part.startswith("script.") else {part}
            if part in _PROPER:
                words = [tuple("=" + w for w in tokens(value)) for value in values]
            else:
                words = [tuple(stems(value)) for value in values]
            variants = [v + w for v in variants for w in words]
        else:
            known = "company, products, department, operator_name, script.NAME"
            raise ConfigFileError(f"{where}: unknown placeholder {{{part}}} (known: {known})")
    return [v for v in variants if v], set()


def _phrases(values, where: str, profile: SiteProfile) -> tuple[tuple[tuple[str, ...], ...], set[str]]:
    if not isinstance(values, list):
        raise ConfigFileError(f"{where}: expected a list of phrases")
    phrases: list[tuple[str, ...]] = []
    missing: set[str] = set()
    for value in values:
        expanded, empty = _expand(str(value), profile, where)
        phrases += expanded
        missing |= empty
    return tuple(dict.fromkeys(phrases)), missing


def _item(body: dict, where: str, profile: SiteProfile) -> ChecklistItem:
    if "id" not in body:
        raise ConfigFileError(f"{where}: every item needs an id")
    unknown = set(body.get("not_applicable_when", [])) - set(CONDITIONS)
    if unknown:
        known = ", ".join(CONDITIONS)
        raise ConfigFileError(f"{where}: unknown conditions {sorted(unknown)} (known: {known})")
    identifier = next(
        (str(v).strip("{}") for v in body.get("evidence_any_speaker", []) if str(v).startswith("{")), None
    )
    any_of, missing = _phrases(body.get("any_of", []), f"{where}.any_of", profile)
    all_of = []
    for group in body.get("all_of", []):
        phrases, empty = _phrases(group, f"{where}.all_of", profile)
        missing |= empty
        if phrases:  # a group the profile leaves empty is not required (and the verdict says so)
            all_of.append(phrases)
    return ChecklistItem(
        id=str(body["id"]),
        title=str(body.get("title", body["id"])),
        role=str(body.get("role", "operator")),
        any_of=any_of,
        all_of=tuple(all_of),
        within_first=body.get("within_first"),
        within_last=body.get("within_last"),
        weight=float(body.get("weight", 1.0)),
        critical=bool(body.get("critical", False)),
        requires_number=bool(body.get("requires_number", False)),
        any_speaker_identifier=identifier,
        not_applicable_when=tuple(body.get("not_applicable_when", [])),
        examples=tuple(str(e) for e in body.get("examples", [])),
        similarity=float(body.get("similarity", 0.88)),
        unconfigured=tuple(sorted(missing)),
    )


def load_checklist(path: Path | None = None, profile: SiteProfile | None = None) -> Checklist:
    """Read a checklist YAML (default: the shipped Russian script), its placeholders filled from `profile`.

    A placeholder the profile gives no value for leaves its phrases out: a greeting is then judged
    without the company name, and an item with nothing left to look for is not applicable.
    """
    path = path or DEFAULTS / "checklist_ru.yaml"
    profile = profile or SiteProfile()
    data = read_yaml(path, "checklist")
    items = [_item(body, f"{path}: items[{i}]", profile) for i, body in enumerate(data.get("items") or [])]
    if not items:
        raise ConfigFileError(f"{path}: the checklist has no items")
    forbidden = [
        _item(body, f"{path}: forbidden[{i}]", profile) for i, body in enumerate(data.get("forbidden") or [])
    ]
    unchecked = sorted({p for item in items for p in item.unconfigured})
    if unchecked:
        logger.warning("checklist %s: the site profile gives no %s; those phrases are not checked", path,
                       ", ".join("{" + p + "}" for p in unchecked))  # fmt: skip
    return Checklist(items, forbidden, str(data.get("version", "1")))


@dataclass
class CallContext:
    """Facts about the call that make items not applicable."""

    duration: float
    conditions: set[str] = field(default_factory=set)
    operator_names: tuple[str, ...] = ()  # the operator's own first name and its short forms (roster)


def _in_window(item: ChecklistItem, start: float, end: float, duration: float) -> bool:
    if item.within_first is not None and start > item.within_first:
        return False
    return not (item.within_last is not None and end < duration - item.within_last)


def _find(phrase: tuple[str, ...], hit, count: int, gap: int = 2) -> tuple[int, int] | None:
    """(first, last) word index where the phrase occurs in order, up to `gap` words between its words."""
    for start in range(count):
        if not hit(phrase[0], start):
            continue
        position = start
        for wanted in phrase[1:]:
            window = range(position + 1, min(count, position + 2 + gap))
            after = next((i for i in window if hit(wanted, i)), None)
            if after is None:
                break
            position = after
        else:
            return start, position
    return None


def _match(item: ChecklistItem, text: str, names: tuple[str, ...] = ()) -> str | None:
    """The words that satisfy the item in `text`, or None; `names`: the operator's own name forms."""
    spans = token_spans(text)
    words = [normalise(text[start:end]) for _, start, end in spans]

    def is_word(token: str, i: int) -> bool:
        if token == NAME_SLOT:
            return any(name_matches(words[i], name) for name in names)
        if token.startswith("="):
            return name_matches(words[i], token[1:])
        return similar(spans[i][0], token)

    def found(phrases: tuple[tuple[str, ...], ...]) -> str | None:
        for phrase in phrases:
            at = _find(phrase, is_word, len(spans)) if phrase else None
            if at is not None:
                return text[spans[at[0]][1] : spans[at[1]][2]]
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


def _search(
    item: ChecklistItem, turns: list[dict], duration: float, names: tuple[str, ...] = ()
) -> Evidence | None:
    for turn in turns:
        if item.role not in ("any", turn["role"]) or not _in_window(
            item, turn["start"], turn["end"], duration
        ):
            continue
        matched = _match(item, turn["normalized_text"], names)
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
        unjudged = _nothing_to_look_for(item, context.operator_names)
        if unjudged:
            verdicts.append(ItemVerdict(item.id, item.title, "n/a", 1.0, item.weight, item.critical,
                                        reason=unjudged))  # fmt: skip
            continue
        evidence = (
            _search(item, turns, context.duration, context.operator_names)
            or _identifier_evidence(item, utterances)
            or _semantic_evidence(item, turns, context.duration, encoder)
        )
        if evidence:
            sure = round(min(0.99, 0.5 + (utterances[evidence.utterance].confidence or 0.5) / 2), 3)
            verdict = ItemVerdict(item.id, item.title, "pass", sure, item.weight, item.critical, evidence)
            if item.unconfigured:
                verdict.reason = _unconfigured(item)
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


def _unconfigured(item: ChecklistItem) -> str:
    return "not in the site profile: " + ", ".join("{" + p + "}" for p in item.unconfigured)


def _nothing_to_look_for(item: ChecklistItem, names: tuple[str, ...]) -> str | None:
    """Why an item cannot be judged on this call (its phrases all need what is not known), or None."""
    other_evidence = item.any_speaker_identifier or item.examples
    if item.names_operator and not names:
        usable = [p for p in item.any_of if NAME_SLOT not in p]
        if not usable and not item.all_of and not other_evidence:
            return "the roster has no name for the operator"
    if not item.any_of and not item.all_of and not other_evidence:
        return _unconfigured(item) if item.unconfigured else "no phrases"
    return None


def score(items: list[ItemVerdict], forbidden: list[ItemVerdict] | None = None) -> float | None:
    """Weighted share of applicable items passed (0-100); 0 on a failed critical or forbidden item."""
    scored = [ScoredItem(i.id, i.verdict, i.weight, i.critical) for i in items]
    return scorecard_score(scored, bool(forbidden))
