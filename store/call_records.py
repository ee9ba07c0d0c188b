"""Registering what ingest found: recordings, call-record legs, queue events, incidents, problems.

Every write is keyed by content (sha256, row fingerprint, uniqueid, incident id), so registering the
same input twice changes nothing, and every function is safe to call again after a crash.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ingest.audio import AUDIO_EXTENSIONS
from ingest.fingerprint import row_fingerprint
from ingest.queue_log import agent_code
from ingest.records import CallRecord, IncidentRecord, QueueLogEvent, RowProblem
from ingest.validate import ValidationOptions, check_against_call_record
from store.schema import (
    Call,
    CallIncidentLink,
    CallLeg,
    Client,
    Incident,
    IngestIssue,
    Job,
    Operator,
    QueueEvent,
    Recording,
    RecordingPath,
    Transfer,
)
from store.sql import insert_ignore, utcnow

INTERNAL_NUMBER_MAX_LENGTH = 5
_INBOUND_CONTEXT = re.compile(r"from-(trunk|pstn|external|did)|incoming|inbound|ext-queues", re.IGNORECASE)
_TRANSFER_EVENTS = {"ATTENDEDTRANSFER": "attended", "BLINDTRANSFER": "blind", "TRANSFER": "blind"}
_ABANDON_EVENTS = {"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"}


@dataclass
class RecordingOutcome:
    """What registering one recording did."""

    recording_id: int | None
    status: str  # accepted | rejected
    message: str = ""


@dataclass
class RegisterCounts:
    """Counters for an ingest summary."""

    added: int = 0
    unchanged: int = 0
    problems: int = 0
    details: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- problems


def record_problems(conn: Connection, kind: str, problems: Iterable[RowProblem]) -> int:
    """Keep each problem once (by where and what), so re-running ingest does not repeat reports."""
    rows = [
        {
            "fingerprint": row_fingerprint(kind, p.source, p.line, p.code, p.message),
            "kind": kind,
            "source": p.source,
            "line": p.line,
            "code": p.code,
            "message": p.message,
        }
        for p in problems
    ]
    return insert_ignore(conn, IngestIssue.__table__, rows, ["fingerprint"])


# ---------------------------------------------------------------- operators and clients


def operator_ids(conn: Connection, codes: Iterable[str | None]) -> dict[str, int]:
    """Ids for operator codes, creating operators seen for the first time."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    insert_ignore(conn, Operator.__table__, [{"code": c} for c in wanted], ["code"])
    rows = conn.execute(select(Operator.code, Operator.id).where(Operator.code.in_(wanted)))
    return dict(rows.all())


def _client_id(
    conn: Connection, phone: str | None, inn: str | None, kpp: str | None, name: str | None
) -> int | None:
    if not (phone or inn):
        return None
    condition = (
        and_(Client.inn == inn, Client.kpp.is_(None) if kpp is None else Client.kpp == kpp)
        if inn
        else Client.phone == phone
    )
    existing = conn.execute(select(Client.id, Client.phone).where(condition).limit(1)).first()
    if existing:
        if phone and not existing.phone:
            conn.execute(update(Client).where(Client.id == existing.id).values(phone=phone))
        return existing.id
    return conn.execute(
        Client.__table__.insert().values(phone=phone, inn=inn, kpp=kpp, name=name).returning(Client.id)
    ).scalar_one()


# ---------------------------------------------------------------- recordings


def known_recordings(conn: Connection, shas: Sequence[str]) -> dict[str, tuple[int, str]]:
    """sha256 -> (recording id, status) for contents already registered."""
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(shas), 500):
        chunk = shas[start : start + 500]
        rows = conn.execute(
            select(Recording.sha256, Recording.id, Recording.status).where(Recording.sha256.in_(chunk))
        )
        found.update({sha: (rid, status) for sha, rid, status in rows})
    return found


def remember_path(conn: Connection, recording_id: int, path: str) -> bool:
    """Note that a recording's content was seen under `path`; True when the path is new."""
    return bool(
        insert_ignore(conn, RecordingPath.__table__, [{"recording_id": recording_id, "path": path}], ["path"])
    )


