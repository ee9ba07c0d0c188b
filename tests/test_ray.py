"""The Ray executor on a real local Ray cluster gives the same results as the local executor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.ingest_run import IngestRequest, ingest
from simulator.loadgen import make_call_centre
from store import open_store
from store.schema import Call, CallOutcome, Job, Recording, StageResult
from tests.conftest import _free_port

pytestmark = [pytest.mark.slow, pytest.mark.ray]
CALLQA = [sys.executable, "-m", "pipeline"]
RAY = Path(sys.executable).with_name("ray")


@pytest.fixture
def ray_cluster(tmp_path):
    if not RAY.exists():
        pytest.fail("Ray is not installed: pip install 'callqa[ray]'")
    port = _free_port()
    temp = Path("/tmp") / f"ray-{port}"  # Ray's socket paths must stay short
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run(
        [
            str(RAY),
            "start",
            "--head",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--object-store-memory=200000000",
            f"--temp-dir={temp}",
            "--disable-usage-stats",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=180,
    )
    yield f"127.0.0.1:{port}"
    subprocess.run([str(RAY), "stop", "--force"], capture_output=True, env=env, timeout=120)


def _results(url: str) -> dict[str, dict]:
    engine = open_store(url, migrate=False)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Recording.path, StageResult.stage, StageResult.result).join(
                StageResult, StageResult.recording_id == Recording.id
            )
        ).all()
        states = set(conn.execute(select(Job.state).where(Job.stage == "audio_quality")).scalars())
        outcomes = conn.execute(
            select(Call.uniqueid, CallOutcome.counted, CallOutcome.exclusion_reasons).join(
                CallOutcome, CallOutcome.call_id == Call.id
            )
        ).all()
        calls = conn.execute(select(Call.uniqueid)).scalars().all()
    engine.dispose()
    assert states == {"done"}
    assert sorted(u for u, *_ in outcomes) == sorted(calls), "the run ends with every call's outcome"
    results = {f"{Path(path).name}:{stage}": result for path, stage, result in rows}
    return {**results, **{f"{u}:outcome": [counted, sorted(reasons)] for u, counted, reasons in outcomes}}


def test_ray_cluster_gives_the_local_results(tmp_path, ray_cluster):
    make_call_centre(tmp_path, calls=8, stereo=True, codecs=("pcm", "alaw", "mp3"), seed=21)
    urls = {}
    for name in ("local", "ray"):
        urls[name] = f"sqlite:///{tmp_path / name}.db"
        engine = open_store(urls[name])
        ingest(
            engine,
            IngestRequest(recordings_dir=tmp_path / "recordings", cdr=tmp_path / "Master.csv"),
            workers=1,
        )
        engine.dispose()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    local = subprocess.run(
        [*CALLQA, "--db", urls["local"], "run", "--workers", "2", "--stages", "audio_quality,outcomes"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert local.returncode == 0, local.stderr
    remote = subprocess.run(
        [
            *CALLQA,
            "--db",
            urls["ray"],
            "run",
            "--stages",
            "audio_quality,outcomes",
            "--executor",
            "ray",
            "--address",
            ray_cluster,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert "Ray cluster at" in remote.stderr
    assert "analysed" in remote.stdout, "the Ray run ends with the call outcomes"
    local_results, ray_results = _results(urls["local"]), _results(urls["ray"])
    assert len([k for k in local_results if k.endswith(":audio_quality")]) == 8
    assert ray_results == local_results
