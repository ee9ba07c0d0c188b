"""Reading what the call-level analysis needs and writing what it decided (outcomes, candidates, links)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, delete, select

from store.schema import (
    Call,
    CallIncidentLink,
    CallOutcome,
    DuplicateIncident,
    Incident,
    IncidentCandidate,
    Operator,
    Recording,
    StageResult,
    Transfer,
)
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


def load_calls(conn: Connection) -> list[CallRow]:
    """Every call with what the analysis reads about it."""
    rows = conn.execute(
        select(
            Call.id, Call.uniqueid, Call.start_at, Call.answer_at, Call.billsec, Call.disposition,
            Call.caller_number, Call.operator_id, Call.client_id, Operator.code, Operator.team,
        ).outerjoin(Operator, Operator.id == Call.operator_id)
    ).all()  # fmt: skip
    calls = {
        r.id: CallRow(
            r.id, r.uniqueid, r.start_at,
            r.answer_at is not None or ((r.disposition or "").upper() == "ANSWERED" and (r.billsec or 0) > 0),
            r.billsec, r.caller_number, r.operator_id, r.code, r.team, r.client_id,
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


def load_incidents(conn: Connection) -> list:
    """Incidents as linking facts."""
    from classifiers.linking import IncidentFacts

    rows = conn.execute(
        select(
            Incident.id, Incident.external_id, Incident.created_at, Incident.inn, Incident.kpp,
            Incident.client_id, Incident.operator_id, Incident.knowledge_article, Incident.summary,
        )
    ).all()  # fmt: skip
    return [IncidentFacts(*row) for row in rows]


def decided_candidates(conn: Connection) -> dict[tuple[int, int], str]:
    """(call, incident) pairs a person accepted or rejected: reruns keep these decisions."""
    rows = conn.execute(
        select(IncidentCandidate.call_id, IncidentCandidate.incident_id, IncidentCandidate.decision).where(
            IncidentCandidate.decision != "pending"
        )
    )
    return {(c, i): d for c, i, d in rows}


def save_analysis(
    conn: Connection,
    outcomes: list[dict],
    candidates: list[dict],
    automatic_links: list[dict],
    duplicates: list[tuple[int, int]],
) -> None:
    """Replace the analysis results in one transaction; people's decisions and non-automatic links stay."""
    conn.execute(delete(CallOutcome))
    conn.execute(delete(IncidentCandidate).where(IncidentCandidate.decision == "pending"))
    conn.execute(delete(CallIncidentLink).where(CallIncidentLink.source == "automatic"))
    conn.execute(delete(DuplicateIncident))
    if outcomes:
        conn.execute(CallOutcome.__table__.insert(), [{**o, "computed_at": utcnow()} for o in outcomes])
    if candidates:
        conn.execute(IncidentCandidate.__table__.insert(), candidates)
    if automatic_links:
        conn.execute(CallIncidentLink.__table__.insert(), automatic_links)
    if duplicates:
        conn.execute(
            DuplicateIncident.__table__.insert(),
            [{"incident_id": later, "duplicate_of_id": earlier} for earlier, later in duplicates],
        )
