"""The call outcomes stage: incident links, transfers, exclusions, repeats, duplicates and scorecards.

A site-wide stage (repeats and duplicates look across calls): the runner runs it once after
classification whenever its inputs changed (`callqa run`, locally or on Ray); `callqa analyse` runs just it.
It is cheap and deterministic, so it is recomputed as a whole and written in one transaction; decisions
that people made (accepted or rejected candidates, manual links, verdicts) are kept, and the store applies
people's verdicts to the machine scorecard as it writes the outcome (the effective scorecard).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from classifiers import LinkingOptions, exclusion_reasons, rank_candidates, repeat_contacts
from classifiers.exclusions import CallFacts as ExclusionFacts
from classifiers.linking import (
    CallFacts,
    ContactFacts,
    IncidentFacts,
    automatic_links,
    duplicate_incidents,
    explained_elsewhere,
)
from classifiers.text import stems
from classifiers.transfers import target_extension
from contracts import CallRules
from contracts.phones import canonical_phone
from contracts.scorecard import forbidden_item
from pipeline.config import StageOptions
from pipeline.stages.site import SiteStage
from store.call_records import link_clients_by_said_phones
from store.outcomes import (
    CallRow,
    decided_candidates,
    index_search_text,
    inputs_mark,
    load_calls,
    load_incidents,
    save_analysis,
)
from store.purposes import corrected_purposes, latest_purpose_corrections


@dataclass
class Outcome:
    """What the analysis decided about one call, with the machine's scorecard.

    The effective scorecard (people's decisions applied), its score and the review state are set by the
    store when it writes the outcome; until then they are the machine's.
    """

    call_id: int
    counted: bool
    exclusion_reasons: list[str] = field(default_factory=list)
    transfer: dict | None = None
    purpose: str | None = None
    purpose_probability: float | None = None
    purposes: list[dict] | None = None  # every purpose found, the top one first
    caller_type: str | None = None
    registration: str | None = None
    machine_compliance_score: float | None = None
    machine_scorecard: dict | None = None  # {"items": [...] (forbidden phrases found too), "score": …}
    compliance_score: float | None = None
    scorecard: dict | None = None
    review_state: str = "not_reviewed"
    asr_confidence: float | None = None
    linked: bool = False
    handle_seconds: float | None = None
    repeat_of_call_id: int | None = None
    followed_by_repeat: bool = False
    versions: dict[str, str] = field(default_factory=dict)


@dataclass
class AnalysisSummary:
    """What one analysis pass found."""

    calls: int = 0
    counted: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    linked: int = 0
    automatic_links: int = 0
    unlinked_with_suggestions: int = 0
    repeats: int = 0
    duplicates: int = 0
    seconds: float = 0.0


def _accepted(decided: Mapping[tuple[int, int], str], call_id: int) -> set[int]:
    """Incidents a person linked to the call by accepting a suggestion."""
    return {i for (c, i), d in decided.items() if c == call_id and d == "accepted"}


def _linking_facts(call: CallRow, article: str | None) -> CallFacts:
    classified = call.results.get("classify", {})
    said = classified.get("said", {})
    words = [*classified.get("keywords", []), classified.get("purpose", {}).get("label") or ""]
    text = " ".join(w for w in words if w)
    return CallFacts(
        id=call.id,
        start=call.start,
        operator_id=call.operator_id,
        client_id=call.client_id,
        said_numbers=said.get("incident", []),
        said_fragments=said.get("fragments", []),
        said_inns=said.get("inn", []),
        said_kpps=said.get("kpp", []),
        reread_numbers=said.get("reread_incident", []),
        reread_inns=said.get("reread_inn", []),
        purpose_article=article,
        text=text,
    )


def _identify_by_said_phones(engine: Engine, calls: list[CallRow], country: str) -> None:
    """A call from an unknown number whose customer said a client's phone (read in the site's `country`)
    is that client's call."""
    said = {
        call.id: [n for p in call.results.get("classify", {}).get("said", {}).get("phone", [])
                  if (n := canonical_phone(p, country))]
        for call in calls
        if call.client_id is None
    }  # fmt: skip
    if not any(said.values()):
        return
    with engine.begin() as conn:
        found = link_clients_by_said_phones(conn, said)
    for call in calls:
        call.client_id = found.get(call.id, call.client_id)


