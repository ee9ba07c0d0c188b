"""Recording paths, retries and what `callqa run` says when work fails: relative paths, moved archives,
missing models, `callqa retry`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, update

from pipeline.config import StageOptions
from pipeline.executors import InlineExecutor
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.runner import run_jobs
from pipeline.stages import Stage, StageError, registered_stages
from simulator.loadgen import make_call_centre
from store import JobQueue
from store.schema import Job, Recording

CALLQA = [sys.executable, "-m", "pipeline"]
FAST_RETRIES = {"CALLQA_RETRY_BACKOFF_SECONDS": "0.01", "COLUMNS": "400"}


def _callqa(*args: str, cwd: Path, url: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CALLQA, "--db", url, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **FAST_RETRIES, **(env or {})},
        timeout=300,
    )


def _site(tmp_path: Path, calls: int = 2) -> tuple[Path, Path]:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    make_call_centre(site, calls=calls, seed=5)
    return site, elsewhere


def _jobs(cwd: Path, url: str) -> dict:
    return json.loads(_callqa("status", "--json", cwd=cwd, url=url).stdout)["jobs"]


def _store_paths_relative(url: str, site: Path) -> None:
    """What older databases hold: the path as it was given to `callqa ingest` in the site's folder."""
    from store import open_store

    engine = open_store(url)
    with engine.begin() as conn:
        for rid, path in conn.execute(select(Recording.id, Recording.path)).all():
            relative = str(Path(path).relative_to(site))
            conn.execute(update(Recording).where(Recording.id == rid).values(path=relative))
    engine.dispose()