def add_recording(conn: Connection, facts) -> RecordingOutcome:
    """Register one examined recording (an `ingest.RecordingFacts`) that is not yet in the store."""
    audio = facts.audio
    identity = facts.identity
    status = "rejected" if facts.rejection else "accepted"
    values = {
        "path": identity.path,
        "file_name": Path(identity.path).name,
        "sha256": identity.sha256,
        "size_bytes": identity.size_bytes,
        "uniqueid_hint": facts.uniqueid_hint,
        "status": status,
        "reject_code": facts.rejection.code if facts.rejection else None,
        "reject_reason": facts.rejection.message if facts.rejection else None,
    }
    if audio:
        values.update(
            container=audio.container,
            codec=audio.codec,
            sample_rate=audio.sample_rate,
            channels=audio.channels,
            decoded_duration=audio.decoded_duration,
            declared_duration=audio.declared_duration,
            peak_dbfs=audio.peak_dbfs,
            rms_dbfs=audio.rms_dbfs,
        )
    recording_id = conn.execute(
        Recording.__table__.insert().values(**values).returning(Recording.id)
    ).scalar_one()
    remember_path(conn, recording_id, identity.path)
    return RecordingOutcome(recording_id, status, values["reject_reason"] or "")


def attach_recordings(conn: Connection, options: ValidationOptions | None = None) -> list[RowProblem]:
    """Link recordings that have no call yet to their call: by the uniqueid in a MixMonitor file name,
    or by the file name a call record names.

    A recording whose length disagrees with the call's talk time is rejected (`duration_mismatch`);
    a second file for a call that already has an accepted recording becomes a `conflict`; a new file
    for a call whose only recording was rejected takes its place.
    """
    problems: list[RowProblem] = []
    candidates = conn.execute(
        select(
            Recording.id,
            Recording.path,
            Recording.status,
            Recording.decoded_duration,
            Call.id,
            Call.uniqueid,
            Call.billsec,
        )
        .join(
            Call,
            or_(
                Call.uniqueid == Recording.uniqueid_hint,
                and_(Call.recording_file.is_not(None), Call.recording_file == Recording.file_name),
            ),
        )
        .where(Recording.call_id.is_(None), Recording.status.in_(("accepted", "rejected")))
        .order_by(Recording.id, Call.id)
    ).all()
    seen: set[int] = set()
    for rec_id, path, status, decoded, call_id, uniqueid, billsec in candidates:
        if rec_id in seen:
            continue
        seen.add(rec_id)
        values: dict = {"call_id": call_id}
        if status == "accepted":
            holder = conn.execute(
                select(Recording.id, Recording.path).where(
                    Recording.call_id == call_id, Recording.status == "accepted"
                )
            ).first()
            mismatch = check_against_call_record(decoded or 0.0, billsec, options)
            if holder is not None:
                message = (
                    f"call {uniqueid} already has recording {holder.path}; this different file was not used "
                    f"(remove one of them and ingest again)"
                )
                values.update(status="conflict", reject_code="conflict", reject_reason=message)
            elif mismatch:
                values.update(status="rejected", reject_code=mismatch.code, reject_reason=mismatch.message)
            if values.get("status"):
                problems.append(RowProblem(path, None, values["reject_code"], values["reject_reason"]))
                # Work queued before the call record arrived must not go on for a file now rejected.
                conn.execute(delete(Job).where(Job.recording_id == rec_id, Job.state == "pending"))
        conn.execute(update(Recording).where(Recording.id == rec_id).values(**values))
    return problems


# ---------------------------------------------------------------- call records


def infer_direction(src: str | None, dst: str | None, dcontext: str | None, mapped: str | None = None) -> str:
    """inbound / outbound / internal from what a call record says (a mapped column wins)."""
    if mapped:
        return mapped.lower()
    if dcontext and _INBOUND_CONTEXT.search(dcontext):
        return "inbound"
    src_internal = bool(src) and len(src) <= INTERNAL_NUMBER_MAX_LENGTH
    dst_internal = bool(dst) and len(dst) <= INTERNAL_NUMBER_MAX_LENGTH
    if src_internal and not dst_internal:
        return "outbound"
    if src_internal and dst_internal:
        return "internal"
    return "inbound"


