"""Reading what the call-level analysis needs and writing what it decided (outcomes, candidates, links),
and the effective scorecard: the machine's verdicts with people's decisions applied.

Which human decisions change a checklist item (weakest first; a later one wins):

- **calibration**: when at least two evaluators scored an item blind and their latest verdicts all agree, the
  agreed verdict counts (by "the evaluators", reason "agreed in calibration"). Disagreement changes nothing.
- **override**: a quality controller's verdict with a reason (`Evaluation.kind == "override"`).
- **resolution**: a team lead's verdict given when resolving a dispute (`Evaluation.kind == "resolution"`,
  the resolution's comment as the reason).

Overrides and resolutions count in the order they were made, after calibration agreements. Every changed item
keeps its `machine_verdict` and says `decided_by`, `decision_reason` and `decision_kind`.

An item the machine left `uncertain` counts in no score until one of these decides it (people decide pass,
fail or n/a); until then the review queue offers it (`contracts.undecided`).

A call's review state comes from the latest response (acknowledge -> reviewed, dispute -> disputed,
resolve -> resolved) or, without responses, from overrides (reviewed) or none (not_reviewed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, text, update

from contracts import apply_decisions
from store.schema import (
    AuditEntry,
    Call,
    CallIncidentLink,
    CallOutcome,
    DuplicateIncident,
    Evaluation,
    EvaluationResponse,
    Incident,
    IncidentCandidate,
    Operator,
    Recording,
    StageResult,
    Transfer,
)
from store.speech import reindex_search_text
from store.sql import utcnow


@dataclass
class CallRow:
    """A call with its records, its accepted recording's stage results and its existing links."""

    id: int
    uniqueid: str
    start: datetime | None
    answered: bool
    billsec: float | None
    caller_number: str | None
    operator_id: int | None
    operator_code: str | None
    team: str | None
    client_id: int | None
    recording_id: int | None = None
    results: dict[str, dict] = field(default_factory=dict)  # stage -> latest result
    versions: dict[str, str] = field(default_factory=dict)
    transfers: list[dict] = field(default_factory=list)
    kept_links: set[int] = field(default_factory=set)  # incident ids linked by records, helpdesk or people
    direction: str | None = None
    callee_number: str | None = None


def load_calls(conn: Connection) -> list[CallRow]:
    """Every call with what the analysis reads about it."""
    rows = conn.execute(
        select(
            Call.id, Call.uniqueid, Call.start_at, Call.answer_at, Call.billsec, Call.disposition,
            Call.caller_number, Call.operator_id, Call.client_id, Operator.code, Operator.team,
            Call.direction, Call.callee_number,
        ).outerjoin(Operator, Operator.id == Call.operator_id)
    ).all()  # fmt: skip
    calls = {
        r.id: CallRow(
            r.id, r.uniqueid, r.start_at,
            r.answer_at is not None or ((r.disposition or "").upper() == "ANSWERED" and (r.billsec or 0) > 0),
            r.billsec, r.caller_number, r.operator_id, r.code, r.team, r.client_id,
            direction=r.direction, callee_number=r.callee_number,
        )
        for r in rows
    }  # fmt: skip
    recordings = conn.execute(
        select(Recording.id, Recording.call_id).where(
            Recording.status == "accepted", Recording.call_id.is_not(None)
        )
    ).all()
    by_recording = {}
    for recording_id, call_id in recordings:
        if call_id in calls:
            calls[call_id].recording_id = recording_id
            by_recording[recording_id] = calls[call_id]
    for recording_id, stage, version, result in conn.execute(
        select(StageResult.recording_id, StageResult.stage, StageResult.version, StageResult.result).order_by(
            StageResult.id
        )
    ):
        if recording_id in by_recording:
            by_recording[recording_id].results[stage] = result
            by_recording[recording_id].versions[stage] = version
    for call_id, source, kind, target in conn.execute(
        select(Transfer.call_id, Transfer.source, Transfer.kind, Transfer.target).order_by(Transfer.at)
    ):
        if call_id in calls:
            calls[call_id].transfers.append({"source": source, "kind": kind, "target": target})
    for call_id, incident_id in conn.execute(
        select(CallIncidentLink.call_id, CallIncidentLink.incident_id).where(
            CallIncidentLink.source != "automatic"
        )
    ):
        if call_id in calls:
            calls[call_id].kept_links.add(incident_id)
    return sorted(calls.values(), key=lambda c: (c.start or datetime.min, c.id))


