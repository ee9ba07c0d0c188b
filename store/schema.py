"""The relational schema shared by SQLite and PostgreSQL.

Every table that ingest writes has a natural key (sha256, row fingerprint, uniqueid) with a unique
constraint, so that re-running ingest or a stage can never count anything twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names keep Alembic migrations identical on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Operator(Base):
    """A person answering calls; `code` is the PBX agent identity (e.g. the extension 101)."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(String(256))
    team: Mapped[str | None] = mapped_column(String(128))
    # Mean speaker embedding from enrolment clips; labels the operator in mono calls.
    voiceprint: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class OperatorIdentity(Base):
    """A name by which records know an operator: roster code, extension, queue agent, channel, helpdesk login.

    `key` is the name case-folded; one name belongs to one operator.
    """

    __tablename__ = "operator_identities"
    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # code | extension | agent | channel | login
    value: Mapped[str] = mapped_column(String(256))
    key: Mapped[str] = mapped_column(String(256), unique=True)


class Client(Base):
    """A caller's organisation or person: INN/KPP here, its phones and contract or account numbers in
    `client_identifiers` (a client has many)."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    inn: Mapped[str | None] = mapped_column(String(12), index=True)
    kpp: Mapped[str | None] = mapped_column(String(9))
    name: Mapped[str | None] = mapped_column(String(256))


class ClientIdentifier(Base):
    """One way to recognise a client: a phone (canonical digits, `contracts.phones`) or a contract or
    account number. The same phone may belong to several clients (one accountant for many firms)."""

    __tablename__ = "client_identifiers"
    __table_args__ = (
        UniqueConstraint("kind", "value", "client_id", name="uq_client_identifiers_kind_value_client"),
        Index("ix_client_identifiers_lookup", "kind", "value"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # phone | account
    value: Mapped[str] = mapped_column(String(64))


class Call(Base):
    """One call as the PBX saw it, aggregated from its call-record legs and queue events."""

    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(16), default="unknown")
    caller_number: Mapped[str | None] = mapped_column(String(64), index=True)
    callee_number: Mapped[str | None] = mapped_column(String(64))
    start_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    answer_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_at: Mapped[datetime | None] = mapped_column(DateTime)
    duration: Mapped[float | None] = mapped_column(Float)
    billsec: Mapped[float | None] = mapped_column(Float)
    disposition: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(128))
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    # The recording's file name when the call record names it (a mapped column or Asterisk userfield).
    recording_file: Mapped[str | None] = mapped_column(String(512), index=True)
    # "cdr": assembled from call records; "recording": known only from its recording (no call record yet).
    source: Mapped[str] = mapped_column(String(16), server_default="cdr")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class CallLeg(Base):
    """One call-record row (Asterisk can write several per call, e.g. after a transfer)."""

    __tablename__ = "call_legs"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source_file: Mapped[str] = mapped_column(Text)
    source_line: Mapped[int] = mapped_column(Integer)
    src: Mapped[str | None] = mapped_column(String(64))
    dst: Mapped[str | None] = mapped_column(String(64))
    dcontext: Mapped[str | None] = mapped_column(String(128))
    clid: Mapped[str | None] = mapped_column(String(256))
    channel: Mapped[str | None] = mapped_column(String(256))
    dstchannel: Mapped[str | None] = mapped_column(String(256))
    lastapp: Mapped[str | None] = mapped_column(String(64))
    lastdata: Mapped[str | None] = mapped_column(Text)
    start_at: Mapped[datetime | None] = mapped_column(DateTime)
    answer_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_at: Mapped[datetime | None] = mapped_column(DateTime)
    duration: Mapped[float | None] = mapped_column(Float)
    billsec: Mapped[float | None] = mapped_column(Float)
    disposition: Mapped[str | None] = mapped_column(String(32))
    accountcode: Mapped[str | None] = mapped_column(String(64))
    userfield: Mapped[str | None] = mapped_column(Text)
    linkedid: Mapped[str | None] = mapped_column(String(64))
    sequence: Mapped[int | None] = mapped_column(Integer)


class QueueEvent(Base):
    """One Asterisk queue_log line, kept verbatim for statistics (ring-no-answer, abandons, logins)."""

    __tablename__ = "queue_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), index=True)
    uniqueid: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    queue: Mapped[str | None] = mapped_column(String(128))
    agent: Mapped[str | None] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32), index=True)
    data: Mapped[list] = mapped_column(JSON, default=list)


class Recording(Base):
    """An audio file, by content. `status` is accepted, rejected, conflict (see `reject_code`),
    alternative (a copy of its call's accepted recording, kept listed but not processed) or replaced (the
    content its path held before: a rejected file since put right, whose `reject_code` stays, or a call's
    recording rewritten in place with other content, which is processed instead)."""

    __tablename__ = "recordings"
    __table_args__ = (
        # At most one accepted recording per call: a second file is a conflict, never an overwrite.
        Index(
            "uq_recordings_accepted_call",
            "call_id",
            unique=True,
            sqlite_where=text("status = 'accepted'"),
            postgresql_where=text("status = 'accepted'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), index=True)
    path: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(512), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    uniqueid_hint: Mapped[str | None] = mapped_column(String(64), index=True)
    container: Mapped[str | None] = mapped_column(String(32))
    codec: Mapped[str | None] = mapped_column(String(32))
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    decoded_duration: Mapped[float | None] = mapped_column(Float)
    declared_duration: Mapped[float | None] = mapped_column(Float)
    peak_dbfs: Mapped[float | None] = mapped_column(Float)
    rms_dbfs: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reject_code: Mapped[str | None] = mapped_column(String(32))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    ingested_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class RecordingPath(Base):
    """Every path a recording's content was seen under (the same file under another name is one recording)."""

    __tablename__ = "recording_paths"
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class Incident(Base):
    """A helpdesk incident (обращение)."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    inn: Mapped[str | None] = mapped_column(String(12), index=True)
    kpp: Mapped[str | None] = mapped_column(String(9))
    knowledge_article: Mapped[str | None] = mapped_column(String(64), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str | None] = mapped_column(Text)
    client_name: Mapped[str | None] = mapped_column(String(256))
    # Call ids the helpdesk says this incident was registered from; links are made once the call is known.
    call_uniqueids: Mapped[list] = mapped_column(JSON, default=list)
    source_file: Mapped[str | None] = mapped_column(Text)


class CallIncidentLink(Base):
    """Registration: a call linked to an incident, with where the link came from and who made it."""

    __tablename__ = "call_incident_links"
    __table_args__ = (UniqueConstraint("call_id", "incident_id", name="uq_call_incident_links_pair"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # call_record | helpdesk | automatic | manual
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class Transfer(Base):
    """A transfer of a call to another agent, queue or line."""

    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # attended | blind | channel_change | spoken
    target: Mapped[str | None] = mapped_column(String(256))
    at: Mapped[datetime | None] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(16))  # queue_log | call_record | transcript


class Job(Base):
    """One unit of pipeline work: (recording, stage, stage version), leased to one worker at a time."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("recording_id", "stage", "version", name="uq_jobs_work"),
        Index("ix_jobs_claim", "stage", "version", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|running|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(256))
    lease_token: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    not_before: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)


