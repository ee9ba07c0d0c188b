"""The job queue: one job per (recording, stage, stage version), leased to one worker at a time; and the
record of site-wide stages (one run over all calls, due when their inputs changed).

Exactly-once effects come from fencing: each claim bumps `lease_token`, and a result is written in
the same transaction that moves the job to `done` only if the token is still the one claimed. A
worker that was killed or lost its lease can therefore never write a result twice.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from store.schema import Call, Job, Operator, Recording, SiteStageRun, StageResult, Utterance
from store.sql import utcnow

logger = logging.getLogger("callqa.store")
_IDS_PER_STATEMENT = 500  # under SQLite's bound-parameter limit


@dataclass(frozen=True)
class StageKey:
    """What the queue needs to know of a stage: name, version, prerequisites, retry budget."""

    name: str
    version: str
    depends_on: tuple[str, ...] = ()
    max_attempts: int = 3
    reads_operator_name: bool = False  # its result records the roster name it used (`operator_name`)


@dataclass
class ClaimedJob:
    """A job this worker holds; `token` fences its result write."""

    id: int
    recording_id: int
    stage: str
    version: str
    token: int
    attempts: int


def process_owner() -> str:
    """host:pid:start-time, so a dead local owner can be told from a live one (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start_ticks(os.getpid())}"


