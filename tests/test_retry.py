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
