"""Schema, SQLite (default) / PostgreSQL storage, migrations, the job queue and the query API."""

from __future__ import annotations

from sqlalchemy import Engine

from store.audit import audit, current_actor
from store.engine import default_url, is_sqlite, make_engine, normalise_url
from store.migrate import current_revision, upgrade
from store.queue import ClaimedJob, JobQueue, StageKey, process_owner
from store.reports import Problem, StatusReport, status_report
from store.results import load_stage_results, save_stage_result

__all__ = [
    "ClaimedJob",
    "JobQueue",
    "Problem",
    "StageKey",
    "StatusReport",
    "audit",
    "current_actor",
    "current_revision",
    "default_url",
    "is_sqlite",
    "load_stage_results",
    "make_engine",
    "normalise_url",
    "open_store",
    "process_owner",
    "save_stage_result",
    "status_report",
    "upgrade",
]


def open_store(url: str, *, migrate: bool = True, readonly: bool = False) -> Engine:
    """An engine for `url`, with the schema brought up to date unless `migrate` is False."""
    engine = make_engine(url, readonly=readonly)
    if migrate:
        upgrade(engine)
    return engine