def _process_start_ticks(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def owner_is_dead(owner: str) -> bool:
    """True when `owner` was a process on this host that no longer runs."""
    try:
        host, pid, ticks = owner.rsplit(":", 2)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    return _process_start_ticks(int(pid)) != ticks


def backoff_seconds(attempts: int, base: float) -> float:
    """Exponential backoff after the `attempts`-th failure, capped at 10 minutes."""
    return min(base * (2 ** max(attempts - 1, 0)), 600.0)


class JobQueue:
    """Claim, renew, complete and fail jobs; safe for many concurrent workers on either backend."""

    def __init__(
        self,
        engine: Engine,
        owner: str | None = None,
        lease_seconds: float = 300.0,
        retry_backoff_seconds: float = 5.0,
    ) -> None:
        self.engine = engine
        self.owner = owner or process_owner()
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_backoff_seconds = retry_backoff_seconds

    # ------------------------------------------------------------ enqueue

    def enqueue_missing(self, stages: Sequence[StageKey]) -> int:
        """Create a pending job for every accepted recording that lacks one for a stage's current version."""
        added = 0
        with self.engine.begin() as conn:
            for stage in stages:
                other = aliased(Job)
                source = select(
                    Recording.id,
                    literal(stage.name),
                    literal(stage.version),
                    literal("pending"),
                    literal(0),
                    literal(stage.max_attempts),
                    literal(0),
                ).where(
                    Recording.status == "accepted",
                    ~exists().where(
                        other.recording_id == Recording.id,
                        other.stage == stage.name,
                        other.version == stage.version,
                    ),
                )
                dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
                statement = (
                    dialect.insert(Job)
                    .from_select(
                        [
                            "recording_id",
                            "stage",
                            "version",
                            "state",
                            "attempts",
                            "max_attempts",
                            "lease_token",
                        ],
                        source,
                    )
                    .on_conflict_do_nothing(index_elements=["recording_id", "stage", "version"])
                    .returning(Job.id)
                )
                added += len(conn.execute(statement).all())
        self.requeue_overwritten(stages)
        self.requeue_renamed(stages)
        self.drop_superseded(stages)
        return added

    def requeue_renamed(self, stages: Sequence[StageKey]) -> int:
        """Make pending again the done jobs of stages that read the operator's roster name whose result
        names another than the call's operator has now: a roster imported after the calls were judged
        (an operator named at last, renamed, or the call's operator found on a later import)."""
        requeued = 0
        with self.engine.begin() as conn:
            for stage in (s for s in stages if s.reads_operator_name):
                used = StageResult.result["operator_name"].as_string()
                now = func.coalesce(
                    select(Operator.name)
                    .join(Call, Call.operator_id == Operator.id)
                    .where(Call.id == Recording.call_id)
                    .scalar_subquery(),
                    "",
                )
                stale = (
                    select(StageResult.id)
                    .join(Recording, Recording.id == StageResult.recording_id)
                    .where(
                        StageResult.recording_id == Job.recording_id,
                        StageResult.stage == stage.name,
                        StageResult.version == stage.version,
                        used.is_not(None),  # results stored before the name was recorded are left as they are
                        used != now,
                    )
                    .exists()
                )
                requeued += _requeue_done(conn, stage, stale)
        return requeued

    def requeue_overwritten(self, stages: Sequence[StageKey]) -> int:
        """Make pending again the done jobs of a stage's current version whose recording shows another
        version's result, written after theirs: settings changed and then changed back (a profile edited
        and restored) would otherwise leave the other settings' verdicts on show with nothing due."""
        requeued = 0
        with self.engine.begin() as conn:
            for stage in stages:
                other, own = aliased(StageResult), aliased(StageResult)
                newer = exists().where(
                    other.recording_id == Job.recording_id,
                    other.stage == stage.name,
                    other.version != stage.version,
                    ~exists().where(
                        own.recording_id == other.recording_id,
                        own.stage == stage.name,
                        own.version == stage.version,
                        own.id > other.id,
                    ),
                )
                requeued += _requeue_done(conn, stage, newer)
        return requeued

    def drop_superseded(self, stages: Sequence[StageKey]) -> int:
        """Drop the jobs of another stage version whose recording the current version has done: pending
        ones never run, status counts only what is due, a failure the new version got past no longer
        holds back the stages after it, and a done one no longer holds the result on show (one result
        per recording and stage: going back to its settings runs it again). Work the current version has
        not redone stays. Two settings files used in turn on one database judge the calls again each
        time (a call shows one result); a worker of other settings finishing late shows its result until
        the next `callqa run` puts the current settings' back."""
        dropped = 0
        with self.engine.begin() as conn:
            for stage in stages:
                current = aliased(Job)
                dropped += conn.execute(
                    delete(Job).where(
                        Job.stage == stage.name,
                        Job.version != stage.version,
                        Job.state.in_(("pending", "failed", "done")),
                        exists().where(
                            current.recording_id == Job.recording_id,
                            current.stage == stage.name,
                            current.version == stage.version,
                            current.state == "done",
                        ),
                    )
                ).rowcount
        return dropped

    # ------------------------------------------------------------ claim

    def reap_dead_owners(self) -> int:
        """Expire at once the leases held by processes on this host that died (e.g. `kill -9`)."""
        with self.engine.begin() as conn:
            owners = (
                conn.execute(select(Job.lease_owner).where(Job.state == "running").distinct()).scalars().all()
            )
            dead = [o for o in owners if o and o != self.owner and owner_is_dead(o)]
            if not dead:
                return 0
            result = conn.execute(
                update(Job)
                .where(Job.state == "running", Job.lease_owner.in_(dead))
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
            logger.info("took back %d job(s) from %d dead worker process(es)", result.rowcount, len(dead))
            return result.rowcount

    def _claimable(self, now):
        return or_(
            and_(Job.state == "pending", or_(Job.not_before.is_(None), Job.not_before <= now)),
            and_(Job.state == "running", Job.lease_expires_at < now),
        )

    def claim(self, stages: Sequence[StageKey], limit: int) -> list[ClaimedJob]:
        """Lease up to `limit` runnable jobs whose prerequisite stages are done, oldest first."""
        claimed: list[ClaimedJob] = []
        with self.engine.begin() as conn:
            now = utcnow()
            self._fail_exhausted(conn, now)
            for stage in stages:
                if len(claimed) >= limit:
                    break
                prerequisite = aliased(Job)
                # Jobs exist only for accepted recordings (ingest deletes pending work of a recording
                # it rejects later), so no join to recordings: it also misleads PostgreSQL's planner.
                candidates = (
                    select(Job.id)
                    .where(Job.stage == stage.name, Job.version == stage.version, self._claimable(now))
                    .order_by(Job.id)
                    .limit(limit - len(claimed))
                    .with_for_update(of=Job, skip_locked=True)
                )
                if stage.depends_on:
                    candidates = candidates.where(
                        ~exists().where(
                            prerequisite.recording_id == Job.recording_id,
                            prerequisite.stage.in_(stage.depends_on),
                            prerequisite.state != "done",
                        )
                    )
                # The candidates are picked (and on PostgreSQL locked) first: inside the UPDATE, PostgreSQL
                # may rescan a LIMIT subquery and claim every runnable job. The re-check of `claimable`
                # guards SQLite, where FOR UPDATE is a no-op and BEGIN IMMEDIATE serialises claimers.
                picked = conn.execute(candidates).scalars().all()
                if not picked:
                    continue
                rows = conn.execute(
                    update(Job)
                    .where(Job.id.in_(picked), self._claimable(now))
                    .values(
                        state="running",
                        lease_owner=self.owner,
                        lease_token=Job.lease_token + 1,
                        lease_expires_at=now + self.lease,
                        attempts=Job.attempts + 1,
                        started_at=now,
                    )
                    .returning(
                        Job.id, Job.recording_id, Job.stage, Job.version, Job.lease_token, Job.attempts
                    )
                ).all()
                claimed.extend(sorted((ClaimedJob(*row) for row in rows), key=lambda job: job.id))
        return claimed

    def _fail_exhausted(self, conn: Connection, now) -> None:
        # A job whose workers keep dying (crash, OOM kill) must end `failed`, not loop forever.
        conn.execute(
            update(Job)
            .where(Job.state == "running", Job.lease_expires_at < now, Job.attempts >= Job.max_attempts)
            .values(
                state="failed",
                finished_at=now,
                last_error=func.coalesce(Job.last_error, "")
                + "worker stopped without finishing (lease expired) on the last allowed attempt",
                lease_owner=None,
            )
        )

    def renew(self, jobs: Sequence[ClaimedJob]) -> None:
        """Extend the leases of jobs still being worked on."""
        if not jobs:
            return
        with self.engine.begin() as conn:
            for job in jobs:
                conn.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.lease_token == job.token, Job.state == "running")
                    .values(lease_expires_at=utcnow() + self.lease)
                )

    # ------------------------------------------------------------ finish

    def complete(
        self, job: ClaimedJob, write: Callable[[Connection], None], seconds: float | None = None
    ) -> bool:
        """Mark `job` done and write its result atomically; False (nothing written) if the lease was lost."""
        with self.engine.begin() as conn:
            now = utcnow()
            updated = conn.execute(
                update(Job)
                .where(Job.id == job.id, Job.lease_token == job.token, Job.state == "running")
                .values(
                    state="done", finished_at=now, lease_owner=None, last_error=None, duration_seconds=seconds
                )
            ).rowcount
            if updated != 1:
                logger.warning("job %d (%s) lost its lease; its result is dropped", job.id, job.stage)
                conn.rollback()
                return False
            write(conn)
            self._drop_superseded_of(conn, job)
        return True

    @staticmethod
    def _drop_superseded_of(conn: Connection, job: ClaimedJob) -> None:
        """As `drop_superseded`, for the recording and stage of a job just done: at once, so that an older
        version's failure does not hold back the stages after it for the rest of this run."""
        conn.execute(
            delete(Job).where(
                Job.recording_id == job.recording_id,
                Job.stage == job.stage,
                Job.version != job.version,
                Job.state.in_(("pending", "failed", "done")),
            )
        )

    def fail(self, job: ClaimedJob, error: str, permanent: bool = False) -> str:
        """Record a failure: back to `pending` after a backoff, or `failed` when out of attempts."""
        with self.engine.begin() as conn:
            current = conn.execute(
                select(Job.attempts, Job.max_attempts).where(Job.id == job.id, Job.lease_token == job.token)
            ).first()
            if current is None:
                return "lost"
            now = utcnow()
            final = permanent or current.attempts >= current.max_attempts
            values = {"last_error": error[:4000], "lease_owner": None}
            if final:
                values.update(state="failed", finished_at=now)
            else:
                delay = backoff_seconds(current.attempts, self.retry_backoff_seconds)
                values.update(state="pending", not_before=now + timedelta(seconds=delay))
            conn.execute(update(Job).where(Job.id == job.id, Job.lease_token == job.token).values(**values))
            return values["state"]

    def release(self, jobs: Sequence[ClaimedJob]) -> None:
        """Give jobs back untouched (an orderly stop): they are pending again, the attempt not counted."""
        with self.engine.begin() as conn:
            for job in jobs:
                conn.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.lease_token == job.token, Job.state == "running")
                    .values(state="pending", lease_owner=None, attempts=Job.attempts - 1)
                )

    def put_back(self, jobs: Sequence[ClaimedJob], error: str) -> None:
        """Return jobs that could not run through no fault of their recording (the settings name a model
        that is not there): pending again, the attempt not counted, `error` kept to say why they wait."""
        with self.engine.begin() as conn:
            for job in jobs:
                conn.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.lease_token == job.token, Job.state == "running")
                    .values(
                        state="pending",
                        lease_owner=None,
                        attempts=Job.attempts - 1,
                        not_before=None,
                        last_error=error[:4000],
                    )
                )

    def retry(self, stages: Sequence[StageKey], only_failed: bool = False) -> int:
        """Requeue the jobs of `stages` (current versions) that failed, with a fresh retry budget; unless
        `only_failed`, also make jobs waiting out a retry backoff runnable now. Returns the jobs requeued.

        Jobs that failed only because a prerequisite failed are requeued with it and run after it.
        """
        requeued = 0
        with self.engine.begin() as conn:
            now = utcnow()
            for stage in stages:
                waiting = [Job.state == "failed"]
                if not only_failed:
                    waiting.append(and_(Job.state == "pending", Job.not_before > now))
                requeued += conn.execute(
                    update(Job)
                    .where(Job.stage == stage.name, Job.version == stage.version, or_(*waiting))
                    .values(**_fresh(stage))
                ).rowcount
        return requeued

    def redo(self, stages: Sequence[StageKey], recordings: Select | None = None) -> dict[str, int]:
        """Make the done and running jobs of `stages` (current versions) pending again, of every recording
        or of those `recordings` (a select of recording ids, read once) picks; returns the jobs requeued
        per stage.

        A running job may have read what is being changed: its lease is fenced (the token moves on), so
        its result is dropped as a lost lease and it runs again. Stored results stay until the new ones
        replace them (replace-by-key). Pending jobs are left alone: they will run anyway.
        """
        requeued: dict[str, int] = {}
        with self.engine.begin() as conn:
            picked = None if recordings is None else conn.execute(recordings).scalars().all()
            for stage in stages:
                statement = (
                    update(Job)
                    .where(
                        Job.stage == stage.name,
                        Job.version == stage.version,
                        Job.state.in_(("done", "running")),
                    )
                    .values(**_fresh(stage), lease_token=Job.lease_token + 1)
                )
                if picked is None:
                    requeued[stage.name] = conn.execute(statement).rowcount
                    continue
                requeued[stage.name] = sum(
                    conn.execute(
                        statement.where(Job.recording_id.in_(picked[at : at + _IDS_PER_STATEMENT]))
                    ).rowcount
                    for at in range(0, len(picked), _IDS_PER_STATEMENT)
                )
        return requeued

    # ------------------------------------------------------------ inspect

    def counts(self) -> dict[tuple[str, str], int]:
        """(stage, state) -> number of jobs."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(Job.stage, Job.state, func.count()).group_by(Job.stage, Job.state))
            return {(stage, state): n for stage, state, n in rows}

    def outstanding(self, stages: Sequence[StageKey]) -> int:
        """Jobs of the current stage versions that are not finished yet."""
        with self.engine.connect() as conn:
            total = 0
            for stage in stages:
                total += conn.execute(
                    select(func.count())
                    .select_from(Job)
                    .join(Recording, Recording.id == Job.recording_id)
                    .where(
                        Job.stage == stage.name,
                        Job.version == stage.version,
                        Job.state.in_(("pending", "running")),
                        Recording.status == "accepted",
                    )
                ).scalar_one()
            return total

    def fail_dependents(self, recording_id: int, stages: Sequence[str], reason: str) -> int:
        """Jobs that can never run because a prerequisite failed end `failed` too, saying why."""
        if not stages:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(
                update(Job)
                .where(Job.recording_id == recording_id, Job.stage.in_(stages), Job.state == "pending")
                .values(state="failed", last_error=reason, finished_at=utcnow())
            ).rowcount

    def fail_blocked(self, stages: Sequence[StageKey]) -> int:
        """Pending jobs whose prerequisite failed for good (and is not queued again) can never run: they
        end `failed` too, saying which prerequisite failed, so that `status` shows them and `retry` takes
        them back with it."""
        failed = 0
        with self.engine.begin() as conn:
            for stage in stages:
                for prerequisite in stage.depends_on:
                    before, again = aliased(Job), aliased(Job)
                    blocked = exists().where(
                        before.recording_id == Job.recording_id,
                        before.stage == prerequisite,
                        before.state == "failed",
                        ~exists().where(
                            again.recording_id == Job.recording_id,
                            again.stage == prerequisite,
                            again.state.in_(("pending", "running", "done")),
                        ),
                    )
                    failed += conn.execute(
                        update(Job)
                        .where(
                            Job.stage == stage.name,
                            Job.version == stage.version,
                            Job.state == "pending",
                            blocked,
                        )
                        .values(
                            state="failed", last_error=f"not run: {prerequisite} failed", finished_at=utcnow()
                        )
                    ).rowcount
        return failed

    def next_wakeup_in(self, stages: Sequence[StageKey]) -> float | None:
        """Seconds until a backed-off job, or one leased by another worker, may become claimable.

        None when no such job exists, i.e. nothing more will become runnable by waiting.
        """
        names = [s.name for s in stages]
        now = utcnow()
        with self.engine.connect() as conn:
            soonest = conn.execute(
                select(func.min(func.coalesce(Job.not_before, Job.lease_expires_at))).where(
                    Job.stage.in_(names),
                    or_(
                        and_(Job.state == "pending", Job.not_before > now),
                        and_(Job.state == "running", Job.lease_owner != self.owner),
                    ),
                )
            ).scalar()
        if soonest is None:
            return None
        return max((soonest - now).total_seconds(), 0.0)


# ---------------------------------------------------------------- site-wide stages


@dataclass
class SiteRun:
    """The last run of a site-wide stage: its version, outcome and the fingerprint of what it read."""

    stage: str
    version: str
    state: str  # done | failed
    inputs_mark: str | None
    runs: int
    finished_at: object | None = None
    duration_seconds: float | None = None
    last_error: str | None = None


def _fresh(stage: StageKey) -> dict:
    """A job's columns as pending work with a whole retry budget, runnable now."""
    return {
        "state": "pending",
        "attempts": 0,
        "max_attempts": stage.max_attempts,
        "not_before": None,
        "lease_owner": None,
        "finished_at": None,
    }


