"""The call-level analysis over all calls: incident links, transfers, exclusions, repeats, duplicates.

Runs after the per-recording stages (at the end of `callqa run`, or as `callqa analyse`). It is cheap and
deterministic, so it is recomputed as a whole each time and written in one transaction; decisions that
people made (accepted or rejected candidates, manual links) are kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Engine

from classifiers import ExclusionRules, LinkingOptions, exclusion_reasons, rank_candidates, repeat_contacts
from classifiers.exclusions import CallFacts as ExclusionFacts
from classifiers.linking import CallFacts, ContactFacts, automatic_links, duplicate_incidents
from classifiers.transfers import target_extension
from store.outcomes import CallRow, decided_candidates, load_calls, load_incidents, save_analysis


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
        said_inns=said.get("inn", []),
        said_kpps=said.get("kpp", []),
        purpose_article=article,
        text=text,
    )


def _transfer(call: CallRow) -> dict | None:
    if call.transfers:
        last = call.transfers[-1]
        return {**last, "target": target_extension(last.get("target"))}
    return call.results.get("classify", {}).get("transfer")


def backfill_search_text(engine: Engine) -> int:
    """Index utterances stored before search existed (their stems were never computed)."""
    from sqlalchemy import select, update

    from classifiers.text import stems
    from store.schema import Utterance

    with engine.begin() as conn:
        unindexed = Utterance.search_text.is_(None)
        columns = (Utterance.id, Utterance.normalized_text, Utterance.text)
        rows = conn.execute(select(*columns).where(unindexed)).all()
        for utterance_id, normalized, raw in rows:
            stemmed = " ".join(stems(normalized or raw or ""))
            conn.execute(update(Utterance).where(Utterance.id == utterance_id).values(search_text=stemmed))
    return len(rows)


def analyse(
    engine: Engine, rules: ExclusionRules | None = None, linking: LinkingOptions | None = None
) -> AnalysisSummary:
    """Recompute every call's outcome and store it; returns counts for the report."""
    started = time.perf_counter()
    backfill_search_text(engine)
    rules, linking = rules or ExclusionRules(), linking or LinkingOptions()
    with engine.connect() as conn:
        calls = load_calls(conn)
        incidents = load_incidents(conn)
        decided = decided_candidates(conn)
    numbers = {i.id: i.number for i in incidents}
    summary = AnalysisSummary(calls=len(calls))
    outcomes, candidates, links = [], [], []
    linked_ids: dict[int, bool] = {}
    for call in calls:
        classified = call.results.get("classify", {})
        ranked = (
            rank_candidates(_linking_facts(call, classified.get("article")), incidents, linking)
            if classified
            else []
        )
        rejected = {i for (c, i), d in decided.items() if c == call.id and d == "rejected"}
        accepted = {i for (c, i), d in decided.items() if c == call.id and d == "accepted"}
        auto = [c for c in automatic_links([c for c in ranked if c.incident_id not in rejected], linking)
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
        summary.automatic_links += len(auto)
        if not linked and suggestions:
            summary.unlinked_with_suggestions += 1
        transfer = _transfer(call)
        reasons = exclusion_reasons(
            ExclusionFacts(call.answered, call.billsec, transfer is not None, call.caller_number, linked),
            rules,
        )
        purpose = classified.get("purpose", {})
        outcomes.append(
            {
                "call_id": call.id,
                "counted": not reasons,
                "exclusion_reasons": reasons,
                "transfer": transfer,
                "purpose": purpose.get("label"),
                "purpose_probability": purpose.get("probability"),
                "caller_type": classified.get("caller_type"),
                "registration": classified.get("registration"),
                "compliance_score": (classified.get("compliance") or {}).get("score"),
                "asr_confidence": call.results.get("transcribe", {}).get("confidence"),
                "linked": linked,
                "handle_seconds": call.billsec,
                "repeat_of_call_id": None,
                "followed_by_repeat": False,
                "versions": call.versions,
            }
        )
    by_id = {o["call_id"]: o for o in outcomes}
    contacts = [
        ContactFacts(
            c.id, str(c.client_id) if c.client_id else c.caller_number, by_id[c.id]["purpose"], c.start
        )
        for c in calls
        if by_id[c.id]["counted"]
    ]
    for later, earlier in repeat_contacts(contacts, linking.repeat_days).items():
        by_id[later]["repeat_of_call_id"] = earlier
        by_id[earlier]["followed_by_repeat"] = True
    duplicates = duplicate_incidents(incidents, linking.duplicate_days)
    ids = {number: incident_id for incident_id, number in numbers.items()}
    with engine.begin() as conn:
        save_analysis(conn, outcomes, candidates, links, [(ids[a], ids[b]) for a, b in duplicates])
    for outcome in outcomes:
        for reason in outcome["exclusion_reasons"]:
            summary.excluded[reason] = summary.excluded.get(reason, 0) + 1
    summary.counted = sum(o["counted"] for o in outcomes)
    summary.linked = sum(linked_ids.values())
    summary.repeats = sum(1 for o in outcomes if o.get("repeat_of_call_id"))
    summary.duplicates = len(duplicates)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
