"""Keeping what ingest found: recordings, call-record legs, queue events, incidents, problems, and the
calls assembled from them.

The rows come in as ingest's dataclasses, read duck-typed (attributes only); what a call was (direction,
operator, transfers, a recording's verdict) is decided before it reaches this module. Every write is keyed
by content (sha256, row fingerprint, uniqueid, incident id), so registering the same input twice changes
nothing, and every function is safe to call again after a crash.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.operators import Resolution, resolve_operators
from store.queue import retire_work
from store.schema import (
    Call,
    CallIncidentLink,
    CallLeg,
    CallOutcome,
    Client,
    ClientIdentifier,
    CoachingNote,
    Evaluation,
    EvaluationResponse,
    Incident,
    IncidentCandidate,
    IngestIssue,
    QueueEvent,
    Recording,
    RecordingPath,
    Transfer,
    Utterance,
)
from store.sql import insert_ignore, utcnow


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
    # Operator names no roster identity matches: (name, source file, line).
    unknown_operators: list[tuple[str, str | None, int | None]] = field(default_factory=list)


def _unknown(
    ref: Any, source: str | None = None, line: int | None = None
) -> tuple[str, str | None, int | None]:
    """An unknown operator reference as (name, source file, line) for the import's report."""
    name = getattr(ref, "value", ref)
    return name, getattr(ref, "source", None) or source, getattr(ref, "line", None) or line


# ---------------------------------------------------------------- problems


def record_problems(conn: Connection, kind: str, problems: Iterable[Any]) -> int:
    """Keep each problem (an `ingest.RowProblem`) once, by its fingerprint, so re-running ingest does not
    repeat reports."""
    rows = [
        {
            "fingerprint": p.fingerprint(kind),
            "kind": kind,
            "source": p.source,
            "line": p.line,
            "code": p.code,
            "message": p.message,
        }
        for p in problems
    ]
    return insert_ignore(conn, IngestIssue.__table__, rows, ["fingerprint"])


def replace_problems(conn: Connection, kind: str, source: str, problems: Sequence[Any]) -> int:
    """The problems of one input file read again. A whole-file failure it no longer has (a missing column
    now mapped, a file now readable) is dropped, also one recorded under the input's kind alone (before
    problems named their file). Row problems stay: a row missing from the file now may have been rotated
    out, never imported, rather than fixed."""
    current = [p.fingerprint(kind) for p in problems]
    conn.execute(
        delete(IngestIssue).where(
            IngestIssue.kind == kind,
            IngestIssue.source.in_((source, kind)),
            IngestIssue.line.is_(None),
            IngestIssue.code != "unknown_operator",  # told only for rows new to the store: not again
            IngestIssue.fingerprint.not_in(current),
        )
    )
    return record_problems(conn, kind, problems)


# ---------------------------------------------------------------- operators and clients


def operator_ids(conn: Connection, refs: Iterable[Any]) -> Resolution:
    """Operator ids for the names records give (see `store.operators.resolve_operators` for the rule)."""
    return resolve_operators(conn, refs)


# A canonical phone number (`contracts.phones`): E.164 digits without the '+'.
_E164 = re.compile(r"[1-9]\d{7,14}")


def _known_phones(numbers: Iterable[str]) -> list[str]:
    # Only real phone numbers identify a client: a cell that said "нет" must not join every such client.
    # Readers give canonical numbers in the site's numbering plan (E.164 digits); this guards the store.
    return [n for n in dict.fromkeys(numbers) if _E164.fullmatch(n)]


