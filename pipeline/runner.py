"""The batch loop: claim runnable jobs, run them on an executor, persist results, retry failures; then
the site-wide stages (call outcomes) once the per-recording work has drained.

The driver is the only writer: workers (processes or Ray tasks) never touch the database, so the
same loop serves SQLite and PostgreSQL, local pools and clusters. Site-wide stages run in the driver:
they read and write the store and are cheap next to transcription.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from asr import Utterance
from contracts.serialise import from_json
from pipeline.config import StageOptions
from pipeline.executors import Executor
from pipeline.stages import SiteStage, Stage, StageError, StageInput, load_upstream, site_stages
from store.operators import load_voiceprints
from store.queue import ClaimedJob, JobQueue, record_site_run, site_stage_due
from store.results import load_call_facts, load_recording, load_stage_results
from store.speech import load_transcript
from store.transfers import call_transfers

logger = logging.getLogger("callqa.pipeline")

ProgressCallback = Callable[[int, int], None]


@dataclass
class RunSummary:
    """What one `callqa run` did."""

    done: int = 0
    failed: int = 0
    retried: int = 0
    lost_leases: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    site_results: dict[str, Any] = field(default_factory=dict)  # site-wide stage -> its summary
    site_up_to_date: list[str] = field(default_factory=list)  # site-wide stages with nothing new to do


def _stage_input(engine: Engine, job: ClaimedJob, stage: Stage, options: StageOptions) -> StageInput:
    with engine.connect() as conn:
        recording = load_recording(conn, job.recording_id)
        call = load_call_facts(conn, recording.call_id) if recording.call_id is not None else None
        upstream = load_stage_results(conn, job.recording_id) if stage.depends_on else {}
        voiceprints = load_voiceprints(conn, call and call["operator_id"]) if stage.uses_voiceprints else {}
        transcript = load_transcript(conn, job.recording_id) if stage.uses_transcript else []
        if call is not None:
            call["transfers"] = call_transfers(conn, recording.call_id)
    return StageInput(
        recording_id=job.recording_id,
        path=recording.path,
        channels=recording.channels,
        sample_rate=recording.sample_rate,
        duration=recording.decoded_duration,
        call=call,
        upstream=load_upstream(stage, upstream),
        options=options,
        voiceprints=voiceprints,
        transcript=[from_json(Utterance, u) for u in transcript],
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, StageError):
        return str(error)
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def run_jobs(
    engine: Engine,
    queue: JobQueue,
    executor: Executor,
    stages: Sequence[Stage],
    progress: ProgressCallback | None = None,
    max_wait_seconds: float = 900.0,
    options: StageOptions | None = None,
    site: Sequence[SiteStage] | None = None,
) -> RunSummary:
    """Process every runnable job of `stages` until none is left (waiting out retry backoffs), then run
    the site-wide stages whose inputs changed since their last run.

    `options` (settings such as the ASR model and the stereo channel map) reach every stage function.
    `site`: the site-wide stages to end with; by default those whose prerequisites are all in `stages`
    (a run that classifies ends with the call outcomes).

    On KeyboardInterrupt the jobs in flight are handed back to the queue before re-raising.
    """
    summary = RunSummary()
    started = time.monotonic()
    by_name = {s.name: s for s in stages}
    keys = [s.key for s in stages]
    dependents = {s.name: [d.name for d in stages if s.name in d.depends_on] for s in stages}
    queue.reap_dead_owners()
    queue.enqueue_missing(keys)
    total = queue.outstanding(keys)
    finished = 0
    in_flight: dict[Future, ClaimedJob] = {}
    renew_every = queue.lease.total_seconds() / 3
    last_renew = time.monotonic()
    waited_since: float | None = None
    stage_time: Counter[str] = Counter()
    if progress:
        progress(0, total)
    try:
        while True:
            room = executor.capacity * 2 - len(in_flight)
            if room > 0:
                for job in queue.claim(keys, room):
                    try:
                        stage_input = _stage_input(engine, job, by_name[job.stage], options or StageOptions())
                    except Exception as e:
                        queue.fail(job, f"cannot prepare input: {_describe(e)}", permanent=True)
                        summary.failed += 1
                        continue
                    in_flight[executor.submit(job.stage, stage_input)] = job
            if not in_flight:
                wake = queue.next_wakeup_in(keys)
                if wake is None:
                    break
                waited_since = waited_since or time.monotonic()
                if time.monotonic() - waited_since > max_wait_seconds:
                    logger.warning("stopping: jobs are still waiting for a retry or another worker's lease")
                    break
                time.sleep(max(0.05, min(wake, 1.0)))
                continue
            waited_since = None
            done, _ = wait(list(in_flight), timeout=min(renew_every, 5.0), return_when=FIRST_COMPLETED)
            for future in done:
                job = in_flight.pop(future)
                stage = by_name[job.stage]
                try:
                    result, seconds = future.result()
                except Exception as e:
                    permanent = isinstance(e, StageError) and e.permanent
                    state = queue.fail(job, _describe(e), permanent=permanent)
                    if state == "failed":
                        summary.failed += 1
                        finished += 1
                        summary.errors.append(f"{job.stage} on recording {job.recording_id}: {_describe(e)}")
                        queue.fail_dependents(
                            job.recording_id, dependents[job.stage], f"not run: {job.stage} failed"
                        )
                    elif state == "pending":
                        summary.retried += 1
                    continue
                ok = queue.complete(
                    job, lambda conn, s=stage, j=job, r=result: s.persist(conn, s, j.recording_id, r), seconds
                )
                if ok:
                    summary.done += 1
                    finished += 1
                    stage_time[job.stage] += seconds
                else:
                    summary.lost_leases += 1
            if progress:
                progress(finished, max(total, finished))
            if time.monotonic() - last_renew > renew_every:
                queue.renew(list(in_flight.values()))
                last_renew = time.monotonic()
    except BaseException:
        queue.release(list(in_flight.values()))
        executor.close(cancel=True)
        raise
    if site is None:
        site = site_stages([s.name for s in stages], options) if stages else []
    for site_stage in site:
        _run_site_stage(engine, site_stage, options or StageOptions(), summary, stage_time, force=False)
    summary.seconds = time.monotonic() - started
    summary.stage_seconds = dict(stage_time)
    return summary


def run_site_stages(
    engine: Engine, stages: Sequence[SiteStage], options: StageOptions | None = None, force: bool = False
) -> RunSummary:
    """Run site-wide stages on their own (`callqa analyse`): with `force`, even when nothing changed."""
    summary = RunSummary()
    started = time.monotonic()
    stage_time: Counter[str] = Counter()
    for stage in stages:
        _run_site_stage(engine, stage, options or StageOptions(), summary, stage_time, force)
    summary.seconds = time.monotonic() - started
    summary.stage_seconds = dict(stage_time)
    return summary


def _run_site_stage(
    engine: Engine,
    stage: SiteStage,
    options: StageOptions,
    summary: RunSummary,
    stage_time: Counter[str],
    force: bool,
) -> None:
    """Run one site-wide stage if forced or its version or inputs changed since its last successful run."""
    with engine.connect() as conn:
        # Taken before the run reads: whatever lands meanwhile makes the next run due again.
        mark = stage.inputs_mark(conn)
        due = force or site_stage_due(conn, stage.name, stage.version, mark)
    if not due:
        logger.info("%s: nothing new since its last run", stage.name)
        summary.site_up_to_date.append(stage.name)
        return
    started = time.monotonic()
    try:
        result = stage.run(engine, options)
    except Exception as e:
        seconds = time.monotonic() - started
        logger.exception("site-wide stage %s failed", stage.name)
        with engine.begin() as conn:
            record_site_run(conn, stage.name, stage.version, "failed", mark, seconds, _describe(e))
        summary.failed += 1
        summary.errors.append(f"{stage.name}: {_describe(e)}")
        return
    seconds = time.monotonic() - started
    with engine.begin() as conn:
        record_site_run(conn, stage.name, stage.version, "done", mark, seconds)
    summary.site_results[stage.name] = result
    stage_time[stage.name] += seconds
