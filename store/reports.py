"""What `callqa status` shows: work per stage and state, and every problem with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, func, or_, select

from store.call_records import recording_alternatives
from store.queue import site_runs
from store.schema import Call, IngestIssue, Job, Recording


@dataclass
class Problem:
    """One rejected file or row, or one failed job."""

    kind: str
    source: str
    line: int | None
    code: str
    message: str


@dataclass
class StatusReport:
    """Counts and problems across the whole store."""

    recordings: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    answered_calls_without_recording: int = 0
    # Answered calls whose recording was found but refused (listed under problems), not without one.
    answered_calls_with_recording_refused: int = 0
    recordings_without_call: int = 0
    jobs: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Copies of a call's recording kept beside the one transcribed: not problems, but listed.
    alternatives: list[dict] = field(default_factory=list)


# Recordings that are no problem: transcribed, kept as another copy, or a rejected file since replaced by
# a readable one at the same path.
_NOT_A_PROBLEM = ("accepted", "alternative", "replaced")


def status_report(conn: Connection) -> StatusReport:
    """Gather the status of everything registered and processed."""
    report = StatusReport()
    report.recordings = dict(
        conn.execute(select(Recording.status, func.count()).group_by(Recording.status)).all()
    )
    report.calls = conn.execute(select(func.count()).select_from(Call)).scalar_one()
    has_recording = (
        select(Recording.id).where(Recording.call_id == Call.id, Recording.status == "accepted").exists()
    )
    # What the problems list shows: a file neither transcribed nor kept as an alternative copy.
    refused = (
        select(Recording.id)
        .where(Recording.call_id == Call.id, Recording.status.not_in(_NOT_A_PROBLEM))
        .exists()
    )
    answered = select(func.count()).select_from(Call).where(Call.disposition == "ANSWERED", ~has_recording)
    report.answered_calls_without_recording = conn.execute(answered.where(~refused)).scalar_one()
    report.answered_calls_with_recording_refused = conn.execute(answered.where(refused)).scalar_one()
    # A recording whose call is known only from it (no call record yet) is still without a call record.
    report.recordings_without_call = conn.execute(
        select(func.count())
        .select_from(Recording)
        .outerjoin(Call, Call.id == Recording.call_id)
        .where(or_(Recording.call_id.is_(None), Call.source == "recording"), Recording.status == "accepted")
    ).scalar_one()
    for stage, state, count in conn.execute(
        select(Job.stage, Job.state, func.count()).group_by(Job.stage, Job.state).order_by(Job.stage)
    ):
        report.jobs.setdefault(stage, {})[state] = count
    for path, code, reason in conn.execute(
        select(Recording.path, Recording.reject_code, Recording.reject_reason)
        .where(Recording.status.not_in(_NOT_A_PROBLEM))
        .order_by(Recording.path)
    ):
        report.problems.append(Problem("recording", path, None, code or "rejected", reason or ""))
    report.alternatives = recording_alternatives(conn)
    for kind, source, line, code, message in conn.execute(
        select(IngestIssue.kind, IngestIssue.source, IngestIssue.line, IngestIssue.code, IngestIssue.message)
        .where(IngestIssue.kind != "recording")
        .order_by(IngestIssue.source, IngestIssue.line)
    ):
        report.problems.append(Problem(kind, source, line, code, message))
    for stage, path, error in conn.execute(
        select(Job.stage, Recording.path, Job.last_error)
        .join(Recording, Recording.id == Job.recording_id)
        .where(Job.state == "failed")
        .order_by(Recording.path)
    ):
        report.problems.append(Problem(f"job:{stage}", path, None, "failed", error or ""))
    # Site-wide stages (one run over all calls) show as one job in their last state.
    for name, run in site_runs(conn).items():
        report.jobs[name] = {run.state: 1}
        if run.state == "failed":
            report.problems.append(Problem(f"job:{name}", "all calls", None, "failed", run.last_error or ""))
    return report
