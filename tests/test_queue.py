"""The job queue under concurrency, crashes and lease expiry, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import delete, func, select, update

from store import JobQueue, StageKey, save_stage_result
from store.schema import Call, Job, Operator, Recording, StageResult
from store.sql import insert_ignore, utcnow

STAGE = StageKey("probe", "1", max_attempts=1000)
NEXT = StageKey("after_probe", "1", depends_on=("probe",), max_attempts=1000)
WORKERS = ("worker-a", "worker-b", "worker-c")


def _add_recording(engine, content: int) -> None:
    with engine.begin() as conn:
        insert_ignore(
            conn,
            Recording.__table__,
            [
                {
                    "path": f"/calls/{content}.wav",
                    "sha256": f"{content:064d}",
                    "size_bytes": 1,
                    "status": "accepted",
                }
            ],
            ["sha256"],
        )


def _reset(engine) -> None:
    with engine.begin() as conn:
        for table in (StageResult, Job, Recording):
            conn.execute(delete(table))


def test_queue_state_machine(engine):
    """Ingest with duplicates, claim, crash, lease expiry, retry: after draining, all done exactly once."""

    class QueueMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            _reset(engine)
            self.queues = {w: JobQueue(engine, owner=w, retry_backoff_seconds=0) for w in WORKERS}
            self.held = {w: [] for w in WORKERS}
            self.completions: Counter[int] = Counter()
            self.contents: set[int] = set()

        @rule(content=st.integers(0, 7))
        def ingest(self, content):
            _add_recording(engine, content)
            self.contents.add(content)
            self.queues[WORKERS[0]].enqueue_missing([STAGE, NEXT])

        @rule(worker=st.sampled_from(WORKERS), limit=st.integers(1, 3))
        def claim(self, worker, limit):
            self.held[worker].extend(self.queues[worker].claim([STAGE, NEXT], limit))

        @precondition(lambda self: any(self.held.values()))
        @rule(data=st.data())
        def complete(self, data):
            worker = data.draw(st.sampled_from([w for w in WORKERS if self.held[w]]))
            job = self.held[worker].pop(data.draw(st.integers(0, len(self.held[worker]) - 1)))
            ok = self.queues[worker].complete(
                job,
                lambda conn: save_stage_result(
                    conn, job.recording_id, job.stage, job.version, {"job": job.id}
                ),
            )
            if ok:
                self.completions[job.id] += 1

        @precondition(lambda self: any(self.held.values()))
        @rule(data=st.data())
        def fail(self, data):
            worker = data.draw(st.sampled_from([w for w in WORKERS if self.held[w]]))
            job = self.held[worker].pop(0)
            self.queues[worker].fail(job, "transient error")

        @rule(worker=st.sampled_from(WORKERS))
        def crash(self, worker):
            # The worker vanishes with its leases: its jobs stay `running` until the leases expire.
            self.queues[worker] = JobQueue(engine, owner=worker, retry_backoff_seconds=0)

        @rule()
        def leases_expire(self):
            with engine.begin() as conn:
                conn.execute(
                    update(Job)
                    .where(Job.state == "running")
                    .values(lease_expires_at=utcnow() - timedelta(seconds=1))
                )

        @invariant()
        def each_job_completes_at_most_once(self):
            assert all(n == 1 for n in self.completions.values())

        @invariant()
        def one_result_per_recording_and_stage(self):
            with engine.connect() as conn:
                worst = conn.execute(
                    select(func.count())
                    .select_from(StageResult)
                    .group_by(StageResult.recording_id, StageResult.stage)
                    .order_by(func.count().desc())
                ).first()
            assert worst is None or worst[0] == 1

        def teardown(self):
            self.leases_expire()
            drainer = JobQueue(engine, owner="drainer", retry_backoff_seconds=0)
            while jobs := drainer.claim([STAGE, NEXT], 10):
                for job in jobs:
                    assert drainer.complete(
                        job,
                        lambda conn, job=job: save_stage_result(
                            conn, job.recording_id, job.stage, job.version, {"job": job.id}
                        ),
                    )
                    self.completions[job.id] += 1
            with engine.connect() as conn:
                recordings = conn.execute(select(func.count()).select_from(Recording)).scalar_one()
                states = dict(conn.execute(select(Job.state, func.count()).group_by(Job.state)).all())
                results = conn.execute(select(func.count()).select_from(StageResult)).scalar_one()
            assert recordings == len(self.contents)
            assert states == ({"done": 2 * recordings} if recordings else {})
            assert results == 2 * recordings
            assert all(n == 1 for n in self.completions.values())
            assert len(self.completions) == 2 * recordings

    QueueMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,  # the SQLite and PostgreSQL runs share a test name: never replay one in the other
    )
    QueueMachine.TestCase().runTest()


def test_a_lost_lease_cannot_write(engine):
    _add_recording(engine, 1)
    slow, fast = JobQueue(engine, owner="slow"), JobQueue(engine, owner="fast")
    slow.enqueue_missing([STAGE])
    (job,) = slow.claim([STAGE], 1)
    with engine.begin() as conn:
        conn.execute(update(Job).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    (again,) = fast.claim([STAGE], 1)
    assert again.id == job.id and again.token == job.token + 1
    wrote = []
    assert slow.complete(job, lambda conn: wrote.append("slow")) is False
    assert fast.complete(again, lambda conn: wrote.append("fast")) is True
    assert wrote == ["fast"]


def test_retries_back_off_then_fail_with_the_error(engine):
    _add_recording(engine, 1)
    queue = JobQueue(engine, owner="w", retry_backoff_seconds=30)
    queue.enqueue_missing([StageKey("probe", "1", max_attempts=2)])
    (job,) = queue.claim([STAGE], 1)
    assert queue.fail(job, "first failure") == "pending"
    assert queue.claim([STAGE], 1) == [], "a failed job waits out its backoff"
    assert 25 < queue.next_wakeup_in([STAGE]) <= 30
    with engine.begin() as conn:
        conn.execute(update(Job).values(not_before=utcnow()))
    (job,) = queue.claim([STAGE], 1)
    assert job.attempts == 2
    assert queue.fail(job, "second failure") == "failed"
    with engine.connect() as conn:
        state, error = conn.execute(select(Job.state, Job.last_error)).one()
    assert (state, error) == ("failed", "second failure")


def test_dependent_stage_waits_for_its_prerequisite(engine):
    _add_recording(engine, 1)
    queue = JobQueue(engine, owner="w")
    queue.enqueue_missing([STAGE, NEXT])
    claimed = queue.claim([NEXT, STAGE], 5)
    assert [j.stage for j in claimed] == ["probe"]
    queue.complete(claimed[0], lambda conn: None)
    assert [j.stage for j in queue.claim([NEXT, STAGE], 5)] == ["after_probe"]


def test_new_stage_version_enqueues_only_its_work(engine):
    for content in range(3):
        _add_recording(engine, content)
    queue = JobQueue(engine, owner="w")
    assert queue.enqueue_missing([STAGE, NEXT]) == 6
    assert queue.enqueue_missing([STAGE, NEXT]) == 0
    assert queue.enqueue_missing([STAGE, StageKey("after_probe", "2", depends_on=("probe",))]) == 3


def test_pending_work_of_an_older_version_leaves_the_queue_once_the_new_version_did_it(engine):
    for content in range(3):
        _add_recording(engine, content)
    queue = JobQueue(engine, owner="w")
    queue.enqueue_missing([STAGE])
    queue.complete(queue.claim([STAGE], 1)[0], lambda conn: None)
    queue.fail(queue.claim([STAGE], 1)[0], "boom", permanent=True)
    # The stage's settings change (e.g. the taxonomy was edited) before the third job ran.
    changed = StageKey("probe", "2", max_attempts=1000)
    assert queue.enqueue_missing([changed]) == 3
    assert queue.counts()[("probe", "pending")] == 4, "the old job stays while nothing replaced it"
    while jobs := queue.claim([changed], 3):
        for job in jobs:
            queue.complete(job, lambda conn: None)
    counts = queue.counts()
    assert counts == {("probe", "done"): 3}, (
        "no pending work that never runs, no failure the new version fixed, one done job per recording"
    )
    assert queue.drop_superseded([changed]) == 0, "each went as the new version did its recording"
    assert queue.outstanding([changed]) == 0


def _run_all(queue: JobQueue, stage: StageKey) -> None:
    """Claim and complete every runnable job of `stage`, each storing its version as its result."""
    while jobs := queue.claim([stage], 5):
        for job in jobs:
            result = {"by": job.version}
            queue.complete(job, lambda conn, j=job, r=result: save_stage_result(conn, j.recording_id, j.stage,
                                                                                j.version, r))  # fmt: skip


def _shown(engine) -> list[str]:
    with engine.connect() as conn:
        return [
            r["by"]
            for r in conn.execute(select(StageResult.result).order_by(StageResult.recording_id)).scalars()
        ]


def test_settings_changed_and_changed_back_run_again_and_show_their_own_result(engine):
    for content in range(2):
        _add_recording(engine, content)
    queue = JobQueue(engine, owner="w")
    edited = StageKey("probe", "2", max_attempts=1000)
    for key in (STAGE, edited):
        queue.enqueue_missing([key])
        _run_all(queue, key)
    assert _shown(engine) == ["2", "2"], "one result per recording and stage: the latest settings'"
    assert queue.enqueue_missing([STAGE]) == 2, "the profile restored: its calls are judged again"
    _run_all(queue, STAGE)
    assert _shown(engine) == ["1", "1"]
    assert queue.counts() == {("probe", "done"): 2}, "status counts a recording's job once"
    assert queue.enqueue_missing([STAGE]) == 0


def test_a_database_that_kept_both_versions_results_runs_the_overwritten_one_again(engine):
    """Stored before one result per recording and stage was kept: both versions done on the first
    recording, the other's result written last; the second recording's own result newest of all. Only the
    first recording's current job is made pending again, once."""
    for content in range(2):
        _add_recording(engine, content)
    with engine.begin() as conn:
        first, second = conn.execute(select(Recording.id).order_by(Recording.id)).scalars()
        for recording, version in ((first, "1"), (first, "2"), (second, "1")):
            conn.execute(Job.__table__.insert().values(recording_id=recording, stage="probe", version=version,
                                                       state="done", attempts=1, max_attempts=3))  # fmt: skip
            stored = {
                "recording_id": recording,
                "stage": "probe",
                "version": version,
                "result": {"by": version},
            }
            conn.execute(StageResult.__table__.insert().values(**stored))
    queue = JobQueue(engine, owner="w")
    assert queue.enqueue_missing([STAGE]) == 0
    with engine.connect() as conn:
        pending = conn.execute(select(Job.recording_id).where(Job.state == "pending")).scalars().all()
    assert pending == [first]
    _run_all(queue, STAGE)
    assert _shown(engine) == ["1", "1"] and queue.counts() == {("probe", "done"): 2}
    assert queue.enqueue_missing([STAGE]) == 0 and queue.outstanding([STAGE]) == 0