def test_ingest_with_a_relative_path_then_run_from_elsewhere(db_url, tmp_path):
    site, elsewhere = _site(tmp_path)
    ingested = _callqa("ingest", "recordings", "--cdr", "Master.csv", cwd=site, url=db_url)
    assert ingested.returncode == 0, ingested.stderr
    run = _callqa("run", "--workers", "0", "--stages", "audio_quality", cwd=elsewhere, url=db_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "done: 2, failed: 0" in run.stdout
    assert _jobs(elsewhere, db_url)["audio_quality"] == {"done": 2}


def test_a_missing_file_names_its_path_and_retry_requeues_it_and_its_dependents(db_url, tmp_path):
    site, elsewhere = _site(tmp_path)
    assert _callqa("ingest", "recordings", "--cdr", "Master.csv", cwd=site, url=db_url).returncode == 0
    _store_paths_relative(db_url, site)

    lost = _callqa("run", "--workers", "0", "--stages", "audio_quality", cwd=elsewhere, url=db_url)
    assert lost.returncode == 1, "everything it tried failed"
    assert "done: 0, failed: 2" in lost.stdout
    missing = elsewhere / "recordings"
    assert f"recording file not found: {missing}/" in lost.stdout and "recordings_root" in lost.stdout
    assert "not a readable audio file" not in lost.stdout
    jobs = _jobs(elsewhere, db_url)
    assert jobs["audio_quality"] == {"failed": 2}
    assert jobs["transcribe"] == jobs["classify"] == jobs["redact"] == {"failed": 2}, "dependents say why"

    only_later = _callqa("retry", "--stage", "transcribe", "--failed", cwd=elsewhere, url=db_url)
    assert only_later.returncode == 0 and "requeued 6 job(s)" in only_later.stdout
    assert _jobs(elsewhere, db_url)["audio_quality"] == {"failed": 2}
    again = _callqa("retry", cwd=elsewhere, url=db_url)
    assert again.returncode == 0 and "requeued 2 job(s)" in again.stdout
    assert _jobs(elsewhere, db_url)["transcribe"] == {"pending": 2}

    found = _callqa(
        "run", "--workers", "0", "--stages", "audio_quality", cwd=elsewhere, url=db_url,
        env={"CALLQA_RECORDINGS_ROOT": str(site)},
    )  # fmt: skip
    assert found.returncode == 0, found.stdout + found.stderr
    assert "done: 2, failed: 0" in found.stdout
    jobs = _jobs(elsewhere, db_url)
    assert jobs["audio_quality"] == {"done": 2} and jobs["transcribe"] == {"pending": 2}


def test_a_model_that_is_not_there_stops_the_run_at_once_and_says_how_to_get_it(db_url, tmp_path):
    site, elsewhere = _site(tmp_path, calls=3)
    assert _callqa("ingest", "recordings", "--cdr", "Master.csv", cwd=site, url=db_url).returncode == 0
    (elsewhere / "callqa.toml").write_text('[asr]\nmodel = "large-v3"\n')
    run = _callqa("run", "--workers", "0", "--stages", "audio_quality,transcribe", cwd=elsewhere, url=db_url)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "transcribe stopped" in run.stderr and "callqa models fetch large-v3" in run.stderr
    assert "retried: 0" in run.stdout and "Traceback" not in run.stderr
    jobs = _jobs(elsewhere, db_url)
    assert jobs["audio_quality"] == {"done": 3}
    # (the jobs of the bundled model's version, queued at ingest, and of this model's, queued by the run)
    assert set(jobs["transcribe"]) == {"pending"}, "the calls are not to blame: they wait for the fix"
    (elsewhere / "callqa.toml").write_text('[asr]\nmodel = "no-such-model"\n')
    unknown = _callqa("run", "--workers", "0", "--stages", "transcribe", cwd=elsewhere, url=db_url)
    assert unknown.returncode == 2 and "unknown model 'no-such-model'" in unknown.stderr


def test_a_configuration_error_costs_no_attempt_and_runs_no_further_job(engine, tmp_path):
    import pipeline.stages as stages

    make_call_centre(tmp_path, calls=6, seed=7)
    ingest(engine, IngestRequest(recordings_dir=tmp_path / "recordings"), workers=1)
    calls: list[int] = []

    def _no_model(job):
        calls.append(job.recording_id)
        raise StageError("model 'x' is not here", configuration=True)

    needs_model = stages.register_stage(Stage("needs_model", "1", _no_model))
    after = stages.register_stage(Stage("after_model", "1", lambda job: {}, depends_on=("needs_model",)))
    try:
        summary = run_jobs(
            engine, JobQueue(engine, retry_backoff_seconds=0.01), InlineExecutor(), [needs_model, after]
        )
    finally:
        stages._REGISTRY.pop("after_model")
        stages._REGISTRY.pop("needs_model")
    assert summary.stopped == {"needs_model": "model 'x' is not here"}
    assert summary.failed == 0 and summary.retried == 0
    assert len(calls) <= 2, "only the jobs already claimed ran"
    with engine.connect() as conn:
        rows = conn.execute(
            select(Job.stage, Job.state, Job.attempts, Job.last_error).where(
                Job.stage.in_(["needs_model", "after_model"])
            )
        ).all()
    assert {(r.stage, r.state, r.attempts) for r in rows} == {
        ("needs_model", "pending", 0),
        ("after_model", "pending", 0),
    }
    assert {r.last_error for r in rows if r.stage == "needs_model" and r.last_error} == {
        "model 'x' is not here"
    }


def test_retry_requeues_failures_with_a_fresh_budget_and_dependents_run_after(engine, tmp_path, monkeypatch):
    import pipeline.stages as stages

    make_call_centre(tmp_path, calls=2, seed=9)
    ingest(engine, IngestRequest(recordings_dir=tmp_path / "recordings"), workers=1)
    with engine.begin() as conn:  # an older database: paths as given, relative to the ingest's folder
        for rid, path in conn.execute(select(Recording.id, Recording.path)).all():
            conn.execute(
                update(Recording)
                .where(Recording.id == rid)
                .values(path=str(Path(path).relative_to(tmp_path)))
            )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    quality = registered_stages(["audio_quality"])
    after = stages.register_stage(
        Stage("after_quality", "1", lambda job: {"path": job.path}, depends_on=("audio_quality",))
    )
    queue = JobQueue(engine, retry_backoff_seconds=0.01)
    try:
        first = run_jobs(engine, queue, InlineExecutor(), [*quality, after])
        assert (first.done, first.failed, dict(first.stage_failed)) == (0, 2, {"audio_quality": 2})
        assert all("recording file not found" in e for e in first.errors)
        assert queue.retry([after.key], only_failed=True) == 2
        assert queue.retry([s.key for s in [*quality, after]]) == 2
        moved = StageOptions(recordings_root=str(tmp_path))
        second = run_jobs(engine, queue, InlineExecutor(), [*quality, after], options=moved)
    finally:
        stages._REGISTRY.pop("after_quality")
    assert (second.done, second.failed) == (4, 0)
    assert dict(second.stage_done) == {"audio_quality": 2, "after_quality": 2}
    with engine.connect() as conn:
        states = conn.execute(
            select(Job.state, func.count())
            .where(Job.stage.in_(["audio_quality", "after_quality"]))
            .group_by(Job.state)
        ).all()
    assert dict(states) == {"done": 4}


def test_retry_only_failed_leaves_backoffs_alone(engine, tmp_path):
    make_call_centre(tmp_path, calls=2, seed=11)
    ingest(engine, IngestRequest(recordings_dir=tmp_path / "recordings"), workers=1)
    quality = registered_stages(["audio_quality"])[0].key
    queue = JobQueue(engine, retry_backoff_seconds=600)
    queue.enqueue_missing([quality])
    first, second = queue.claim([quality], 2)
    assert queue.fail(first, "disk gone", permanent=True) == "failed"
    assert queue.fail(second, "slow disk") == "pending"
    assert queue.claim([quality], 2) == [], "one waits out its backoff"
    assert queue.retry([quality], only_failed=True) == 1
    assert [j.id for j in queue.claim([quality], 2)] == [first.id]
    assert queue.retry([quality]) == 1
    assert [(j.id, j.attempts) for j in queue.claim([quality], 2)] == [(second.id, 1)]


def test_a_stage_that_does_not_open_the_file_runs_without_it(engine, tmp_path):
    import pipeline.stages as stages

    make_call_centre(tmp_path, calls=2, seed=13)
    ingest(engine, IngestRequest(recordings_dir=tmp_path / "recordings"), workers=1)
    for path in (tmp_path / "recordings").iterdir():
        path.unlink()  # an archive that keeps transcripts, not audio
    text_only = stages.register_stage(Stage("text_only", "1", lambda job: {}, reads_audio=False))
    try:
        summary = run_jobs(engine, JobQueue(engine), InlineExecutor(), [text_only])
    finally:
        stages._REGISTRY.pop("text_only")
    assert (summary.done, summary.failed) == (2, 0)


def test_redo_runs_done_work_again_for_the_calls_picked_and_keeps_results_until_replaced(engine, tmp_path):
    import pipeline.stages as stages
    from store import load_stage_results
    from store.queries import CallFilter, recordings_of
    from store.schema import Call, Operator, StageResult

    make_call_centre(tmp_path, calls=6, seed=17)
    request = IngestRequest(recordings_dir=tmp_path / "recordings", cdr=tmp_path / "Master.csv")
    ingest(engine, request, workers=1)
    runs: list[int] = []

    def _read_setting(job):  # what a stage reads from configuration, such as the site profile
        runs.append(job.recording_id)
        return {"run": runs.count(job.recording_id)}

    reading = stages.register_stage(Stage("reads_setting", "1", _read_setting, reads_audio=False))
    after = stages.register_stage(
        Stage(
            "after_setting", "1", lambda job: {"seen": True}, depends_on=("reads_setting",), reads_audio=False
        )
    )
    queue = JobQueue(engine)
    try:
        first = run_jobs(engine, queue, InlineExecutor(), [reading, after])
        assert (first.done, first.failed) == (12, 0)
        with engine.connect() as conn:
            code, theirs = conn.execute(
                select(Operator.code, func.count(Recording.id))
                .join(Call, Call.operator_id == Operator.id)
                .join(Recording, Recording.call_id == Call.id)
                .group_by(Operator.code)
                .order_by(func.count(Recording.id).desc())
            ).first()
            picked = set(conn.execute(recordings_of(CallFilter(operator=code))).scalars())
        assert 0 < theirs < 6 and len(picked) == theirs

        requeued = queue.redo([reading.key, after.key], recordings_of(CallFilter(operator=code)))
        assert requeued == {"reads_setting": theirs, "after_setting": theirs}
        with engine.connect() as conn:  # waiting to be redone, a call keeps what it has
            assert all(load_stage_results(conn, rid)["reads_setting"] == {"run": 1} for rid in picked)
        assert queue.redo([reading.key], recordings_of(CallFilter(operator=code))) == {"reads_setting": 0}

        second = run_jobs(engine, queue, InlineExecutor(), [reading, after])
    finally:
        stages._REGISTRY.pop("after_setting")
        stages._REGISTRY.pop("reads_setting")
    assert dict(second.stage_done) == {"reads_setting": theirs, "after_setting": theirs}
    assert set(runs[6:]) == picked, "only the picked operator's calls ran again"
    with engine.connect() as conn:
        rows = conn.execute(
            select(StageResult.recording_id, StageResult.result).where(StageResult.stage == "reads_setting")
        ).all()
    assert len(rows) == 6, "one result per recording: the new one replaced the old"
    assert {rid: result["run"] for rid, result in rows} == {
        rid: (2 if rid in picked else 1) for rid, _ in rows
    }


def test_callqa_redo_requeues_a_stage_and_what_follows_then_run_does_it(db_url, tmp_path):
    site, _ = _site(tmp_path, calls=3)
    assert _callqa("ingest", "recordings", "--cdr", "Master.csv", cwd=site, url=db_url).returncode == 0
    nothing = _callqa("redo", "audio_quality", cwd=site, url=db_url)
    assert (
        nothing.returncode == 0
        and "nothing to redo: no call has audio_quality done at its current settings" in nothing.stdout
    )
    assert _callqa("run", "--workers", "0", "--stages", "audio_quality", cwd=site, url=db_url).returncode == 0

    unknown = _callqa("redo", "transcription", cwd=site, url=db_url)
    assert unknown.returncode == 2 and "unknown stage transcription; known: audio_quality" in unknown.stderr
    bad_date = _callqa("redo", "audio_quality", "--since", "01.11.2026", cwd=site, url=db_url)
    assert bad_date.returncode == 2 and "use YYYY-MM-DD" in bad_date.stderr
    later = _callqa("redo", "audio_quality", "--since", "2999-01-01", cwd=site, url=db_url)
    assert "nothing to redo: no recorded call matches --since 2999-01-01" in later.stdout
    nobody = _callqa("redo", "transcribe", "--mono", "--operator", "nobody", cwd=site, url=db_url)
    assert nobody.returncode == 2 and "no operator has the code 'nobody' (known: " in nobody.stderr, (
        "a code mistyped is said so, not taken for calls with nothing to redo"
    )
    no_team = _callqa("redo", "transcribe", "--team", "Нет такой", cwd=site, url=db_url)
    assert no_team.returncode == 2 and "no operator is in the team 'Нет такой'" in no_team.stderr
    site_wide = _callqa("redo", "outcomes", cwd=site, url=db_url)
    assert site_wide.returncode == 2 and "`callqa analyse` runs it again" in site_wide.stderr

    redo = _callqa("redo", "audio_quality", cwd=site, url=db_url)
    assert redo.returncode == 0, redo.stderr
    assert "requeued 3 audio_quality" in redo.stdout and "callqa run" in redo.stdout
    assert _jobs(site, db_url)["audio_quality"] == {"pending": 3}
    again = _callqa("run", "--workers", "0", "--stages", "audio_quality", cwd=site, url=db_url)
    assert "done: 3, failed: 0" in again.stdout
    assert _jobs(site, db_url)["audio_quality"] == {"done": 3}


def test_redo_mono_picks_the_calls_transcribed_from_one_mixed_channel(engine, tmp_path):
    from store import save_stage_result
    from store.queries import CallFilter, recordings_of
    from store.schema import Call, Operator

    make_call_centre(tmp_path, calls=4, seed=19)
    ingest(
        engine, IngestRequest(recordings_dir=tmp_path / "recordings", cdr=tmp_path / "Master.csv"), workers=1
    )
    with engine.begin() as conn:
        recorded = conn.execute(
            select(Recording.id, Operator.code)
            .join(Call, Call.id == Recording.call_id)
            .join(Operator, Operator.id == Call.operator_id)
            .order_by(Recording.id)
        ).all()
        layouts = ["mono", "stereo", "mono", "stereo"]
        for (rid, _), layout in zip(recorded, layouts, strict=True):
            save_stage_result(conn, rid, "transcribe", "7", {"layout": layout, "utterances": []})
        mono = set(conn.execute(recordings_of(mono=True)).scalars())
        code = recorded[0].code
        theirs = set(conn.execute(recordings_of(CallFilter(operator=code), mono=True)).scalars())
    assert mono == {recorded[0].id, recorded[2].id}
    assert theirs == {rid for rid, c in recorded if c == code} & mono and recorded[0].id in theirs
