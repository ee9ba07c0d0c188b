"""Ingest throughput and store write rates.

- Ingest (decode + validate + fingerprint + register) of 1,000 generated 60 s 8 kHz calls on 2
  workers, against a same-run baseline: a bare sequential PyAV decode of the same files.
- Peak memory of an ingest of 100 vs 1,000 files (it must not grow with the batch).
- Store writes/s (call-record legs) and job-queue throughput on SQLite and PostgreSQL.

Run: .venv/bin/python bench/ingest_throughput.py [--calls 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import median, write_section  # noqa: E402
from ingest import FileIdentity, RecordingFacts, find_recordings  # noqa: E402
from ingest.records import CallRecord  # noqa: E402
from simulator.loadgen import make_call_centre  # noqa: E402

DATA = REPO / ".bench-data"


def ensure_calls(calls: int) -> Path:
    folder = DATA / f"calls-{calls}x60s"
    if not (folder / "Master.csv").exists():
        print(f"generating {calls} calls of 60 s in {folder} ...", flush=True)
        make_call_centre(folder, calls=calls, seconds=60, codecs=("pcm",), seed=42)
    return folder


def bare_decode(folder: Path) -> float:
    """Baseline: decode every file once with PyAV, sequentially, nothing else."""
    import av

    started = time.perf_counter()
    for path in find_recordings(folder / "recordings"):
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                frame.to_ndarray()
    return time.perf_counter() - started


def one_ingest(folder: Path, workers: int, limit: int | None = None) -> dict:
    """Ingest in a fresh process (clean peak-memory figures); returns seconds and peak RSS."""
    code = f"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {str(REPO)!r})
from pipeline.ingest_run import IngestRequest, ingest
from store import open_store
folder = Path({str(folder)!r})
recordings = folder / "recordings"
limit = {limit!r}
if limit:
    import tempfile, os
    subset = Path(tempfile.mkdtemp())
    for path in sorted(recordings.iterdir())[:limit]:
        os.symlink(path, subset / path.name)
    recordings = subset
engine = open_store("sqlite:///" + {str(Path(tempfile.mkdtemp()) / "bench.db")!r})
started = time.perf_counter()
request = IngestRequest(recordings_dir=recordings, cdr=folder / "Master.csv")
summary = ingest(engine, request, workers={workers})
seconds = time.perf_counter() - started
usage = resource.getrusage
peak = max(usage(resource.RUSAGE_SELF).ru_maxrss, usage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({{"seconds": seconds, "accepted": summary.accepted, "peak_mib": peak / 1024}}))
"""
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def store_writes(url: str, rows: int = 20000) -> float:
    """Call-record legs registered per second (each leg: insert-if-new plus the call's assembly)."""
    from pipeline.ingest_run import register_call_records
    from store import open_store

    engine = open_store(url)
    start = datetime(2026, 3, 2, 9)
    legs = [
        CallRecord(
            uniqueid=f"{1772442000 + i}.{i}",
            source_file="bench",
            source_line=i,
            src=f"7916{i:07d}",
            dst="8800",
            dstchannel=f"SIP/{101 + i % 20}-0001",
            start=start + timedelta(seconds=i),
            answer=start + timedelta(seconds=i + 3),
            end=start + timedelta(seconds=i + 63),
            billsec=60,
            duration=63,
            disposition="ANSWERED",
        )
        for i in range(rows)
    ]
    started = time.perf_counter()
    with engine.begin() as conn:
        register_call_records(conn, legs)
    seconds = time.perf_counter() - started
    engine.dispose()
    return rows / seconds


def queue_throughput(url: str, jobs: int = 2000) -> float:
    """Jobs claimed and completed per second by one driver (the bookkeeping cost per job)."""
    from store import JobQueue, StageKey, open_store, save_stage_result
    from store.call_records import add_recording

    engine = open_store(url)
    with engine.begin() as conn:
        for i in range(jobs):
            add_recording(conn, RecordingFacts(FileIdentity(f"/r/{i}.wav", 1, f"{i:064d}"), None, None, None))
    stage = StageKey("bench", "1")
    queue = JobQueue(engine)
    queue.enqueue_missing([stage])
    started = time.perf_counter()
    while batch := queue.claim([stage], 8):
        for job in batch:
            queue.complete(
                job, lambda c, j=job: save_stage_result(c, j.recording_id, j.stage, j.version, {"ok": 1})
            )
    seconds = time.perf_counter() - started
    engine.dispose()
    return jobs / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = ensure_calls(args.calls)
    audio_hours = args.calls * 60 / 3600

    baseline, ingests = [], []
    for _ in range(args.repeat):
        baseline.append(bare_decode(folder))
        ingests.append(one_ingest(folder, args.workers))
    seconds = median([r["seconds"] for r in ingests])
    base = median(baseline)
    assert all(r["accepted"] == args.calls for r in ingests)
    small = one_ingest(folder, args.workers, limit=max(1, args.calls // 10))
    large = ingests[0]

    sys.path.insert(0, str(REPO))
    from tests.conftest import PostgresServer

    results = {"sqlite": {}, "postgresql": {}}
    server = PostgresServer()
    server.start()
    try:
        for _ in range(args.repeat):
            for backend in results:
                url = (
                    f"sqlite:///{Path(tempfile.mkdtemp()) / 'w.db'}"
                    if backend == "sqlite"
                    else server.create_database()
                )
                results[backend].setdefault("writes", []).append(store_writes(url))
                url = (
                    f"sqlite:///{Path(tempfile.mkdtemp()) / 'q.db'}"
                    if backend == "sqlite"
                    else server.create_database()
                )
                results[backend].setdefault("queue", []).append(queue_throughput(url))
    finally:
        server.stop()

    def rate(backend: str, figure: str) -> str:
        return f"{median(results[backend][figure]):.0f}"

    body = f"""
### Ingest: {args.calls} calls x 60 s, 8 kHz mono PCM WAV ({audio_hours:.1f} audio-hours), \
{args.workers} workers

| figure | median of {args.repeat} |
|---|---|
| ingest wall time | {seconds:.2f} s |
| recordings/s | {args.calls / seconds:.0f} |
| audio-hours ingested per second | {audio_hours / seconds:.2f} |
| seconds per audio-hour (target < 3 s) | {seconds / audio_hours:.2f} s |
| baseline: bare sequential PyAV decode of the same files | {base:.2f} s |
| ratio ingest / bare decode | {seconds / base:.2f} |
| peak memory, {max(1, args.calls // 10)} files | {small["peak_mib"]:.0f} MiB |
| peak memory, {args.calls} files | {large["peak_mib"]:.0f} MiB |

Ingest decodes every file fully (validation needs its true length, peak and level), hashes it and
registers it; the baseline decodes the same files on one core and does nothing else. Peak memory is
the largest resident set of the driver or a worker: it does not grow with the number of files.

### Store

Registration of call records is batched (500 calls a statement group); the queue figure is the
bookkeeping cost per job (claim, result write, completion) with no stage work.

| backend | call-record legs registered/s | jobs claimed+completed/s (one driver) |
|---|---|---|
| SQLite (WAL) | {rate("sqlite", "writes")} | {rate("sqlite", "queue")} |
| PostgreSQL 15 (local, fsync off) | {rate("postgresql", "writes")} | {rate("postgresql", "queue")} |
"""
    print(body)
    write_section("Ingest throughput and store writes", "make bench  (bench/ingest_throughput.py)", body)


if __name__ == "__main__":
    main()
