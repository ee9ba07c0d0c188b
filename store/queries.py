"""Read API over analysed calls: filtered call lists with everything decided about them, and KPI facts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

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
    Utterance,
)


@dataclass
class CallFilter:
    """Which calls: by operator code, team (its operators' calls, and calls no operator took in a queue
    the team answers), period, counted or not."""

    operator: str | None = None
    team: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    counted: bool | None = None
    call_id: int | None = None


def _filtered(query, where: CallFilter):
    if where.operator:
        query = query.where(Operator.code == where.operator)
    if where.team:
        query = query.where(in_team(where.team))
    if where.since:
        query = query.where(Call.start_at >= where.since)
    if where.until:
        query = query.where(Call.start_at < where.until)
    if where.call_id is not None:
        query = query.where(Call.id == where.call_id)
    if where.counted is not None:
        query = query.where(CallOutcome.counted.is_(where.counted))
    return query


def recordings_of(where: CallFilter | None = None, mono: bool = False) -> Select:
    """Ids of the recordings of the calls `where` picks, analysed or not (None: every recording, with a
    call or without); with `mono`, only those transcribed as one mixed channel, whose roles came from
    voiceprints and the site's script rather than the PBX's channel map."""
    query = select(Recording.id)
    if where is not None:
        with_calls = query.join(Call, Call.id == Recording.call_id).outerjoin(
            Operator, Operator.id == Call.operator_id
        )
        query = _filtered(with_calls, replace(where, counted=None))
    if mono:
        query = query.where(
            exists().where(
                StageResult.recording_id == Recording.id,
                StageResult.stage == "transcribe",
                StageResult.result["layout"].as_string() == "mono",
            )
        )
    return query


def count_picked(conn: Connection, picked: Select) -> int:
    """How many rows a select of ids (such as `recordings_of`) picks."""
    return conn.execute(select(func.count()).select_from(picked.subquery())).scalar_one()


def in_team(team: str):
    """A team's calls: its operators', and those no operator took (abandoned, unanswered) in a queue the
    team's operators answer, so that a team lead sees the callers their queue lost."""
    answered, by = aliased(Call), aliased(Operator)
    team_queues = (
        select(answered.queue)
        .join(by, by.id == answered.operator_id)
        .where(by.team == team, answered.queue.is_not(None))
        .distinct()
    )
    return or_(Operator.team == team, and_(Call.operator_id.is_(None), Call.queue.in_(team_queues)))


def _recording_state():
    """Per call: "accepted" when a recording of it is analysed, else the code of a file of it that was
    rejected ("rejected: truncated"), else NULL (no recording)."""
    accepted = (
        select(Recording.id)
        .where(Recording.call_id == Call.id, Recording.status == "accepted")
        .correlate(Call)
        .exists()
    )
    rejected = (
        select(func.min("rejected: " + func.coalesce(Recording.reject_code, "unreadable")))
        .where(Recording.call_id == Call.id, Recording.status == "rejected")
        .correlate(Call)
        .scalar_subquery()
    )
    return case((accepted, literal("accepted")), else_=rejected)


def analysed_calls(
    conn: Connection,
    where: CallFilter | None = None,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = False,
) -> list[dict]:
    """Calls with their outcome (one row each), oldest first unless `newest_first`; a page with `limit`."""
    order = (Call.start_at.desc(), Call.id.desc()) if newest_first else (Call.start_at, Call.id)
    query = (
        select(
            Call.id, Call.uniqueid, Call.start_at, Call.caller_number, Call.billsec, Call.source,
            # The other party: the caller of an inbound call, the number an operator dialled out to.
            case((Call.direction == "outbound", Call.callee_number), else_=Call.caller_number).label(
                "customer_number"
            ),
            Operator.code.label("operator"), Operator.name.label("operator_name"), Operator.team,
            _recording_state().label("recording"), CallOutcome,
        )
        .join(CallOutcome, CallOutcome.call_id == Call.id)
        .outerjoin(Operator, Operator.id == Call.operator_id)
        .order_by(*order)
        .limit(limit).offset(offset)
    )  # fmt: skip
    rows = conn.execute(_filtered(query, where or CallFilter())).mappings().all()
    return [dict(row) for row in rows]


def kpi_facts(conn: Connection, where: CallFilter | None = None, group_column: str = "operator") -> list:
    """Counted calls as (id, group, handle, repeat_of, followed_by_repeat, linked, compliance) tuples.

    Only what KPIs need, no JSON columns and no timestamps unless grouping by time: fast over 100k calls.
    """
    where = where or CallFilter()
    where.counted = True
    group = {"operator": Operator.code, "team": Operator.team}.get(group_column, Call.start_at)
    query = (
        select(
            Call.id, group, CallOutcome.handle_seconds, CallOutcome.repeat_of_call_id,
            CallOutcome.followed_by_repeat, CallOutcome.linked, CallOutcome.compliance_score,
        )
        .join(CallOutcome, CallOutcome.call_id == Call.id)
        .outerjoin(Operator, Operator.id == Call.operator_id)
    )  # fmt: skip
    return conn.execute(_filtered(query, where)).all()


