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
from pipeline.config import StageOptions, recording_file
from pipeline.executors import Executor
from pipeline.stages import (
    SiteStage,
    Stage,
    StageError,
    StageInput,
    load_upstream,
    registered_stages,
    site_stages,
)
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
    stage_done: Counter[str] = field(default_factory=Counter)  # per-recording stage -> jobs done
    stage_failed: Counter[str] = field(default_factory=Counter)  # per-recording stage -> jobs failed
    # Stages stopped because the settings keep them from running (a missing model) -> why; their jobs
    # stay pending for the next run once the settings are fixed.
    stopped: dict[str, str] = field(default_factory=dict)
    site_results: dict[str, Any] = field(default_factory=dict)  # site-wide stage -> its summary
    site_up_to_date: list[str] = field(default_factory=list)  # site-wide stages with nothing new to do


class MissingRecording(Exception):
    """The recording's file is not where the store says it is."""


def _stage_input(engine: Engine, job: ClaimedJob, stage: Stage, options: StageOptions) -> StageInput:
    with engine.connect() as conn:
        recording = load_recording(conn, job.recording_id)
        path = recording_file(recording.path, options.recordings_root)
        if stage.reads_audio and not path.is_file():
            raise MissingRecording(_missing_message(recording.path, path, options.recordings_root))
        call = load_call_facts(conn, recording.call_id) if recording.call_id is not None else None
        upstream = load_stage_results(conn, job.recording_id) if stage.depends_on else {}
        voiceprints = load_voiceprints(conn, call and call["operator_id"]) if stage.uses_voiceprints else {}
        transcript = load_transcript(conn, job.recording_id) if stage.uses_transcript else []
        if call is not None:
            call["transfers"] = call_transfers(conn, recording.call_id)
    return StageInput(
        recording_id=job.recording_id,
        path=str(path),
        channels=recording.channels,
        sample_rate=recording.sample_rate,
        duration=recording.decoded_duration,
        call=call,
        upstream=load_upstream(stage, upstream),
        options=options,
        voiceprints=voiceprints,
        transcript=[from_json(Utterance, u) for u in transcript],
    )


def _missing_message(stored: str, path, root: str) -> str:
    if stored == str(path):
        return f"recording file not found: {path} (moved or deleted? restore it, then `callqa retry`)"
    where = f"recordings_root {root}" if root else "the working directory"
    return (
        f"recording file not found: {path} (stored as {stored}, a relative path read from {where}; "
        f"set recordings_root to the folder it was ingested from, then `callqa retry`)"
    )


def stages_after(stages: Sequence[Stage]) -> dict[str, list[str]]:
    """Each stage's dependents among `stages`, directly or through another stage, in registration order."""
    after: dict[str, list[str]] = {}
    for stage in reversed(stages):  # registration order is dependency order: dependents come later
        found: list[str] = []
        for other in stages:
            if stage.name in other.depends_on:
                found += [other.name, *after.get(other.name, [])]
        after[stage.name] = [s.name for s in stages if s.name in found]
    return after


def _describe(error: BaseException) -> str:
    if isinstance(error, (StageError, MissingRecording)):
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
    # Jobs after a failed one fail with it, also those of stages this run does not include.
    known = {s.name: s for s in registered_stages(None, options)} | by_name
    dependents = stages_after(list(known.values()))
    queue.reap_dead_owners()
    queue.enqueue_missing(keys)
    queue.fail_blocked(keys)
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
            active = [k for k in keys if k.name not in summary.stopped]
            if room > 0 and active:
                for job in queue.claim(active, room):
                    try:
                        stage_input = _stage_input(engine, job, by_name[job.stage], options or StageOptions())
                    except Exception as e:
                        error = _describe(e)
                        if not isinstance(e, MissingRecording):
                            error = f"cannot prepare input: {error}"
                        queue.fail(job, error, permanent=True)
                        _failed(queue, summary, job, error, dependents)
                        finished += 1
                        continue
                    in_flight[executor.submit(job.stage, stage_input)] = job
            if not in_flight:
                wake = queue.next_wakeup_in(active) if active else None
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
                    if isinstance(e, StageError) and e.configuration:
                        # No recording can succeed with these settings: stop the stage at once and leave
                        # its jobs pending rather than spend every job's retries on the same cause.
                        queue.put_back([job], _describe(e))
                        if job.stage not in summary.stopped:
                            logger.info("stopping %s: %s", job.stage, _describe(e))
                            summary.stopped[job.stage] = _describe(e)
                        continue
                    permanent = isinstance(e, StageError) and e.permanent
                    state = queue.fail(job, _describe(e), permanent=permanent)
                    if state == "failed":
                        finished += 1
                        _failed(queue, summary, job, _describe(e), dependents)
                    elif state == "pending":
                        summary.retried += 1
                    continue
                ok = queue.complete(
                    job, lambda conn, s=stage, j=job, r=result: s.persist(conn, s, j.recording_id, r), seconds
                )
                if ok:
                    summary.done += 1
                    summary.stage_done[job.stage] += 1
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
    queue.drop_superseded(keys)
    if site is None:
        site = site_stages([s.name for s in stages], options) if stages else []
    for site_stage in site:
        _run_site_stage(engine, site_stage, options or StageOptions(), summary, stage_time, force=False)
    summary.seconds = time.monotonic() - started
    summary.stage_seconds = dict(stage_time)
    return summary


def _failed(
    queue: JobQueue, summary: RunSummary, job: ClaimedJob, error: str, dependents: dict[str, list[str]]
) -> None:
    """Count a job that failed for good; the jobs after it on that recording cannot run and fail too."""
    summary.failed += 1
    summary.stage_failed[job.stage] += 1
    summary.errors.append(f"{job.stage} on recording {job.recording_id}: {error}")
    queue.fail_dependents(job.recording_id, dependents[job.stage], f"not run: {job.stage} failed")


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