def _customer_number(call: CallRow) -> str | None:
    """The other party's number: the caller of an inbound call, the number an operator dialled out to."""
    return call.callee_number if call.direction == "outbound" else call.caller_number


def _transfer(call: CallRow) -> dict | None:
    if call.transfers:
        last = call.transfers[-1]
        return {**last, "target": target_extension(last.get("target"))}
    return call.results.get("classify", {}).get("transfer")


def _machine_scorecard(classified: Mapping[str, Any]) -> dict | None:
    compliance = classified.get("compliance")
    if not compliance:
        return None
    # A forbidden phrase found is an item people decide like the others (said or not).
    found = [forbidden_item({"verdict": "fail", **f}) for f in compliance.get("forbidden") or []]
    return {"items": [*(compliance.get("items") or []), *found], "score": compliance.get("score")}


def _purposes(machine: Mapping[str, Any], corrected: str | None) -> tuple[str | None, float | None, list]:
    """The call's purpose, its probability and all its purposes: the model's, or a person's correction."""
    found = [{"label": label, "probability": p} for label, p in machine.get("labels") or []]
    if not found and machine.get("label"):  # classified before several purposes were found
        found = [{"label": machine["label"], "probability": machine.get("probability")}]
    if corrected:
        return corrected, None, corrected_purposes(found, corrected)
    return machine.get("label"), machine.get("probability"), found


def backfill_search_text(engine: Engine) -> int:
    """Index utterances stored before search existed (their stems were never computed)."""
    with engine.begin() as conn:
        return index_search_text(conn, stems)


