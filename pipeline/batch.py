"""The whole job on one call-centre folder, in one call: train, import the roster, ingest, run every stage.

What `make demo` does step by step with the CLI, as a function for the end-to-end test and benchmark: a
folder as `callqa simulate` writes it (recordings/, Master.csv, queue_log, incidents.csv, operators.csv,
purpose_train.csv, profile.yaml, and for a site other than the demo its topics.yaml and callqa.toml) into a
fresh SQLite database under `folder`.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from pipeline.config import Settings, StageOptions, load_settings


def site_options(source: Path, folder: Path) -> StageOptions:
    """The stage options for a site folder: its `callqa.toml` when it has one (PBX time zone, operator
    channel, topics and profile files, relative to the folder), else the defaults with the folder's
    profile.yaml, as the demo runs; trained models and redacted audio go under `folder`."""
    config = source / "callqa.toml"
    settings = load_settings(config, environ={}) if config.exists() else Settings()
    analytics = settings.analytics
    if not config.exists() and (source / "profile.yaml").exists():
        analytics.profile = str(source / "profile.yaml")
    analytics.models_dir = str(folder / "models")
    settings.redacted_audio_dir = str(folder / "redacted")
    return settings.stage_options()


def process_call_centre(source: Path, folder: Path, workers: int = 2) -> tuple:
    """Run everything on a call-centre folder into a fresh database under `folder`: train the purpose
    model, import the roster, ingest, all stages on a local pool (the call outcomes last).

    Returns (engine, run summary, seconds end to end, seconds in the stages, seconds per step).
    """
    from classifiers import PurposeModel
    from models import trained
    from pipeline.executors import make_executor
    from pipeline.ingest_run import IngestRequest, ingest
    from pipeline.runner import run_jobs
    from pipeline.stages import registered_stages
    from store import JobQueue, open_store

    rows = list(csv.DictReader((source / "purpose_train.csv").open(encoding="utf-8")))
    model = PurposeModel().fit([r["text"] for r in rows], [r["purpose"] for r in rows])
    trained.save(model, "purpose", models_dir=folder / "models")
    engine = open_store(f"sqlite:///{folder / 'callqa.db'}")
    if (source / "operators.csv").exists():
        from ingest.roster import read_roster
        from store.operators import save_roster

        with engine.begin() as conn:
            save_roster(conn, read_roster(source / "operators.csv").entries, "callqa")
    options = site_options(source, folder)
    started = time.perf_counter()
    request = IngestRequest(source / "recordings", cdr=source / "Master.csv", queue_log=source / "queue_log",
                            incidents=source / "incidents.csv")  # fmt: skip
    ingest(engine, request, workers=workers, stage_options=options)
    ingested = time.perf_counter()
    pool = make_executor("local", workers, None)
    try:
        summary = run_jobs(engine, JobQueue(engine), pool, registered_stages(None, options), options=options)
    finally:
        pool.close()
    finished = time.perf_counter()
    # The run ends with the call outcomes (a site-wide stage): report it as the analysis.
    stages = dict(summary.stage_seconds)
    analysis = stages.pop("outcomes", 0.0)
    timings = {"ingest": ingested - started, **stages, "analysis": analysis}
    return engine, summary, finished - started, finished - ingested - analysis, timings