def load_incidents(conn: Connection) -> list[tuple]:
    """Incidents as linking reads them: (id, number, created_at, inn, kpp, client_id, operator_id,
    article, summary) rows."""
    rows = conn.execute(
        select(
            Incident.id, Incident.external_id, Incident.created_at, Incident.inn, Incident.kpp,
            Incident.client_id, Incident.operator_id, Incident.knowledge_article, Incident.summary,
        )
    ).all()  # fmt: skip
    return [tuple(row) for row in rows]


def decided_candidates(conn: Connection) -> dict[tuple[int, int], str]:
    """(call, incident) pairs a person accepted or rejected: reruns keep these decisions."""
    rows = conn.execute(
        select(IncidentCandidate.call_id, IncidentCandidate.incident_id, IncidentCandidate.decision).where(
            IncidentCandidate.decision != "pending"
        )
    )
    return {(c, i): d for c, i, d in rows}


REVIEW_STATES = ("not_reviewed", "reviewed", "disputed", "resolved")
_RESPONSE_STATE = {"acknowledge": "reviewed", "dispute": "disputed", "resolve": "resolved"}


def scorecard_decisions(evaluations: Sequence[Mapping[str, Any]]) -> list[dict]:
    """People's item decisions from a call's evaluations (oldest first), weakest first: see the module doc."""
    calibrated: dict[str, dict[str, str]] = {}
    for e in evaluations:
        if e["kind"] == "calibration":
            calibrated.setdefault(e["item_id"], {})[e["evaluator"]] = e["verdict"]
    decisions = []
    for item_id, verdicts in calibrated.items():
        if len(verdicts) >= 2 and len(set(verdicts.values())) == 1:
            decisions.append({"item_id": item_id, "verdict": next(iter(verdicts.values())),
                              "by": ", ".join(sorted(verdicts)), "reason": "agreed in calibration",
                              "kind": "calibration"})  # fmt: skip
    decisions += [
        {"item_id": e["item_id"], "verdict": e["verdict"], "by": e["evaluator"], "reason": e["reason"],
         "kind": e["kind"]}
        for e in evaluations
        if e["kind"] in ("override", "resolution")
    ]  # fmt: skip
    return decisions


def review_state(evaluations: Sequence[Mapping[str, Any]], responses: Sequence[Mapping[str, Any]]) -> str:
    """not_reviewed / reviewed / disputed / resolved, from the latest response or the overrides."""
    if responses:
        return _RESPONSE_STATE.get(responses[-1]["action"], "reviewed")
    return "reviewed" if any(e["kind"] == "override" for e in evaluations) else "not_reviewed"


