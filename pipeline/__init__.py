"""Batch orchestration: ingest runs, the stage registry, executors (local pool, Ray), settings, CLI.

Exports resolve lazily: worker processes import `pipeline.process` and `pipeline.worker` without
paying for the database layer.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ConfigError": "pipeline.config",
    "PipelineSettings": "pipeline.config",
    "Settings": "pipeline.config",
    "load_settings": "pipeline.config",
    "Executor": "pipeline.executors",
    "InlineExecutor": "pipeline.executors",
    "LocalExecutor": "pipeline.executors",
    "RayExecutor": "pipeline.executors",
    "make_executor": "pipeline.executors",
    "IngestRequest": "pipeline.ingest_run",
    "IngestSummary": "pipeline.ingest_run",
    "ingest": "pipeline.ingest_run",
    "RunSummary": "pipeline.runner",
    "run_jobs": "pipeline.runner",
    "Stage": "pipeline.stages",
    "StageError": "pipeline.stages",
    "StageInput": "pipeline.stages",
    "get_stage": "pipeline.stages",
    "register_stage": "pipeline.stages",
    "registered_stages": "pipeline.stages",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