class StageResult(Base):
    """A stage's typed result serialised to JSON, one per (recording, stage): the version that wrote it
    last (`store.results.save_stage_result`)."""

    __tablename__ = "stage_results"
    __table_args__ = (UniqueConstraint("recording_id", "stage", "version", name="uq_stage_results_work"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(128))
    result: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class Utterance(Base):
    """A stretch of speech by one speaker (filled by the speech layer)."""

    __tablename__ = "utterances"
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(128))
    idx: Mapped[int] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(16))  # operator | customer | unknown
    speaker: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[int | None] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    normalized_text: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    overlap: Mapped[bool] = mapped_column(Boolean, default=False)
    # Snowball stems of the normalised text, space-separated: what full-text search indexes.
    search_text: Mapped[str | None] = mapped_column(Text)


class Word(Base):
    """A timed word inside an utterance."""

    __tablename__ = "words"
    id: Mapped[int] = mapped_column(primary_key=True)
    utterance_id: Mapped[int] = mapped_column(ForeignKey("utterances.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    word: Mapped[str] = mapped_column(String(256))
    probability: Mapped[float | None] = mapped_column(Float)
    overlap: Mapped[bool] = mapped_column(Boolean, default=False)  # another speaker talked during it


class CallOutcome(Base):
    """What the analysis decided about a call: counted or excluded and why, purpose, links, repeats."""

    __tablename__ = "call_outcomes"
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    counted: Mapped[bool] = mapped_column(Boolean, index=True)
    exclusion_reasons: Mapped[list] = mapped_column(JSON, default=list)
    transfer: Mapped[dict | None] = mapped_column(JSON)
    purpose: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose_probability: Mapped[float | None] = mapped_column(Float)
    # Every purpose found, the top one first: [{"label", "probability"}, ...] (a person's correction first).
    purposes: Mapped[list | None] = mapped_column(JSON)
    caller_type: Mapped[str | None] = mapped_column(String(16))
    registration: Mapped[str | None] = mapped_column(String(16))  # regular | special | none
    # The effective score everybody reads: the machine's verdicts with people's decisions applied.
    compliance_score: Mapped[float | None] = mapped_column(Float)
    machine_compliance_score: Mapped[float | None] = mapped_column(Float)
    machine_scorecard: Mapped[dict | None] = mapped_column(JSON)  # {"items": [...]}, forbidden phrases too
    scorecard: Mapped[dict | None] = mapped_column(JSON)  # {"items": [...]}, changed items say who and why
    review_state: Mapped[str] = mapped_column(
        String(16), default="not_reviewed", server_default="not_reviewed", index=True
    )
    asr_confidence: Mapped[float | None] = mapped_column(Float)
    linked: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat_of_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    followed_by_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    handle_seconds: Mapped[float | None] = mapped_column(Float)
    versions: Mapped[dict] = mapped_column(JSON, default=dict)  # stage versions the outcome was built from
    computed_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class SiteStageRun(Base):
    """The last run of a site-wide stage (one that looks across calls), and what its inputs were then."""

    __tablename__ = "site_stage_runs"
    stage: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))  # done | failed
    inputs_mark: Mapped[str | None] = mapped_column(String(512))  # fingerprint of the inputs it read
    last_error: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)