def effective_scorecard(
    machine: Mapping[str, Any] | None,
    evaluations: Sequence[Mapping[str, Any]],
    responses: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The outcome columns people's decisions set: `scorecard`, `compliance_score`, `review_state`."""
    items = list((machine or {}).get("items") or [])
    if items:
        merged, score = apply_decisions(
            items, scorecard_decisions(evaluations), bool((machine or {}).get("forbidden"))
        )
    else:
        merged, score = [], (machine or {}).get("score")
    return {
        "scorecard": {"items": merged},
        "compliance_score": score,
        "review_state": review_state(evaluations, responses),
    }


def _decisions_by_call(conn: Connection, call_id: int | None = None) -> tuple[dict, dict]:
    evaluations: dict[int, list[dict]] = {}
    responses: dict[int, list[dict]] = {}
    query = select(
        Evaluation.call_id, Evaluation.item_id, Evaluation.verdict, Evaluation.reason, Evaluation.kind,
        Evaluation.evaluator,
    ).order_by(Evaluation.id)  # fmt: skip
    answers = select(EvaluationResponse.call_id, EvaluationResponse.action).order_by(EvaluationResponse.id)
    if call_id is not None:
        query = query.where(Evaluation.call_id == call_id)
        answers = answers.where(EvaluationResponse.call_id == call_id)
    for row in conn.execute(query).mappings():
        evaluations.setdefault(row["call_id"], []).append(dict(row))
    for row in conn.execute(answers).mappings():
        responses.setdefault(row["call_id"], []).append(dict(row))
    return evaluations, responses


def refresh_scorecard(conn: Connection, call_id: int) -> float | None:
    """Recompute a call's effective scorecard, score and review state from its stored machine scorecard
    and people's decisions (called by every write of a decision, so it counts at once); the new score.

    A call not analysed yet has no outcome: nothing to refresh (its analysis applies the decisions).
    """
    machine = conn.execute(
        select(CallOutcome.machine_scorecard, CallOutcome.machine_compliance_score).where(
            CallOutcome.call_id == call_id
        )
    ).first()
    if machine is None:
        return None
    evaluations, responses = _decisions_by_call(conn, call_id)
    stored = machine.machine_scorecard or {"score": machine.machine_compliance_score}
    values = effective_scorecard(stored, evaluations.get(call_id, []), responses.get(call_id, []))
    conn.execute(update(CallOutcome).where(CallOutcome.call_id == call_id).values(**values))
    return values["compliance_score"]


def call_scorecard(conn: Connection, call_id: int) -> dict[str, Any] | None:
    """The stored effective scorecard of a call: {items, score, machine_score, review_state}, or None."""
    row = conn.execute(
        select(
            CallOutcome.scorecard, CallOutcome.compliance_score, CallOutcome.machine_compliance_score,
            CallOutcome.review_state,
        ).where(CallOutcome.call_id == call_id)
    ).first()  # fmt: skip
    if row is None:
        return None
    return {
        "items": (row.scorecard or {}).get("items", []),
        "score": row.compliance_score,
        "machine_score": row.machine_compliance_score,
        "review_state": row.review_state,
    }


def inputs_mark(conn: Connection) -> str:
    """A fingerprint of everything the call-level analysis reads: equal marks, nothing new to analyse.

    Counts and newest ids of calls, accepted recordings, stage results, transfers, links people or records
    made, incidents, decided candidates, evaluations, responses, and the newest ingest run (which may
    update incidents and calls in place). What the analysis writes itself (automatic links, pending
    candidates) is left out, so an analysis does not make itself due again.
    """
    parts = []
    for column, *where in (
        (Call.id,),
        (Recording.id, Recording.status == "accepted"),
        (StageResult.id,),
        (StageResult.created_at,),  # a result rewritten under the id it had
        (Transfer.id,),
        (CallIncidentLink.id, CallIncidentLink.source != "automatic"),
        (Incident.id,),
        (IncidentCandidate.decided_at, IncidentCandidate.decision != "pending"),
        (Evaluation.id,),
        (EvaluationResponse.id,),
        (AuditEntry.id, AuditEntry.action == "ingest"),
    ):
        count, newest = conn.execute(select(func.count(column), func.max(column)).where(*where)).one()
        parts.append(f"{count}:{newest}")
    return "/".join(parts)


def _row(outcome: Any) -> dict:
    return dataclasses.asdict(outcome) if dataclasses.is_dataclass(outcome) else dict(outcome)


def save_analysis(
    conn: Connection,
    outcomes: Sequence[Any],
    candidates: list[dict],
    automatic_links: list[dict],
    duplicates: list[tuple[int, int]],
) -> None:
    """Replace the analysis results in one transaction; people's decisions and non-automatic links stay.

    `outcomes` are dataclasses (or mappings) with the outcome columns and the machine scorecard; people's
    decisions are applied here, inside the writing transaction, so one made while the analysis ran is
    never lost.
    """
    if conn.dialect.name == "postgresql":
        # One writer of outcomes at a time (two drivers finishing together; a decision's refresh waits for
        # the new rows and then applies itself to them). SQLite serialises writers anyway.
        conn.execute(text("LOCK TABLE call_outcomes IN SHARE ROW EXCLUSIVE MODE"))
    evaluations, responses = _decisions_by_call(conn)
    rows = []
    now = utcnow()
    for outcome in outcomes:
        row = _row(outcome)
        call_id = row["call_id"]
        row.update(
            effective_scorecard(
                row.get("machine_scorecard"), evaluations.get(call_id, []), responses.get(call_id, [])
            )
        )
        rows.append({**row, "computed_at": now})
    conn.execute(delete(CallOutcome))
    conn.execute(delete(IncidentCandidate).where(IncidentCandidate.decision == "pending"))
    conn.execute(delete(CallIncidentLink).where(CallIncidentLink.source == "automatic"))
    conn.execute(delete(DuplicateIncident))
    if rows:
        conn.execute(CallOutcome.__table__.insert(), rows)
    if candidates:
        conn.execute(IncidentCandidate.__table__.insert(), candidates)
    if automatic_links:
        conn.execute(CallIncidentLink.__table__.insert(), automatic_links)
    if duplicates:
        conn.execute(
            DuplicateIncident.__table__.insert(),
            [{"incident_id": later, "duplicate_of_id": earlier} for earlier, later in duplicates],
        )


def index_search_text(conn: Connection, stems=None) -> int:
    """Compute the search stems of utterances stored before search existed; how many there were.

    The store computes them itself (`store.speech.search_text`: personal data left out); `stems` is not used.
    """
    return reindex_search_text(conn)
