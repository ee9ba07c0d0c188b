"""A small processed call centre for dashboard tests: real demo recordings through the real pipeline."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from classifiers import PurposeModel
from pipeline.analysis import analyse
from pipeline.executors import InlineExecutor
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.runner import run_jobs
from pipeline.stages import registered_stages
from qa_dashboard.users import add_user
from store import JobQueue, open_store
from tests.conftest import REPO

DEMO = REPO / "demo"
CALLS = ("call-001", "call-008", "call-022", "call-030")  # registered, card read out, short, transfer
PASSWORD = "s3cret-pass"
USERS = {
    "admin": ("admin", {}),
    "controller": ("quality_controller", {}),
    "lead": ("team_lead", {}),
    "analyst": ("analyst", {}),
    "operator": ("operator", {"operator": "101"}),
}


def build(folder: Path) -> dict:
    """Process the chosen demo calls into `folder`/callqa.db; returns the database URL and the truth."""
    truth = {
        c["call_id"]: c for c in json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))["calls"]
    }
    recordings = folder / "recordings"
    recordings.mkdir(parents=True)
    for name in CALLS:
        shutil.copy(DEMO / truth[name]["recording"], recordings)
    rows = list(csv.DictReader((DEMO / "purpose_train.csv").open(encoding="utf-8")))
    PurposeModel.train([r["text"] for r in rows], [r["purpose"] for r in rows]).save(
        folder / "models" / "purpose"
    )
    url = f"sqlite:///{folder / 'callqa.db'}"
    engine = open_store(url)
    options = {"asr": {"cpu_threads": 2}, "analytics": {"models_dir": str(folder / "models")}}
    request = IngestRequest(recordings, cdr=DEMO / "Master.csv", queue_log=DEMO / "queue_log",
                            incidents=DEMO / "incidents.csv")  # fmt: skip
    ingest(engine, request, workers=1, stage_options=options)
    run_jobs(engine, JobQueue(engine), InlineExecutor(), registered_stages(None, options), options=options)
    analyse(engine)
    users = folder / "users.yaml"
    for username, (role, extra) in USERS.items():
        add_user(username, role, PASSWORD, users, **extra)
    engine.dispose()
    return {"url": url, "users": users, "truth": truth}