def _leg_operator(leg: CallLeg, direction: str) -> str | None:
    """The operator on an answered leg: the callee's channel, or the caller's on outbound calls."""
    return agent_code(leg.channel if direction == "outbound" else leg.dstchannel)


_LEG_FIELDS = {
    "src": "src", "dst": "dst", "dcontext": "dcontext", "clid": "clid", "channel": "channel",
    "dstchannel": "dstchannel", "lastapp": "lastapp", "lastdata": "lastdata", "start_at": "start",
    "answer_at": "answer", "end_at": "end", "duration": "duration", "billsec": "billsec",
    "disposition": "disposition", "accountcode": "accountcode", "userfield": "userfield",
    "linkedid": "linkedid", "sequence": "sequence", "source_file": "source_file",
    "source_line": "source_line",
}  # fmt: skip
_CHUNK = 500


def _leg_row(call_id: int, leg: CallRecord) -> dict:
    row = {column: getattr(leg, attribute) for column, attribute in _LEG_FIELDS.items()}
    row["call_id"] = call_id
    row["fingerprint"] = row_fingerprint(
        leg.uniqueid, leg.channel, leg.dstchannel, leg.start, leg.answer, leg.end, leg.billsec,
        leg.disposition, leg.dst, leg.lastapp,
    )  # fmt: skip
    return row


def register_call_records(conn: Connection, records: Sequence[CallRecord]) -> RegisterCounts:
    """Store call-record legs (each once) and rebuild the calls that got new legs, in batches."""
    counts = RegisterCounts()
    by_call: dict[str, list[CallRecord]] = defaultdict(list)
    for record in records:
        by_call[record.uniqueid].append(record)
    uniqueids = list(by_call)
    for start in range(0, len(uniqueids), _CHUNK):
        chunk = uniqueids[start : start + _CHUNK]
        insert_ignore(conn, Call.__table__, [{"uniqueid": u} for u in chunk], ["uniqueid"])
        ids = dict(conn.execute(select(Call.uniqueid, Call.id).where(Call.uniqueid.in_(chunk))).all())
        rows = [_leg_row(ids[u], leg) for u in chunk for leg in by_call[u]]
        dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
        inserted = (
            conn.execute(
                dialect_insert(CallLeg.__table__)
                .on_conflict_do_nothing(index_elements=["fingerprint"])
                .returning(CallLeg.call_id),
                rows,
            )
            .scalars()
            .all()
        )
        counts.added += len(inserted)
        counts.unchanged += len(rows) - len(inserted)
        changed = {ids[u]: by_call[u][0] for u in chunk if ids[u] in set(inserted)}
        _rebuild_calls(conn, changed)
        for uniqueid in chunk:
            for leg in by_call[uniqueid]:
                if leg.incident:
                    _link_incident_by_number(conn, ids[uniqueid], leg.incident, source="call_record")
    return counts


def _rebuild_calls(conn: Connection, hints: dict[int, CallRecord]) -> None:
    """Recompute each call from all its legs (a transfer can add a leg to a known call)."""
    if not hints:
        return
    legs_by_call: dict[int, list] = defaultdict(list)
    for leg in conn.execute(
        select(CallLeg.__table__)
        .where(CallLeg.call_id.in_(list(hints)))
        .order_by(CallLeg.call_id, CallLeg.start_at, CallLeg.id)
    ):
        legs_by_call[leg.call_id].append(leg)
    updates = [_call_values(call_id, legs, hints[call_id]) for call_id, legs in legs_by_call.items()]
    operators = operator_ids(conn, [u["operator"] for u in updates])
    for values in updates:
        code = values.pop("operator", None)
        values["operator_id"] = operators.get(code) if code else None
    conn.execute(
        update(Call.__table__).where(Call.__table__.c.id == bindparam("call_id")),
        [{**values, "call_id": values.pop("id")} for values in updates],
    )