def _client_id(
    conn: Connection,
    inn: str | None,
    kpp: str | None,
    phones: Sequence[str] = (),
    account: str | None = None,
    name: str | None = None,
) -> int | None:
    """The client these identifiers name, created when none does; its phones and account are added.

    INN-KPP names a client first; else a contract or account number, else any of its phones. A client
    found by account or phone that has no INN yet takes the INN given; one with another INN is another
    client (a phone may be shared).
    """
    phones = _known_phones(phones)
    if not (inn or phones or account):
        return None
    client_id = None
    if inn:
        client_id = conn.execute(
            select(Client.id)
            .where(Client.inn == inn, Client.kpp.is_(None) if kpp is None else Client.kpp == kpp)
            .order_by(Client.id)
            .limit(1)
        ).scalar()
    for kind, values in (("account", [account] if account else []), ("phone", phones)):
        if client_id is not None or not values:
            continue
        for candidate, candidate_inn in conn.execute(
            select(ClientIdentifier.client_id, Client.inn)
            .join(Client, Client.id == ClientIdentifier.client_id)
            .where(ClientIdentifier.kind == kind, ClientIdentifier.value.in_(values))
            .order_by(ClientIdentifier.client_id)
        ):
            if not inn or candidate_inn is None:
                client_id = candidate
                break
    if client_id is None:
        client_id = conn.execute(
            Client.__table__.insert().values(inn=inn, kpp=kpp, name=name).returning(Client.id)
        ).scalar_one()
    else:
        if inn:
            conn.execute(
                update(Client).where(Client.id == client_id, Client.inn.is_(None)).values(inn=inn, kpp=kpp)
            )
        if name:
            unnamed = and_(Client.id == client_id, Client.name.is_(None))
            conn.execute(update(Client).where(unnamed).values(name=name))
    identifiers = [{"client_id": client_id, "kind": "phone", "value": p} for p in phones]
    if account:
        identifiers.append({"client_id": client_id, "kind": "account", "value": account})
    insert_ignore(conn, ClientIdentifier.__table__, identifiers, ["kind", "value", "client_id"])
    return client_id


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
    if status == "accepted":
        # A broken file put right (copied again, restored) is a readable one at the same path: the old
        # rejection is no longer a problem, but stays on record.
        conn.execute(
            update(Recording)
            .where(
                Recording.path == identity.path, Recording.status == "rejected", Recording.id != recording_id
            )
            .values(status="replaced")
        )
    return RecordingOutcome(recording_id, status, values["reject_reason"] or "")


@dataclass
class RecordingMatch:
    """A recording not yet linked to a call, and the call its name or a call record points to."""

    recording_id: int
    path: str
    status: str  # accepted | rejected
    decoded_duration: float | None
    call_id: int
    uniqueid: str
    billsec: float | None
    channels: int | None = None
    sample_rate: int | None = None
    codec: str | None = None


