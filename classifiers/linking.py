"""Calls to incidents (ranked candidates, confidence, reasons), duplicate incidents, repeat contacts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from classifiers.text import stems


@dataclass
class LinkingOptions:
    """Evidence weights (combined as independent evidence: 1 - Π(1 - w)) and thresholds."""

    said_number: float = 0.95
    said_number_partly: float = 0.6  # a number said with one digit lost or misheard
    said_inn: float = 0.55
    said_kpp: float = 0.15
    # Found only in a second reading of the call's digits (asr/digits.py): weaker than the text. A re-read
    # number the text heard with one digit misheard weighs as partly said (but is never "named"); alone
    # it only supports a candidate something else brought.
    said_number_reread: float = 0.3
    said_inn_reread: float = 0.4
    same_client: float = 0.45
    same_operator: float = 0.2
    created_near: float = 0.35  # created within `near_minutes` after the call started (scaled by closeness)
    same_purpose: float = 0.3
    text_similarity: float = 0.3  # scaled by the stem overlap of the call and the incident summary
    near_minutes: float = 120.0
    # A number cannot be said before its incident exists; a day's slack covers a helpdesk clock in
    # another time zone. Applies to numbers heard with a digit lost (a whole number said is kept).
    said_before_created_days: float = 1.0
    window_days: float = 3.0  # candidates are incidents created this close to the call (or named in it)
    auto_link_confidence: float = 0.85
    auto_link_margin: float = 0.15
    duplicate_days: float = 7.0
    repeat_days: float = 7.0


@dataclass
class IncidentFacts:
    """An incident as linking sees it."""

    id: int
    number: str
    created_at: datetime | None
    inn: str | None = None
    kpp: str | None = None
    client_id: int | None = None
    operator_id: int | None = None
    article: str | None = None
    summary: str | None = None
    spoken: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        self.spoken = spoken_forms(self.number)


def spoken_forms(key: str) -> tuple[str, ...]:
    """The digit strings a person says for an incident key, the whole key's digits first. A plain number
    is itself. A key with letters or separators («ВК-2026-00417», "INC0012345", "SD-1234") is said by its
    digits: all of them, or its last group (the serial: "00417"), with or without the leading zeros ("417").
    Only the first form names the incident; a serial is shared by other keys (last year's «ВК-2025-00417»)."""
    if key.isdigit():
        return (key,)
    groups = re.findall(r"\d+", key)
    if not groups:
        return ()
    serial = groups[-1]
    forms = ["".join(groups), serial, serial.lstrip("0")]
    return tuple(f for f in dict.fromkeys(forms) if len(f) >= 3)


@dataclass
class CallFacts:
    """A call as linking sees it: what the records say and what was said."""

    id: int
    start: datetime | None
    operator_id: int | None = None
    client_id: int | None = None
    said_numbers: list[str] = field(default_factory=list)
    said_fragments: list[str] = field(default_factory=list)  # digit runs one digit short of a number
    said_inns: list[str] = field(default_factory=list)
    said_kpps: list[str] = field(default_factory=list)
    reread_numbers: list[str] = field(default_factory=list)  # only in a second reading of the digits
    reread_inns: list[str] = field(default_factory=list)
    purpose_article: str | None = None
    text: str = ""


@dataclass
class Candidate:
    """An incident that may belong to the call, how sure, and why."""

    incident_id: int
    number: str
    confidence: float
    reasons: list[str]
    partly_heard: str | None = None  # the digit run, heard with a digit lost, that gave it its number


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(b) if b else 0.0


def partly_said(number: str, said: list[str]) -> str | None:
    """A said digit run that is `number` with one digit lost (recognition drops a digit it mishears:
    «ноль» swallowed, «пять» heard as «беть»). Numbers of five digits or more: shorter ones match too much
    by chance. A misheard digit is no match: numbers a desk gives out in sequence differ in one digit."""
    if len(number) < 5:
        return None
    shorter = {number[:i] + number[i + 1 :] for i in range(len(number))}
    return next((run for run in said if run in shorter), None)


def said_in_full(incident: IncidentFacts, said: list[str]) -> bool:
    """Whether the incident's whole key (its digits: the first of `spoken_forms`) is among `said`."""
    return bool(incident.spoken) and incident.spoken[0] in said


def said_serial(incident: IncidentFacts, said: list[str]) -> str | None:
    """The serial of a key with letters or separators said on its own («00417» of «ВК-2026-00417»)."""
    return next((form for form in incident.spoken[1:] if form in said), None)


def _said_runs(call: CallFacts) -> list[str]:
    """Every identifier-length digit run said: a key's digits said in one go may be as long as a KPP, and
    a short key's («SD-4821») as short as a fragment."""
    return call.said_numbers + call.said_kpps + call.said_inns + call.said_fragments


def reread_agrees(number: str, call: CallFacts) -> str | None:
    """The digit run of the call's text that a second reading which found `number` exactly settles: the
    same length with one digit misheard. (One digit lost is `partly_said` already.) Such a number is not
    "named": numbers a desk gives out in sequence differ in one digit, so it never outweighs a number the
    text said exactly, and links on its own only as a clear winner."""
    if number not in call.reread_numbers or len(number) < 5:
        return None
    for run in call.said_numbers + call.said_fragments:
        if len(run) == len(number) and sum(a != b for a, b in zip(run, number, strict=True)) == 1:
            return run
    return None


def _partly_said_reason(number: str, heard: str) -> str:
    return f"incident number {number} partly said ({heard})"


def _exists_by_then(call: CallFacts, incident: IncidentFacts, options: LinkingOptions) -> bool:
    """Whether the incident could have had its number said in the call (not created days after it)."""
    if not (call.start and incident.created_at):
        return True
    return incident.created_at - call.start <= timedelta(days=options.said_before_created_days)


def score_incident(
    call: CallFacts, incident: IncidentFacts, options: LinkingOptions, partly: bool = True
) -> Candidate | None:
    """One incident against one call; None when nothing at all connects them. `partly`: whether a number
    heard with a digit lost counts (see `_one_incident_per_fragment`)."""
    evidence: list[tuple[float, str]] = []
    whole = incident.spoken[0] if incident.spoken else ""
    partly = partly and _exists_by_then(call, incident, options)
    heard_partly = None
    if said_in_full(incident, _said_runs(call)):
        evidence.append((options.said_number, f"incident number {incident.number} said"))
    elif partly and (heard := partly_said(whole, call.said_numbers + call.said_fragments)):
        heard_partly = heard
        evidence.append((options.said_number_partly, _partly_said_reason(incident.number, heard)))
    elif partly and (heard := reread_agrees(whole, call)):
        evidence.append((options.said_number_partly, f"number {incident.number} read again ({heard})"))
    elif partly and (serial := said_serial(incident, _said_runs(call))):
        # Not "named": the same serial ends other keys.
        evidence.append((options.said_number_partly, f"serial {serial} of {incident.number} said"))
    heard_number = bool(evidence)
    if incident.inn and incident.inn in call.said_inns:
        evidence.append((options.said_inn, f"INN {incident.inn} said"))
        if incident.kpp and incident.kpp in call.said_kpps:
            evidence.append((options.said_kpp, f"KPP {incident.kpp} said"))
    elif incident.inn and incident.inn in call.reread_inns:
        evidence.append((options.said_inn_reread, f"INN {incident.inn} read again"))
    if incident.client_id is not None and incident.client_id == call.client_id:
        evidence.append((options.same_client, "same client (caller number)"))
    if not evidence:
        return None  # operator, time and wording alone do not make a candidate
    if said_in_full(incident, call.reread_numbers) and not heard_number:
        evidence.append((options.said_number_reread, f"number {incident.number} only in a second reading"))
    if incident.operator_id is not None and incident.operator_id == call.operator_id:
        evidence.append((options.same_operator, "same operator"))
    if call.start and incident.created_at:
        minutes = (incident.created_at - call.start).total_seconds() / 60
        if -5 <= minutes <= options.near_minutes:
            closeness = 1 - max(0.0, minutes) / options.near_minutes
            evidence.append(
                (options.created_near * closeness, f"created {minutes:.0f} min after the call began")
            )
    if call.purpose_article and incident.article == call.purpose_article:
        evidence.append((options.same_purpose, f"same knowledge article {incident.article}"))
    if incident.summary and call.text:
        similarity = _overlap(set(stems(call.text)), set(stems(incident.summary)))
        if similarity > 0:
            evidence.append(
                (options.text_similarity * similarity, f"summary words in the call {similarity:.0%}")
            )
    remaining = 1.0
    for weight, _ in evidence:
        remaining *= 1 - min(weight, 0.999)
    reasons = [r for _, r in evidence]
    return Candidate(incident.id, incident.number, round(1 - remaining, 4), reasons, heard_partly)


def _one_incident_per_fragment(
    found: list[Candidate], call: CallFacts, incidents: dict[int, IncidentFacts], options: LinkingOptions
) -> list[Candidate]:
    """A run heard with a digit lost fits every incident one digit away ("5124": 51240 … 51249, 15124).
    It was said for one of them: the one it fits best names it when, with the run, that one clearly wins
    over the others without it; they lose the run (and go when nothing else connects them). Otherwise the
    run names none of them: each keeps it as "maybe said", and a person decides."""
    sharing: dict[str, list[Candidate]] = {}
    for candidate in found:
        if candidate.partly_heard:
            sharing.setdefault(candidate.partly_heard, []).append(candidate)
    dropped: set[int] = set()
    for run, group in sharing.items():
        if len(group) < 2:
            continue
        best, *rivals = sorted(group, key=lambda c: (-c.confidence, c.number))
        without = {c.incident_id: score_incident(call, incidents[c.incident_id], options, partly=False)
                   for c in rivals}  # fmt: skip
        runner_up = max((c.confidence for c in without.values() if c), default=0.0)
        if best.confidence - runner_up >= options.auto_link_margin:
            for rival in rivals:
                if (alone := without[rival.incident_id]) is None:
                    dropped.add(rival.incident_id)
                else:
                    rival.confidence = alone.confidence
                    rival.reasons = [*alone.reasons, f"{run} heard: closer to {best.number}"]
                rival.partly_heard = None
            continue
        numbers = ", ".join(sorted(c.number for c in group))
        for candidate in group:
            named = _partly_said_reason(candidate.number, run)
            maybe = f"number {candidate.number} maybe said ({run} fits {numbers})"
            candidate.reasons = [maybe if r == named else r for r in candidate.reasons]
    return [c for c in found if c.incident_id not in dropped]


def rank_candidates(
    call: CallFacts, incidents: list[IncidentFacts], options: LinkingOptions | None = None, top: int = 5
) -> list[Candidate]:
    """The most likely incidents for a call, best first."""
    options = options or LinkingOptions()
    window = timedelta(days=options.window_days)
    found: list[Candidate] = []
    for incident in incidents:
        named = said_in_full(incident, _said_runs(call))
        near = call.start and incident.created_at and abs(incident.created_at - call.start) <= window
        if not (named or near):
            continue
        candidate = score_incident(call, incident, options)
        if candidate:
            found.append(candidate)
    found = _one_incident_per_fragment(found, call, {i.id: i for i in incidents}, options)
    found.sort(key=lambda c: (-c.confidence, c.number))
    return found[:top]


def _named(candidate: Candidate) -> bool:
    return any(r.startswith("incident number") for r in candidate.reasons)


def automatic_links(
    candidates: list[Candidate],
    options: LinkingOptions | None = None,
    explained: frozenset[int] | set[int] = frozenset(),
) -> list[Candidate]:
    """Candidates sure enough to link without a person: every named incident, else a clear winner.

    `explained`: incidents another call accounts for (linked in the helpdesk export, or named in that
    call). They are no rivals and are not linked here unless this call names them too.
    """
    options = options or LinkingOptions()
    named = [c for c in candidates if _named(c)]
    if named:
        return [c for c in named if c.confidence >= options.auto_link_confidence]
    candidates = [c for c in candidates if c.incident_id not in explained]
    if not candidates or candidates[0].confidence < options.auto_link_confidence:
        return []
    runner_up = candidates[1].confidence if len(candidates) > 1 else 0.0
    return [candidates[0]] if candidates[0].confidence - runner_up >= options.auto_link_margin else []


def explained_elsewhere(
    ranked: dict[int, list[Candidate]], kept: dict[int, set[int]], options: LinkingOptions | None = None
) -> dict[int, set[int]]:
    """call id → incidents some other call accounts for: linked to it by the helpdesk or a person
    (`kept`), or named in it and sure enough to link there."""
    options = options or LinkingOptions()
    claims: dict[int, set[int]] = {}
    for call_id, incidents in kept.items():
        for incident in incidents:
            claims.setdefault(incident, set()).add(call_id)
    for call_id, candidates in ranked.items():
        for candidate in candidates:
            if _named(candidate) and candidate.confidence >= options.auto_link_confidence:
                claims.setdefault(candidate.incident_id, set()).add(call_id)
    return {
        call_id: {incident for incident, callers in claims.items() if callers - {call_id}}
        for call_id in ranked
    }


def duplicate_incidents(incidents: list[IncidentFacts], days: float = 7.0) -> list[tuple[str, str]]:
    """(earlier, later) incident numbers: same INN-KPP and knowledge article, created < `days` apart."""
    groups: dict[tuple, list[IncidentFacts]] = {}
    for incident in incidents:
        if incident.inn and incident.article and incident.created_at:
            groups.setdefault((incident.inn, incident.kpp or "", incident.article), []).append(incident)
    pairs = []
    for group in groups.values():
        group.sort(key=lambda i: i.created_at)
        for i, earlier in enumerate(group):
            for later in group[i + 1 :]:
                if later.created_at - earlier.created_at < timedelta(days=days):
                    pairs.append((earlier.number, later.number))
    return sorted(pairs)


@dataclass
class ContactFacts:
    """A counted call for repeat-contact detection: who called, about what (its purpose, the incidents it
    is linked to), when, and which way."""

    call_id: int
    client_key: str | None  # client id or caller number
    purpose: str | None
    start: datetime | None
    incidents: frozenset[int] = frozenset()
    direction: str | None = None


def repeat_contacts(calls: list[ContactFacts], days: float = 7.0) -> dict[int, int]:
    """call id → the call it repeats: the same client about the same question within `days` before.

    The same question is the same purpose, or the same incident: a client who calls about their open
    incident again asks it again whatever the purpose model made of either call (it may have found none).
    An operator calling the client back is follow-up, not a repeat contact.
    """
    by_client: dict[str, list[ContactFacts]] = {}
    for call in calls:
        if call.client_key and call.start and (call.purpose or call.incidents):
            by_client.setdefault(call.client_key, []).append(call)
    window = timedelta(days=days)
    repeats = {}
    for group in by_client.values():
        group.sort(key=lambda c: (c.start, c.call_id))
        for index, later in enumerate(group):
            if later.direction == "outbound":
                continue
            for before in range(index - 1, -1, -1):  # the nearest earlier call about the same question
                earlier = group[before]
                if later.start - earlier.start > window:
                    break
                same_purpose = bool(later.purpose) and later.purpose == earlier.purpose
                if same_purpose or later.incidents & earlier.incidents:
                    repeats[later.call_id] = earlier.call_id
                    break
    return repeats
