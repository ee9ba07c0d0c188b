"""The batch runner: real stages, retries, failures, and `kill -9` in the middle of a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from contracts import CallRules
from pipeline.executors import InlineExecutor
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.runner import run_jobs
from pipeline.stages import Stage, StageError, registered_stages
from simulator.loadgen import make_call_centre, speechlike, write_audio
from store import JobQueue, open_store
from store.schema import Job, Recording, StageResult
from tests.conftest import wait_for

CALLQA = [sys.executable, "-m", "pipeline"]


def _ingest_folder(engine, folder: Path) -> None:
    ingest(engine, IngestRequest(recordings_dir=folder / "recordings", cdr=folder / "Master.csv"), workers=1)


def test_audio_quality_stage_flags_pbx_faults(engine, tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    until_the_last_second = np.arange(2000) < 1900  # 10 ms steps: quiet for the recording's last second
    talk = speechlike(20, 8000, seed=1, active=until_the_last_second)
    write_audio(recordings / "fake-stereo.wav", np.stack([talk, talk]), 8000, "pcm")
    silent_customer = speechlike(20, 8000, seed=2, active=np.zeros(2000, dtype=bool))
    write_audio(recordings / "one-way.wav", np.stack([talk, silent_customer]), 8000, "pcm")
    customer = speechlike(20, 8000, seed=3, active=until_the_last_second)
    write_audio(recordings / "fine.wav", np.stack([talk, customer]), 8000, "pcm")
    cut_short = speechlike(20, 8000, seed=4)  # talking to the very end: the line dropped
    write_audio(recordings / "cut-off.wav", np.stack([talk, cut_short]), 8000, "pcm")
    ingest(engine, IngestRequest(recordings_dir=recordings), workers=1)
    summary = run_jobs(engine, JobQueue(engine), InlineExecutor(), registered_stages(["audio_quality"]))
    assert summary.done == 4 and summary.failed == 0
    with engine.connect() as conn:
        rows = conn.execute(
            select(Recording.path, StageResult.result).join(
                StageResult, StageResult.recording_id == Recording.id
            )
        ).all()
    flags = {Path(path).name: result["flags"] for path, result in rows}
    assert flags == {
        "fake-stereo.wav": ["identical_channels"],
        "one-way.wav": ["one_way_audio"],
        "fine.wav": [],
        "cut-off.wav": [],
    }
    quiet = {Path(path).name: [c["quiet_at_end"] for c in result["channels"]] for path, result in rows}
    assert 0.9 <= min(quiet["fine.wav"]) <= 1.1 and quiet["one-way.wav"][1] is None
    rules = CallRules()
    assert rules.is_cut_off(quiet["cut-off.wav"]), "the customer talks into the end: the call was cut off"
    assert not rules.is_cut_off(quiet["fine.wav"]) and not rules.is_cut_off(quiet["one-way.wav"])


def _flaky(job):
    marker = Path(job.path).with_suffix(".attempts")
    attempts = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(attempts))
    if attempts < 2:
        raise OSError("shared storage briefly unavailable")
    return {"attempts": attempts}


def _broken(job):
    raise StageError("unsupported channel layout", permanent=True)


def test_transient_errors_retry_and_permanent_ones_fail_with_their_dependents(engine, tmp_path):
    make_call_centre(tmp_path, calls=2, seed=3)
    _ingest_folder(engine, tmp_path)
    flaky = Stage("flaky", "1", _flaky)
    broken = Stage("broken", "1", _broken)
    after = Stage("after_broken", "1", lambda job: {}, depends_on=("broken",))
    queue = JobQueue(engine, retry_backoff_seconds=0.2)
    import pipeline.stages as stages

    for stage in (flaky, broken, after):
        stages.register_stage(stage)
    try:
        summary = run_jobs(engine, queue, InlineExecutor(), [flaky, broken, after])
    finally:
        for stage in (flaky, broken, after):
            stages._REGISTRY.pop(stage.name)
    assert summary.retried == 2 and summary.failed == 2
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                select(Job.stage + ":" + Job.state, func.count()).group_by(Job.stage, Job.state)
            ).all()
        )
        errors = set(conn.execute(select(Job.last_error).where(Job.state == "failed")).scalars())
    assert states["flaky:done"] == 2 and states["broken:failed"] == 2 and states["after_broken:failed"] == 2
    assert errors == {"unsupported channel layout", "not run: broken failed"}


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _pool_workers(pid: int) -> list[int]:
    """Children of `pid` that are pool workers (not multiprocessing's resource tracker)."""
    workers = []
    for child in _children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(child)
    return workers


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _done(url: str) -> int:
    engine = open_store(url, migrate=False)
    try:
        with engine.connect() as conn:
            done = (Job.state == "done") & (Job.stage == "audio_quality")
            return conn.execute(select(func.count()).select_from(Job).where(done)).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_9_mid_batch_loses_nothing_and_repeats_nothing(db_url, tmp_path):
    make_call_centre(tmp_path, calls=16, seconds=240, seed=11)
    engine = open_store(db_url)
    _ingest_folder(engine, tmp_path)
    env = {**os.environ, "CALLQA_DB": db_url}
    runner = subprocess.Popen(
        [*CALLQA, "run", "--workers", "2", "--stages", "audio_quality"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_for(lambda: _done(db_url) >= 2, timeout=120)
    workers = _pool_workers(runner.pid)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    with engine.connect() as conn:
        done = (Job.state == "done") & (Job.stage == "audio_quality")
        before = dict(conn.execute(select(Job.id, Job.finished_at).where(done)).all())
        running = conn.execute(select(func.count()).where(Job.state == "running")).scalar_one()
    assert 2 <= len(before) < 16 and running > 0, "the kill must land in the middle of the batch"
    wait_for(lambda: not any(_alive(p) for p in workers), timeout=10)  # workers die with their driver

    rerun = subprocess.run(
        [*CALLQA, "run", "--workers", "2", "--stages", "audio_quality"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                select(Job.state, func.count()).where(Job.stage == "audio_quality").group_by(Job.state)
            ).all()
        )
        after = dict(conn.execute(select(Job.id, Job.finished_at).where(Job.id.in_(list(before)))).all())
        per_recording = (
            conn.execute(select(func.count()).select_from(StageResult).group_by(StageResult.recording_id))
            .scalars()
            .all()
        )
    assert states == {"done": 16}
    assert after == before, "jobs finished before the kill must not run again"
    assert sorted(per_recording) == [1] * 16
    engine.dispose()


@pytest.mark.slow
def test_a_worker_killed_mid_batch_is_replaced_and_its_job_retried(tmp_path):
    url = f"sqlite:///{tmp_path / 'callqa.db'}"
    make_call_centre(tmp_path, calls=12, seconds=240, seed=12)
    engine = open_store(url)
    _ingest_folder(engine, tmp_path)
    env = {**os.environ, "CALLQA_DB": url, "CALLQA_RETRY_BACKOFF_SECONDS": "0.2"}
    runner = subprocess.Popen(
        [*CALLQA, "run", "--workers", "2", "--stages", "audio_quality"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    workers = wait_for(lambda: _done(url) >= 1 and _pool_workers(runner.pid), timeout=120)
    os.kill(workers[0], signal.SIGKILL)
    output, _ = runner.communicate(timeout=300)
    assert runner.returncode == 0, output
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                select(Job.state, func.count()).where(Job.stage == "audio_quality").group_by(Job.state)
            ).all()
        )
    assert states == {"done": 12}
    assert b"retried: 0" not in output