def unattached_recordings(conn: Connection) -> list[RecordingMatch]:
    """Recordings with no call yet that a call now claims: by the uniqueid in a MixMonitor file name, or
    by the file name a call record names (the first call per recording)."""
    rows = conn.execute(
        select(
            Recording.id,
            Recording.path,
            Recording.status,
            Recording.decoded_duration,
            Call.id,
            Call.uniqueid,
            Call.billsec,
            Recording.channels,
            Recording.sample_rate,
            Recording.codec,
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
    matches: dict[int, RecordingMatch] = {}
    for row in rows:
        if row[0] not in matches:
            matches[row[0]] = RecordingMatch(*row)
    # Another copy of the file a call record names (x.mp3 beside the x.wav named): the same stem.
    waiting = conn.execute(
        select(Recording.id, Recording.file_name)
        .where(Recording.call_id.is_(None), Recording.status.in_(("accepted", "rejected")))
        .order_by(Recording.id)
    ).all()
    waiting = [(rid, name) for rid, name in waiting if rid not in matches]
    naming = calls_naming(conn, [name for _, name in waiting])
    pairs = [(rid, naming[Path(name).stem][0]) for rid, name in waiting if Path(name).stem in naming]
    matches.update({m.recording_id: m for m in recording_matches(conn, pairs)})
    return sorted(matches.values(), key=lambda m: m.recording_id)


def recording_matches(conn: Connection, pairs: Sequence[tuple[int, int]]) -> list[RecordingMatch]:
    """(recording id, call id) pairs as matches to judge, in the order given."""
    matches = []
    for recording_id, call_id in pairs:
        row = conn.execute(
            select(
                Recording.id, Recording.path, Recording.status, Recording.decoded_duration, Call.id,
                Call.uniqueid, Call.billsec, Recording.channels, Recording.sample_rate, Recording.codec,
            )
            .join(Call, Call.id == call_id)
            .where(Recording.id == recording_id)
        ).first()  # fmt: skip
        if row is not None:
            matches.append(RecordingMatch(*row))
    return matches


def calls_naming(
    conn: Connection, file_names: Sequence[str], source: str | None = None
) -> dict[str, list[int]]:
    """Stem -> ids of the calls (of `source`, or any) whose named recording has that stem, whatever its
    extension."""
    stems = sorted({Path(name).stem for name in file_names if name})
    found: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(stems), 200):
        chunk = stems[start : start + 200]
        rows = conn.execute(
            select(Call.id, Call.recording_file)
            .where(
                Call.source == source if source else True,
                or_(*[Call.recording_file.startswith(stem + ".", autoescape=True) for stem in chunk]),
            )
            .order_by(Call.id)
        )
        for call_id, named in rows:
            if Path(named).stem in chunk:
                found[Path(named).stem].append(call_id)
    return dict(found)


def accepted_recording_path(conn: Connection, call_id: int) -> str | None:
    """The path of the call's accepted recording, if it has one."""
    return conn.execute(
        select(Recording.path).where(Recording.call_id == call_id, Recording.status == "accepted").limit(1)
    ).scalar()


def accepted_recording(conn: Connection, call_id: int) -> dict | None:
    """The call's accepted recording (id, path, channels, sample_rate, codec, decoded_duration), if any."""
    row = conn.execute(
        select(
            Recording.id,
            Recording.path,
            Recording.channels,
            Recording.sample_rate,
            Recording.codec,
            Recording.decoded_duration,
        )
        .where(Recording.call_id == call_id, Recording.status == "accepted")
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def attach_recording(
    conn: Connection,
    recording_id: int,
    call_id: int,
    status: str | None = None,
    code: str | None = None,
    reason: str | None = None,
) -> None:
    """Link a recording to its call; with a `status` (rejected, conflict, alternative), record that verdict
    too, and take back the work queued or done for the file (it is not the call's recording)."""
    values: dict = {"call_id": call_id}
    if status and status != "accepted":
        values.update(status=status, reject_code=code, reject_reason=reason)
        # Work queued before the call record arrived must not go on for a file that is not used.
        retire_work(conn, recording_id)
    conn.execute(update(Recording).where(Recording.id == recording_id).values(**values))
    # A transcript made before the recording had its call (or under another call) follows it.
    conn.execute(update(Utterance).where(Utterance.recording_id == recording_id).values(call_id=call_id))


def make_alternative(conn: Connection, recording_id: int, reason: str) -> None:
    """A call's recording steps aside for a better copy: it stays listed as `alternative`, and its
    pending and done work is retired so that the call is processed and counted once, from the better copy."""
    conn.execute(
        update(Recording)
        .where(Recording.id == recording_id)
        .values(status="alternative", reject_code="alternative", reject_reason=reason)
    )
    retire_work(conn, recording_id)


def replace_recording(conn: Connection, recording_id: int, reason: str) -> None:
    """A recording whose file was rewritten with other content steps aside (`replaced`, kept on record):
    its work is retired, so the call is processed again from the new content."""
    conn.execute(
        update(Recording)
        .where(Recording.id == recording_id)
        .values(status="replaced", reject_code="replaced", reject_reason=reason)
    )
    retire_work(conn, recording_id)


def recording_alternatives(conn: Connection, call_ids: Sequence[int] | None = None) -> list[dict]:
    """Recordings kept as alternatives (call_id, uniqueid, path, format, reason), by call then path;
    all of them, or those of `call_ids`."""
    query = (
        select(
            Recording.call_id,
            Call.uniqueid,
            Recording.path,
            Recording.channels,
            Recording.sample_rate,
            Recording.codec,
            Recording.reject_reason.label("reason"),
        )
        .join(Call, Call.id == Recording.call_id)
        .where(Recording.status == "alternative")
        .order_by(Recording.call_id, Recording.path)
    )
    if call_ids is not None:
        query = query.where(Recording.call_id.in_(list(call_ids)))
    return [dict(row._mapping) for row in conn.execute(query)]


# ---------------------------------------------------------------- calls known only from a recording


def unclaimed_recordings(conn: Connection) -> list[dict]:
    """Accepted recordings no call has claimed (id, path, file_name, sha256, decoded_duration), by id."""
    rows = conn.execute(
        select(
            Recording.id, Recording.path, Recording.file_name, Recording.sha256, Recording.decoded_duration
        )
        .where(Recording.call_id.is_(None), Recording.status == "accepted")
        .order_by(Recording.id)
    ).mappings()
    return [dict(row) for row in rows]


def add_recording_calls(conn: Connection, calls: Sequence[Any]) -> int:
    """Create the calls recordings stand for (`ingest.RecordingCall`), marked `source = "recording"`
    (no call record); a call already known by the uniqueid is left as it is. Returns the calls created.

    The recording starts at the answer, so the call counts as answered; its talk time is the recording's.
    """
    now = utcnow()
    rows = [
        {
            "uniqueid": c.uniqueid, "source": "recording", "direction": c.direction,
            "caller_number": c.caller_number, "callee_number": c.callee_number, "start_at": c.start_at,
            "answer_at": c.start_at, "end_at": c.end_at, "duration": c.talk_seconds,
            "billsec": c.talk_seconds, "recording_file": c.recording_file, "updated_at": now,
        }
        for c in calls
    ]  # fmt: skip
    return insert_ignore(conn, Call.__table__, rows, ["uniqueid"])


@dataclass
class RecordingOnlyCall:
    """A call known only from its recording, as matching a later call record reads it."""

    call_id: int
    uniqueid: str
    start_at: Any
    caller_number: str | None
    callee_number: str | None
    recording_file: str | None
    has_legs: bool  # a call record with the same uniqueid has arrived


def recording_only_calls(conn: Connection) -> list[RecordingOnlyCall]:
    """Every call still marked as known only from its recording, by id."""
    has_legs = select(CallLeg.id).where(CallLeg.call_id == Call.id).exists()
    rows = conn.execute(
        select(
            Call.id, Call.uniqueid, Call.start_at, Call.caller_number, Call.callee_number,
            Call.recording_file, has_legs,
        ).where(Call.source == "recording").order_by(Call.id)
    ).all()  # fmt: skip
    return [RecordingOnlyCall(*row) for row in rows]


def record_calls_of_callers(
    conn: Connection, caller_numbers: Sequence[str], earliest: Any, latest: Any
) -> dict[str, list[dict]]:
    """Calls from call records by these callers that started between `earliest` and `latest`, by caller
    number (id, start_at, answer_at, caller_number, callee_number; by start)."""
    found: dict[str, list[dict]] = defaultdict(list)
    numbers = sorted(set(caller_numbers))
    for start in range(0, len(numbers), _CHUNK):
        rows = conn.execute(
            select(Call.id, Call.start_at, Call.answer_at, Call.caller_number, Call.callee_number)
            .where(
                Call.source == "cdr",
                Call.caller_number.in_(numbers[start : start + _CHUNK]),
                Call.start_at.between(earliest, latest),
            )
            .order_by(Call.start_at, Call.id)
        ).mappings()
        for row in rows:
            found[row["caller_number"]].append(dict(row))
    return dict(found)


def release_recordings(conn: Connection, call_id: int) -> list[int]:
    """Unlink the call's accepted recordings (to be judged against the call record that arrived); their
    transcripts and results stay with them. Returns their ids."""
    ids = list(
        conn.execute(
            select(Recording.id).where(Recording.call_id == call_id, Recording.status == "accepted")
        ).scalars()
    )
    if ids:
        conn.execute(update(Recording).where(Recording.id.in_(ids)).values(call_id=None))
    return ids


def mark_call_record_arrived(conn: Connection, call_id: int) -> None:
    """The call's own call record has arrived: it is no longer known only from its recording."""
    conn.execute(update(Call).where(Call.id == call_id).values(source="cdr", updated_at=utcnow()))


def merge_recording_call(conn: Connection, from_call_id: int, into_call_id: int) -> None:
    """Fold a call known only from its recording into the call its call record describes: what people
    and the pipeline attached to it moves over, its computed outcome goes (it is recomputed), and the
    call itself is removed, so nothing is counted twice."""
    for table in (Recording, Utterance, Transfer, QueueEvent, Evaluation, EvaluationResponse, CoachingNote):
        conn.execute(update(table).where(table.call_id == from_call_id).values(call_id=into_call_id))
    links = conn.execute(
        select(CallIncidentLink.__table__).where(CallIncidentLink.call_id == from_call_id)
    ).mappings()
    moved = [{k: v for k, v in {**row, "call_id": into_call_id}.items() if k != "id"} for row in links]
    insert_ignore(conn, CallIncidentLink.__table__, moved, ["call_id", "incident_id"])
    for table in (CallIncidentLink, CallOutcome, IncidentCandidate):
        conn.execute(delete(table).where(table.call_id == from_call_id))
    conn.execute(delete(Call).where(Call.id == from_call_id))


# ---------------------------------------------------------------- call records

# call_legs column -> attribute of the leg dataclass (`ingest.CallRecord`) it is read from and served as.
_LEG_FIELDS = {
    "src": "src", "dst": "dst", "dcontext": "dcontext", "clid": "clid", "channel": "channel",
    "dstchannel": "dstchannel", "lastapp": "lastapp", "lastdata": "lastdata", "start_at": "start",
    "answer_at": "answer", "end_at": "end", "duration": "duration", "billsec": "billsec",
    "disposition": "disposition", "accountcode": "accountcode", "userfield": "userfield",
    "linkedid": "linkedid", "sequence": "sequence", "source_file": "source_file",
    "source_line": "source_line",
}  # fmt: skip
# What an assembled call (`ingest.assembly.AssembledCall`) sets on its row; `operator` becomes operator_id.
_CALL_FIELDS = (
    "linkedid", "direction", "caller_number", "callee_number", "start_at", "answer_at", "end_at",
    "duration", "billsec", "disposition", "queue", "recording_file",
)  # fmt: skip
_CHUNK = 500


def _leg_row(call_id: int, leg: Any) -> dict:
    row = {column: getattr(leg, attribute) for column, attribute in _LEG_FIELDS.items()}
    row["call_id"] = call_id
    row["fingerprint"] = leg.fingerprint
    return row


def register_call_legs(
    conn: Connection, records: Sequence[Any], call_of: Callable[[Any], str] | None = None
) -> tuple[RegisterCounts, dict[int, Any]]:
    """Store call-record legs (`ingest.CallRecord`, each once, by fingerprint), in batches.

    `call_of` names the call a leg belongs to (call assembly decides; default: the leg's uniqueid); the
    call's row is keyed by that name. Returns the counts and, for every call that got a new leg, its first
    leg in `records` (whose mapped columns describe the call), by call id: those calls need assembling again.
    """
    counts = RegisterCounts()
    by_call: dict[str, list] = defaultdict(list)
    for record in records:
        by_call[call_of(record) if call_of else record.uniqueid].append(record)
    uniqueids = list(by_call)
    changed: dict[int, Any] = {}
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    for start in range(0, len(uniqueids), _CHUNK):
        chunk = uniqueids[start : start + _CHUNK]
        insert_ignore(conn, Call.__table__, [{"uniqueid": u} for u in chunk], ["uniqueid"])
        ids = dict(conn.execute(select(Call.uniqueid, Call.id).where(Call.uniqueid.in_(chunk))).all())
        rows = [_leg_row(ids[u], leg) for u in chunk for leg in by_call[u]]
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
        got_legs = set(inserted)
        changed.update({ids[u]: by_call[u][0] for u in chunk if ids[u] in got_legs})
        for uniqueid in chunk:
            for leg in by_call[uniqueid]:
                if leg.incident:
                    _link_incident_by_number(conn, ids[uniqueid], leg.incident, source="call_record")
    return counts, changed


def call_legs(conn: Connection, call_ids: Sequence[int]) -> dict[int, list[dict]]:
    """Every stored leg of these calls in start order, as dicts of the leg dataclass's fields (a leg's
    `uniqueid` is its call's: legs are stored under the call they belong to)."""
    legs: dict[int, list[dict]] = defaultdict(list)
    for row in conn.execute(
        select(CallLeg.__table__, Call.uniqueid)
        .join(Call, Call.id == CallLeg.call_id)
        .where(CallLeg.call_id.in_(list(call_ids)))
        .order_by(CallLeg.call_id, CallLeg.start_at, CallLeg.id)
    ).mappings():
        leg = {attribute: row[column] for column, attribute in _LEG_FIELDS.items()}
        leg["uniqueid"] = row["uniqueid"]
        legs[row["call_id"]].append(leg)
    return dict(legs)


def save_calls(conn: Connection, calls: Mapping[int, Any]) -> list[tuple[str, str | None, int | None]]:
    """Write assembled calls (`ingest.assembly.AssembledCall`, by call id) onto their rows; returns the
    operator names no roster identity matches."""
    if not calls:
        return []
    resolved = operator_ids(conn, [call.operator for call in calls.values()])
    operators = resolved.ids
    now = utcnow()
    conn.execute(
        update(Call.__table__).where(Call.__table__.c.id == bindparam("call_id")),
        [
            {
                **{name: getattr(call, name) for name in _CALL_FIELDS},
                "operator_id": operators.get(call.operator) if call.operator else None,
                "updated_at": now,
                "call_id": call_id,
            }
            for call_id, call in calls.items()
        ],
    )
    # The legs' transfers are what the call's legs show now: a later leg can make a blind one attended.
    conn.execute(delete(Transfer).where(Transfer.call_id.in_(list(calls)), Transfer.source == "call_record"))
    transfers = [
        {"fingerprint": t.key, "call_id": call_id, "kind": t.kind, "target": t.target, "at": t.at,
         "source": t.source}
        for call_id, call in calls.items()
        for t in getattr(call, "transfers", ())
    ]  # fmt: skip
    if transfers:
        insert_ignore(conn, Transfer.__table__, transfers, ["fingerprint"])
    return [_unknown(ref) for ref in resolved.unknown]


# ---------------------------------------------------------------- queue_log


def register_queue_events(conn: Connection, events: Sequence[Any]) -> RegisterCounts:
    """Store queue_log lines (`ingest.QueueLogEvent`) once each, by fingerprint."""
    counts = RegisterCounts()
    rows = [
        {
            "fingerprint": e.fingerprint,
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


def queue_events_by_call(conn: Connection) -> dict[int, list[dict]]:
    """Link stored queue events to calls now known, then serve each call's events in time order, as dicts
    of the event dataclass's fields."""
    conn.execute(
        update(QueueEvent)
        .where(QueueEvent.call_id.is_(None))
        .values(call_id=select(Call.id).where(Call.uniqueid == QueueEvent.uniqueid).scalar_subquery())
    )
    rows = conn.execute(
        select(
            QueueEvent.call_id,
            QueueEvent.at,
            QueueEvent.uniqueid,
            QueueEvent.queue,
            QueueEvent.agent,
            QueueEvent.event,
            QueueEvent.data,
        )
        .where(QueueEvent.call_id.is_not(None))
        .order_by(QueueEvent.call_id, QueueEvent.at, QueueEvent.id)
    ).mappings()
    events: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        event = dict(row)
        events[event.pop("call_id")].append(event)
    return dict(events)


def save_queue_findings(
    conn: Connection, findings: Mapping[int, Any]
) -> list[tuple[str, str | None, int | None]]:
    """Apply what queue events say (`ingest.assembly.QueueFindings`, by call id) to the calls: queue,
    direction, wait, talk time (as billsec), operator and abandon where they say something, and the
    transfers they logged.

    Returns the agent names no roster identity matches (the call keeps the operator its call record gave).
    """
    resolved = operator_ids(conn, [f.operator for f in findings.values()])
    ids = resolved.ids
    transfers = []
    for call_id, found in findings.items():
        values = {k: getattr(found, k) for k in ("queue", "direction", "wait_seconds", "disposition")}
        values = {k: v for k, v in values.items() if v is not None}
        if getattr(found, "talk_seconds", None) is not None:
            values["billsec"] = found.talk_seconds
        if found.operator in ids:
            values["operator_id"] = ids[found.operator]
        if values:
            conn.execute(update(Call).where(Call.id == call_id).values(**values))
        transfers.extend(
            {"fingerprint": t.key, "call_id": call_id, "kind": t.kind, "target": t.target, "at": t.at,
             "source": t.source}
            for t in found.transfers
        )  # fmt: skip
    insert_ignore(conn, Transfer.__table__, transfers, ["fingerprint"])
    return [_unknown(ref) for ref in resolved.unknown]


# ---------------------------------------------------------------- incidents


def register_incidents(conn: Connection, incidents: Sequence[Any]) -> RegisterCounts:
    """Insert new incidents (`ingest.IncidentRecord`) and update changed ones (helpdesk exports are
    snapshots of a living system)."""
    counts = RegisterCounts()
    resolved = operator_ids(conn, [i.operator for i in incidents])
    ids = resolved.ids
    unknown = set(resolved.unknown)
    for incident in incidents:
        if incident.operator in unknown:
            counts.unknown_operators.append(
                _unknown(incident.operator, incident.source_file, incident.source_line)
            )
        values = {
            "created_at": incident.created_at,
            "inn": incident.inn,
            "kpp": incident.kpp,
            "knowledge_article": incident.knowledge_article,
            "operator_id": ids.get(incident.operator),
            "status": incident.status,
            "summary": incident.summary,
            "client_name": incident.client_name,
            "call_uniqueids": incident.call_uniqueids,
            "source_file": incident.source_file,
            "client_id": _client_id(
                conn, incident.inn, incident.kpp, incident.phones, incident.account, incident.client_name
            ),
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


def _phone_owner(number):
    """The client a phone number belongs to (the first, when several share it), as a scalar subquery."""
    return (
        select(ClientIdentifier.client_id)
        .where(ClientIdentifier.kind == "phone", ClientIdentifier.value == number)
        .order_by(ClientIdentifier.client_id)
        .limit(1)
        .scalar_subquery()
    )


def link_call_clients(conn: Connection) -> None:
    """Identify the client of calls not yet identified by the customer's number: the caller's (АОН), or on
    an outbound call the number dialled, where a client has that phone."""
    customer = case((Call.direction == "outbound", Call.callee_number), else_=Call.caller_number)
    unknown = and_(Call.client_id.is_(None), customer.is_not(None))
    conn.execute(update(Call).where(unknown).values(client_id=_phone_owner(customer)))


def link_clients_by_said_phones(conn: Connection, said: Mapping[int, Sequence[str]]) -> dict[int, int]:
    """Identify the client of calls still without one by a phone said in the call (canonical numbers, by
    call id; the first that belongs to a client wins). Returns the clients found, by call id."""
    waiting = [call_id for call_id, numbers in said.items() if numbers]
    if not waiting:
        return {}
    open_ids = set(
        conn.execute(select(Call.id).where(Call.id.in_(waiting), Call.client_id.is_(None))).scalars()
    )
    wanted = {n for call_id in open_ids for n in said[call_id]}
    owners: dict[str, int] = {}
    for value, client_id in conn.execute(
        select(ClientIdentifier.value, ClientIdentifier.client_id)
        .where(ClientIdentifier.kind == "phone", ClientIdentifier.value.in_(sorted(wanted)))
        .order_by(ClientIdentifier.client_id.desc())
    ):
        owners[value] = client_id  # descending, so the lowest id is kept
    found = {
        call_id: owners[number]
        for call_id in sorted(open_ids)
        if (number := next((n for n in said[call_id] if n in owners), None))
    }
    for call_id, client_id in found.items():
        conn.execute(update(Call).where(Call.id == call_id).values(client_id=client_id))
    return found