def test_a_call_judged_before_its_operator_had_a_roster_name_is_judged_again_once_it_has(engine):
    judging = StageKey("judge", "1", reads_operator_name=True)
    _add_recording(engine, 0)
    with engine.begin() as conn:
        conn.execute(Operator.__table__.insert().values(id=1, code="22"))
        conn.execute(Operator.__table__.insert().values(id=2, code="23", name="Ольга Ким"))
        conn.execute(Call.__table__.insert().values(id=1, uniqueid="1.1", operator_id=1))
        conn.execute(update(Recording).values(call_id=1))
    queue = JobQueue(engine, owner="w")

    def judge() -> None:
        (job,) = queue.claim([judging], 1)
        with engine.connect() as conn:
            name = conn.execute(
                select(Operator.name).join(Call, Call.operator_id == Operator.id).where(Call.id == 1)
            ).scalar()
        queue.complete(job, lambda c: save_stage_result(c, job.recording_id, "judge", "1",
                                                        {"operator_name": name or ""}))  # fmt: skip

    queue.enqueue_missing([judging])
    judge()
    assert queue.enqueue_missing([judging]) == 0 and queue.outstanding([judging]) == 0, "nothing changed"
    with engine.begin() as conn:  # the roster imported at last names operator 22
        conn.execute(update(Operator).where(Operator.id == 1).values(name="Алексей Морозов"))
    queue.enqueue_missing([judging])
    assert queue.outstanding([judging]) == 1, "judged without the name it has now"
    judge()
    queue.enqueue_missing([judging])
    assert queue.outstanding([judging]) == 0
    with engine.begin() as conn:  # a later import finds the call was operator 23's
        conn.execute(update(Call).values(operator_id=2))
    queue.enqueue_missing([judging])
    assert queue.outstanding([judging]) == 1
    judge()
    with engine.begin() as conn:  # a result stored before names were recorded is left alone
        conn.execute(update(StageResult).values(result={"purpose": None}))
        conn.execute(update(Operator).where(Operator.id == 2).values(name="Ольга Кимова"))
    queue.enqueue_missing([judging])
    assert queue.outstanding([judging]) == 0