def _requeue_done(conn: Connection, stage: StageKey, which) -> int:
    """Make pending again the done jobs of `stage`'s current version that `which` (a condition) picks."""
    done = and_(Job.stage == stage.name, Job.version == stage.version, Job.state == "done")
    return conn.execute(update(Job).where(done, which).values(**_fresh(stage))).rowcount


def retire_work(conn: Connection, recording_id: int) -> int:
    """Take back everything the pipeline queued or made for a recording that is no longer a call's
    recording (a worse copy, a rejected file): its jobs in any state, stage results and transcript.

    A worker still running one of its jobs loses the lease and its result is dropped (`complete`), so
    nothing of the retired file is counted next to the call's recording. Returns the jobs removed.
    """
    removed = conn.execute(delete(Job).where(Job.recording_id == recording_id)).rowcount
    conn.execute(delete(StageResult).where(StageResult.recording_id == recording_id))
    conn.execute(delete(Utterance).where(Utterance.recording_id == recording_id))
    return removed


def site_runs(conn: Connection) -> dict[str, SiteRun]:
    """Every site-wide stage's last run, by stage name."""
    rows = conn.execute(select(SiteStageRun.__table__)).mappings()
    return {row["stage"]: SiteRun(**row) for row in rows}


def site_stage_due(conn: Connection, stage: str, version: str, inputs_mark: str) -> bool:
    """True unless the stage's last run succeeded with this version over inputs with this fingerprint."""
    last = site_runs(conn).get(stage)
    return last is None or last.state != "done" or last.version != version or last.inputs_mark != inputs_mark


def record_site_run(
    conn: Connection,
    stage: str,
    version: str,
    state: str,
    inputs_mark: str | None,
    seconds: float | None,
    error: str | None = None,
) -> None:
    """Remember a site-wide stage's run (replacing the previous record)."""
    values = {"version": version, "state": state, "inputs_mark": inputs_mark,
              "last_error": error and error[:4000], "finished_at": utcnow(),
              "duration_seconds": seconds}  # fmt: skip
    updated = conn.execute(
        update(SiteStageRun).where(SiteStageRun.stage == stage).values(runs=SiteStageRun.runs + 1, **values)
    ).rowcount
    if not updated:
        conn.execute(insert(SiteStageRun).values(stage=stage, runs=1, **values))