def _named_recording(record: CallRecord) -> str | None:
    """The recording file a call record names: a mapped column, or an Asterisk userfield holding a file."""
    for value in (record.recording, record.userfield):
        if value and Path(value).suffix.lower() in AUDIO_EXTENSIONS:
            return Path(value).name
    return None


def _call_values(call_id: int, legs: list, hint: CallRecord) -> dict:
    first = legs[0]
    answered = [leg for leg in legs if leg.answer_at is not None or (leg.billsec or 0) > 0]
    starts = [leg.start_at for leg in legs if leg.start_at]
    ends = [leg.end_at for leg in legs if leg.end_at]
    direction = infer_direction(first.src, first.dst, first.dcontext, hint.direction)
    operator = hint.operator or next(
        (code for leg in answered if (code := _leg_operator(leg, direction))), None
    )
    return {
        "id": call_id,
        "linkedid": first.linkedid or hint.linkedid,
        "direction": direction,
        "caller_number": first.src,
        "callee_number": first.dst,
        "start_at": min(starts) if starts else None,
        "answer_at": min((leg.answer_at for leg in answered if leg.answer_at), default=None),
        "end_at": max(ends) if ends else None,
        "duration": (max(ends) - min(starts)).total_seconds()
        if starts and ends
        else sum(leg.duration or 0 for leg in legs),
        "billsec": sum(leg.billsec or 0 for leg in legs),
        "disposition": "ANSWERED" if answered else first.disposition,
        "queue": hint.queue,
        "recording_file": _named_recording(hint),
        "operator": operator,
        "updated_at": utcnow(),
    }


# ---------------------------------------------------------------- queue_log


def register_queue_events(conn: Connection, events: Sequence[QueueLogEvent]) -> RegisterCounts:
    """Store queue_log lines once each and apply what they say to their calls."""
    counts = RegisterCounts()
    rows = [
        {
            "fingerprint": row_fingerprint(e.at.isoformat(), e.uniqueid, e.queue, e.agent, e.event, *e.data),
            "uniqueid": e.uniqueid,
            "at": e.at,
            "queue": e.queue,
            "agent": e.agent,
            "event": e.event,
            "data": e.data,
        }
        for e in events
    ]
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        added = insert_ignore(conn, QueueEvent.__table__, chunk, ["fingerprint"])
        counts.added += added
        counts.unchanged += len(chunk) - added
    return counts


def apply_queue_events(conn: Connection) -> int:
    """Attach queue events to their calls and set queue, operator, wait time, abandons and transfers."""
    conn.execute(
        update(QueueEvent)
        .where(QueueEvent.call_id.is_(None))
        .values(call_id=select(Call.id).where(Call.uniqueid == QueueEvent.uniqueid).scalar_subquery())
    )
    events = conn.execute(
        select(
            QueueEvent.call_id,
            QueueEvent.event,
            QueueEvent.queue,
            QueueEvent.agent,
            QueueEvent.data,
            QueueEvent.at,
            QueueEvent.fingerprint,
        )
        .where(QueueEvent.call_id.is_not(None))
        .order_by(QueueEvent.call_id, QueueEvent.at, QueueEvent.id)
    ).all()
    per_call: dict[int, dict] = defaultdict(dict)
    transfers = []
    agents: set[str] = set()
    for call_id, event, queue, agent, data, at, fingerprint in events:
        state = per_call[call_id]
        if queue:
            state["queue"] = queue
        if event == "ENTERQUEUE":
            state["direction"] = "inbound"
        elif event == "CONNECT":
            state["connected"] = True
            if agent_code(agent):
                state["operator"] = agent_code(agent)
                agents.add(state["operator"])
            if data and data[0].isdigit():
                state["wait_seconds"] = float(data[0])
        elif event in _ABANDON_EVENTS:
            state["abandoned"] = True
            waited = data[2] if event == "ABANDON" and len(data) > 2 else (data[-1] if data else "")
            if waited.isdigit():
                state["wait_seconds"] = float(waited)
        elif event in _TRANSFER_EVENTS:
            target = (data[0] if event == "BLINDTRANSFER" else ":".join(d for d in data[:2] if d)) or None
            transfers.append(
                {
                    "fingerprint": fingerprint,
                    "call_id": call_id,
                    "kind": _TRANSFER_EVENTS[event],
                    "target": target,
                    "at": at,
                    "source": "queue_log",
                }
            )
    ids = operator_ids(conn, agents)
    for call_id, state in per_call.items():
        values = {k: state[k] for k in ("queue", "direction", "wait_seconds") if k in state}
        if state.get("operator"):
            values["operator_id"] = ids[state["operator"]]
        if state.get("abandoned") and not state.get("connected"):
            values["disposition"] = "ABANDONED"
        if values:
            conn.execute(update(Call).where(Call.id == call_id).values(**values))
    insert_ignore(conn, Transfer.__table__, transfers, ["fingerprint"])
    return len(per_call)