def test_a_failure_of_an_older_version_holds_back_nothing_once_the_new_version_did_it(engine):
    _add_recording(engine, 0)
    queue = JobQueue(engine, owner="w")
    queue.enqueue_missing([STAGE])
    assert queue.fail(queue.claim([STAGE], 1)[0], "file gone", permanent=True) == "failed"
    changed = StageKey("probe", "2")
    queue.enqueue_missing([changed, NEXT])
    assert queue.claim([NEXT], 1) == [], "it waits for the new version"
    queue.complete(queue.claim([changed], 1)[0], lambda conn: None)
    assert [job.stage for job in queue.claim([NEXT], 1)] == ["after_probe"]


def test_redo_fences_a_job_in_flight_so_it_runs_again_on_what_changed(engine):
    for content in range(2):
        _add_recording(engine, content)
    queue = JobQueue(engine, owner="w")
    queue.enqueue_missing([STAGE, NEXT])
    first, second = queue.claim([STAGE], 2)
    queue.complete(first, lambda conn: None)
    following = queue.claim([NEXT], 1)[0]  # of the first recording: it read the old result

    assert queue.redo([STAGE, NEXT]) == {"probe": 2, "after_probe": 1}
    assert queue.complete(second, lambda conn: None) is False, "read before the change: dropped"
    assert queue.fail(following, "boom") == "lost"
    assert queue.counts() == {("probe", "pending"): 2, ("after_probe", "pending"): 2}
    assert queue.claim([NEXT], 2) == [], "nothing after it runs before it is redone"
    for job in queue.claim([STAGE], 2):
        assert queue.complete(job, lambda conn: None)
    assert len(queue.claim([NEXT], 2)) == 2


def test_a_claim_takes_no_more_jobs_than_asked(engine):
    for content in range(8):
        _add_recording(engine, content)
    queue = JobQueue(engine, owner="worker-a")
    queue.enqueue_missing([STAGE])
    assert [len(queue.claim([STAGE], 3)) for _ in range(4)] == [3, 3, 2, 0]