def count_calls(conn: Connection, where: CallFilter | None = None) -> int:
    """How many analysed calls match."""
    query = (
        select(func.count())
        .select_from(Call)
        .join(CallOutcome, CallOutcome.call_id == Call.id)
        .outerjoin(Operator, Operator.id == Call.operator_id)
    )
    return conn.execute(_filtered(query, where or CallFilter())).scalar_one()


def call_details(conn: Connection, call_ids: list[int]) -> dict[int, dict]:
    """Utterances, classification, links, candidates and duplicate flags for the given calls."""
    details: dict[int, dict] = {cid: {"utterances": [], "links": [], "candidates": [], "classify": None,
                                      "transcribe": None} for cid in call_ids}  # fmt: skip
    if not call_ids:
        return details
    for row in conn.execute(
        select(Utterance.call_id, Utterance.role, Utterance.start, Utterance.end, Utterance.text,
               Utterance.normalized_text, Utterance.confidence, Utterance.overlap)
        .where(Utterance.call_id.in_(call_ids)).order_by(Utterance.call_id, Utterance.idx)
    ).mappings():  # fmt: skip
        details[row["call_id"]]["utterances"].append({k: row[k] for k in row if k != "call_id"})
    for call_id, stage, result in conn.execute(
        select(Recording.call_id, StageResult.stage, StageResult.result)
        .join(StageResult, StageResult.recording_id == Recording.id)
        .where(Recording.call_id.in_(call_ids), StageResult.stage.in_(("classify", "transcribe")))
        .order_by(StageResult.id)
    ):
        details[call_id][stage] = result
    duplicates = set(conn.execute(select(DuplicateIncident.incident_id)).scalars())
    linked: set[tuple[int, int]] = set()
    for call_id, number, source, confidence, incident_id in conn.execute(
        select(CallIncidentLink.call_id, Incident.external_id, CallIncidentLink.source,
               CallIncidentLink.confidence, Incident.id)
        .join(Incident, Incident.id == CallIncidentLink.incident_id)
        .where(CallIncidentLink.call_id.in_(call_ids))
    ):  # fmt: skip
        linked.add((call_id, incident_id))
        details[call_id]["links"].append(
            {
                "incident": number,
                "source": source,
                "confidence": confidence,
                "duplicate": incident_id in duplicates,
            }
        )
    for call_id, number, rank, confidence, reasons, decision, incident_id in conn.execute(
        select(IncidentCandidate.call_id, Incident.external_id, IncidentCandidate.rank,
               IncidentCandidate.confidence, IncidentCandidate.reasons, IncidentCandidate.decision,
               Incident.id)
        .join(Incident, Incident.id == IncidentCandidate.incident_id)
        .where(IncidentCandidate.call_id.in_(call_ids)).order_by(IncidentCandidate.rank)
    ):  # fmt: skip
        if (call_id, incident_id) in linked:
            continue  # linked already (automatically or by a person): no longer a suggestion
        details[call_id]["candidates"].append(
            {
                "incident": number,
                "incident_id": incident_id,
                "rank": rank,
                "confidence": confidence,
                "reasons": reasons,
                "decision": decision,
            }
        )
    return details


def duplicate_pairs_where(
    conn: Connection, operator: str | None = None, team: str | None = None, nothing: bool = False
) -> list[tuple[str, str]]:
    """(earlier, later) incident numbers flagged as duplicates, optionally only those whose later incident
    was registered by this operator or team (unscoped: readers go through `store.api.duplicate_pairs`)."""
    if nothing:
        return []
    earlier = Incident.__table__.alias("earlier")
    query = (
        select(earlier.c.external_id, Incident.external_id)
        .join(DuplicateIncident, DuplicateIncident.incident_id == Incident.id)
        .join(earlier, earlier.c.id == DuplicateIncident.duplicate_of_id)
        .outerjoin(Operator, Operator.id == Incident.operator_id)
    )
    if operator:
        query = query.where(Operator.code == operator)
    if team:
        query = query.where(Operator.team == team)
    return sorted((a, b) for a, b in conn.execute(query))


def stage_result(conn: Connection, recording_id: int, stage: str) -> dict | None:
    """The latest stored result of one stage for a recording, or None."""
    return conn.execute(
        select(StageResult.result)
        .where(StageResult.recording_id == recording_id, StageResult.stage == stage)
        .order_by(StageResult.id.desc())
        .limit(1)
    ).scalar()


def busiest_operator(conn: Connection) -> tuple[str, str | None] | None:
    """(code, team) of the operator with the most calls, or None when no call has an operator."""
    row = conn.execute(
        select(Operator.code, Operator.team).join(Call, Call.operator_id == Operator.id)
        .group_by(Operator.code, Operator.team).order_by(func.count().desc()).limit(1)
    ).first()  # fmt: skip
    return (row[0], row[1]) if row else None
