"""A small processed call centre for dashboard tests: real demo recordings through the real pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline.batch import process_call_centre
from qa_dashboard.users import add_user
from tests.conftest import REPO

DEMO = REPO / "demo"
CALLS = ("call-001", "call-008", "call-022", "call-030")  # registered, card read out, short, transfer
PASSWORD = "s3cret-pass"
USERS = {
    "admin": ("admin", {}),
    "controller": ("quality_controller", {}),
    "lead": ("team_lead", {"team": "Екатеринбург-1"}),
    "analyst": ("analyst", {}),
    "operator": ("operator", {"operator": "101"}),
}


def build(folder: Path) -> dict:
    """Process the chosen demo calls into `folder`/callqa.db; returns the database URL and the truth."""
    truth = {
        c["call_id"]: c for c in json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))["calls"]
    }
    source = folder / "source"
    (source / "recordings").mkdir(parents=True)
    for name in CALLS:
        shutil.copy(DEMO / truth[name]["recording"], source / "recordings")
    for name in ("Master.csv", "queue_log", "incidents.csv", "purpose_train.csv", "operators.csv"):
        shutil.copy(DEMO / name, source / name)
    engine, *_ = process_call_centre(source, folder, workers=1)
    engine.dispose()
    users = folder / "users.yaml"
    for username, (role, extra) in USERS.items():
        add_user(username, role, PASSWORD, users, **extra)
    return {"url": f"sqlite:///{folder / 'callqa.db'}", "users": users, "truth": truth}