class IncidentCandidate(Base):
    """An incident the analysis suggests for a call; a person may accept or reject it."""

    __tablename__ = "incident_candidates"
    __table_args__ = (UniqueConstraint("call_id", "incident_id", name="uq_incident_candidates_pair"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    decision: Mapped[str] = mapped_column(String(16), default="pending")  # pending | accepted | rejected
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class DuplicateIncident(Base):
    """An incident registered again for the same client and article within the duplicate window."""

    __tablename__ = "duplicate_incidents"
    __table_args__ = (UniqueConstraint("incident_id", "duplicate_of_id", name="uq_duplicate_incidents_pair"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    duplicate_of_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)


class Evaluation(Base):
    """A person's verdict on a checklist item of a call: an override of the machine, or a blind
    calibration score. Rows are never edited; the newest override per item counts."""

    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(8))  # pass | fail | n/a
    reason: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="override")  # override | calibration | resolution
    evaluator: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class PurposeCorrection(Base):
    """A person's correction of a call's purpose. Rows are never edited; the newest per call counts, in the
    outcome and as a labelled example for training the purpose model."""

    __tablename__ = "purpose_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(64))  # the purpose it replaced
    reason: Mapped[str | None] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class EvaluationResponse(Base):
    """An operator's acknowledgement or dispute of a call's evaluation, and a team lead's resolution."""

    __tablename__ = "evaluation_responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # acknowledge | dispute | resolve
    comment: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class CoachingNote(Base):
    """A team lead's coaching note attached to a call."""

    __tablename__ = "coaching_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class SavedView(Base):
    """A user's saved filter or search."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("owner", "kind", "name", name="uq_saved_views_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # calls | search
    name: Mapped[str] = mapped_column(String(128))
    query: Mapped[dict] = mapped_column(JSON)


class IngestIssue(Base):
    """A problem found while importing: a rejected file, a malformed row, an unmatched record."""

    __tablename__ = "ingest_issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # recording | cdr | queue_log | incidents | csv
    source: Mapped[str] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"))


class AuditEntry(Base):
    """Append-only record of who viewed, listened, exported or changed what (triggers forbid edits)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, server_default=text("CURRENT_TIMESTAMP"), index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict | None] = mapped_column(JSON)


class SignInThrottle(Base):
    """Wrong passwords in a row per user name ("user:NAME") or client address ("address:IP"), and the
    lockout they earned: kept in the database so every dashboard process enforces the same limits."""

    __tablename__ = "sign_in_throttle"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