def analyse(
    engine: Engine, rules: CallRules | None = None, linking: LinkingOptions | None = None
) -> AnalysisSummary:
    """Recompute every call's outcome and store it; returns counts for the report (`callqa analyse`)."""
    started = time.perf_counter()
    backfill_search_text(engine)
    rules, linking = rules or CallRules(), linking or LinkingOptions()
    with engine.connect() as conn:
        calls = load_calls(conn)
        incidents = [IncidentFacts(*row) for row in load_incidents(conn)]
        decided = decided_candidates(conn)
        corrections = latest_purpose_corrections(conn)
    _identify_by_said_phones(engine, calls, rules.phone_country)
    numbers = {i.id: i.number for i in incidents}
    summary = AnalysisSummary(calls=len(calls))
    outcomes, candidates, links = [], [], []
    linked_ids: dict[int, bool] = {}
    incidents_of: dict[int, frozenset[int]] = {}
    # An answered call with nothing heard (its recording rejected or missing, or not classified yet) is
    # still ranked on what its records say (client, operator, time): suggestions for a person, too weak to
    # link on their own; a later run ranks it again on what was said.
    ranked_by_call = {
        call.id: rank_candidates(_linking_facts(call, classified.get("article")), incidents, linking)
        for call in calls
        if (classified := call.results.get("classify", {})) or call.answered
    }
    kept = {call.id: call.kept_links | _accepted(decided, call.id) for call in calls}
    explained = explained_elsewhere(ranked_by_call, kept, linking)
    for call in calls:
        classified = call.results.get("classify", {})
        ranked = ranked_by_call.get(call.id, [])
        rejected = {i for (c, i), d in decided.items() if c == call.id and d == "rejected"}
        accepted = _accepted(decided, call.id)
        choosable = [c for c in ranked if c.incident_id not in rejected]
        auto = [c for c in automatic_links(choosable, linking, explained.get(call.id, set()))
                if c.incident_id not in call.kept_links | accepted]  # fmt: skip
        suggestions = [
            c for c in ranked if c.incident_id not in call.kept_links
        ]  # already linked: no suggestion
        for rank, candidate in enumerate(suggestions, start=1):
            if (call.id, candidate.incident_id) not in decided:
                candidates.append({"call_id": call.id, "incident_id": candidate.incident_id, "rank": rank,
                                   "confidence": candidate.confidence,
                                   "reasons": candidate.reasons})  # fmt: skip
        links += [{"call_id": call.id, "incident_id": c.incident_id, "source": "automatic",
                   "confidence": c.confidence, "created_by": "callqa"} for c in auto]  # fmt: skip
        linked = bool(call.kept_links or accepted or auto)
        linked_ids[call.id] = linked
        incidents_of[call.id] = frozenset(call.kept_links | accepted | {c.incident_id for c in auto})
        summary.automatic_links += len(auto)
        if not linked and suggestions:
            summary.unlinked_with_suggestions += 1
        transfer = _transfer(call)
        reasons = exclusion_reasons(
            ExclusionFacts(call.answered, call.billsec, transfer is not None, _customer_number(call), linked),
            rules,
        )
        purpose, probability, purposes = _purposes(classified.get("purpose") or {}, corrections.get(call.id))
        machine = _machine_scorecard(classified)
        score = (classified.get("compliance") or {}).get("score")
        outcomes.append(
            Outcome(
                call_id=call.id,
                counted=not reasons,
                exclusion_reasons=reasons,
                transfer=transfer,
                purpose=purpose,
                purpose_probability=probability,
                purposes=purposes,
                caller_type=classified.get("caller_type"),
                registration=classified.get("registration"),
                machine_compliance_score=score,
                machine_scorecard=machine,
                compliance_score=score,
                scorecard={"items": machine["items"]} if machine else None,
                asr_confidence=call.results.get("transcribe", {}).get("confidence"),
                linked=linked,
                handle_seconds=call.billsec,
                versions=call.versions,
            )
        )
    by_id = {o.call_id: o for o in outcomes}
    contacts = [
        ContactFacts(
            c.id,
            str(c.client_id) if c.client_id else c.caller_number,
            by_id[c.id].purpose,
            c.start,
            incidents_of[c.id],
            c.direction,
        )
        for c in calls
        if by_id[c.id].counted
    ]
    for later, earlier in repeat_contacts(contacts, linking.repeat_days).items():
        by_id[later].repeat_of_call_id = earlier
        by_id[earlier].followed_by_repeat = True
    duplicates = duplicate_incidents(incidents, linking.duplicate_days)
    ids = {number: incident_id for incident_id, number in numbers.items()}
    with engine.begin() as conn:
        save_analysis(conn, outcomes, candidates, links, [(ids[a], ids[b]) for a, b in duplicates])
    for outcome in outcomes:
        for reason in outcome.exclusion_reasons:
            summary.excluded[reason] = summary.excluded.get(reason, 0) + 1
    summary.counted = sum(o.counted for o in outcomes)
    summary.linked = sum(linked_ids.values())
    summary.repeats = sum(1 for o in outcomes if o.repeat_of_call_id)
    summary.duplicates = len(duplicates)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _run(engine: Engine, options: StageOptions) -> AnalysisSummary:
    return analyse(engine, options.analytics.exclusions, options.analytics.linking)


def _options_version(options: StageOptions) -> str:
    analytics = options.analytics
    settings = json.dumps(
        [dataclasses.asdict(analytics.exclusions), dataclasses.asdict(analytics.linking)],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(settings.encode()).hexdigest()[:8]


OUTCOMES = SiteStage(
    name="outcomes",
    version="3",  # 3: a call about the same incident again is a repeat contact; callbacks are not
    run=_run,
    inputs_mark=inputs_mark,
    depends_on=("classify",),
    versioned_by=_options_version,
)