# ---------------------------------------------------------------- incidents


def register_incidents(conn: Connection, incidents: Sequence[IncidentRecord]) -> RegisterCounts:
    """Insert new incidents and update changed ones (helpdesk exports are snapshots of a living system)."""
    counts = RegisterCounts()
    ids = operator_ids(conn, [i.operator for i in incidents])
    for incident in incidents:
        values = {
            "created_at": incident.created_at,
            "inn": incident.inn,
            "kpp": incident.kpp,
            "knowledge_article": incident.knowledge_article,
            "operator_id": ids.get(incident.operator) if incident.operator else None,
            "status": incident.status,
            "summary": incident.summary,
            "client_name": incident.client_name,
            "call_uniqueids": incident.call_uniqueids,
            "source_file": incident.source_file,
            "client_id": _client_id(conn, incident.phone, incident.inn, incident.kpp, incident.client_name),
        }
        current = conn.execute(
            select(Incident.__table__).where(Incident.external_id == incident.external_id)
        ).first()
        if current is None:
            conn.execute(Incident.__table__.insert().values(external_id=incident.external_id, **values))
            counts.added += 1
        elif any(getattr(current, k) != v for k, v in values.items() if k != "source_file"):
            conn.execute(update(Incident).where(Incident.id == current.id).values(**values))
            counts.details["updated"] = counts.details.get("updated", 0) + 1
        else:
            counts.unchanged += 1
    return counts


def _link_incident_by_number(conn: Connection, call_id: int, external_id: str, source: str) -> None:
    incident_id = conn.execute(select(Incident.id).where(Incident.external_id == external_id)).scalar()
    if incident_id is not None:
        insert_ignore(
            conn,
            CallIncidentLink.__table__,
            [
                {
                    "call_id": call_id,
                    "incident_id": incident_id,
                    "source": source,
                    "confidence": 1.0,
                    "created_by": "import",
                }
            ],
            ["call_id", "incident_id"],
        )


def link_helpdesk_incidents(conn: Connection) -> int:
    """Create the call–incident links the helpdesk export names, for every call now known."""
    rows = conn.execute(
        select(Incident.id, Incident.call_uniqueids).where(func.length(Incident.external_id) > 0)
    )
    wanted: dict[str, list[int]] = defaultdict(list)
    for incident_id, uniqueids in rows:
        for uniqueid in uniqueids or []:
            wanted[uniqueid].append(incident_id)
    if not wanted:
        return 0
    calls = dict(conn.execute(select(Call.uniqueid, Call.id).where(Call.uniqueid.in_(list(wanted)))).all())
    links = [
        {
            "call_id": calls[u],
            "incident_id": i,
            "source": "helpdesk",
            "confidence": 1.0,
            "created_by": "import",
        }
        for u, incident_ids in wanted.items()
        if u in calls
        for i in incident_ids
    ]
    return insert_ignore(conn, CallIncidentLink.__table__, links, ["call_id", "incident_id"])


def link_call_clients(conn: Connection) -> None:
    """Identify the client of inbound calls by the caller's number (АОН) where a client has that phone."""
    conn.execute(
        update(Call)
        .where(Call.client_id.is_(None), Call.caller_number.is_not(None))
        .values(
            client_id=select(Client.id)
            .where(Client.phone == Call.caller_number)
            .order_by(Client.id)
            .limit(1)
            .scalar_subquery()
        )
    )
