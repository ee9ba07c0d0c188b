"""The registry of pipeline stages: the one place where stages are added, in dependency order.

Bumping a stage's `version` (or an option in its `versioned_by`, e.g. the model) enqueues exactly
the work it invalidates.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from pipeline.config import StageOptions
from pipeline.stages.audio_quality import AUDIO_QUALITY
from pipeline.stages.base import Stage, StageError, StageInput, result_to_json
from pipeline.stages.classify import CLASSIFY
from pipeline.stages.redact import REDACT
from pipeline.stages.transcribe import TRANSCRIBE

__all__ = [
    "Stage",
    "StageError",
    "StageInput",
    "StageOptions",
    "get_stage",
    "load_upstream",
    "register_stage",
    "registered_stages",
    "result_to_json",
]

_REGISTRY: dict[str, Stage] = {}


def register_stage(stage: Stage) -> Stage:
    """Add (or replace) a stage; its prerequisites must be registered first."""
    missing = [d for d in stage.depends_on if d not in _REGISTRY]
    if missing:
        raise ValueError(f"stage {stage.name!r} depends on unknown stage(s): {', '.join(missing)}")
    _REGISTRY[stage.name] = stage
    return stage


def registered_stages(names: list[str] | None = None, options: StageOptions | None = None) -> list[Stage]:
    """Stages in dependency order, optionally only the named ones (with a clear error for unknown names).

    With `options` (what `callqa run` passes to stages), versions include what the options change, and
    every stage's version carries its prerequisites' versions: a new transcription model reclassifies.
    """
    if names:
        unknown = [n for n in names if n not in _REGISTRY]
        if unknown:
            raise ValueError(f"unknown stage(s) {', '.join(unknown)}; known: {', '.join(_REGISTRY)}")
    options = options or StageOptions()
    versions: dict[str, str] = {}
    for stage in _REGISTRY.values():  # registration order is dependency order
        version = f"{stage.version}+{stage.versioned_by(options)}" if stage.versioned_by else stage.version
        if stage.depends_on:
            upstream = "|".join(versions[d] for d in stage.depends_on)
            version += "@" + hashlib.sha256(upstream.encode()).hexdigest()[:8]
        versions[stage.name] = version
    return [
        dataclasses.replace(s, version=versions[s.name])
        for s in _REGISTRY.values()
        if not names or s.name in names
    ]


def get_stage(name: str) -> Stage:
    return _REGISTRY[name]


def load_upstream(stage: Stage, stored: dict[str, dict]) -> dict[str, Any]:
    """The stored results of `stage`'s prerequisites, each as its stage's result type."""
    return {name: get_stage(name).load_result(stored[name]) for name in stage.depends_on if name in stored}


# Built-in stages, in dependency order.
register_stage(AUDIO_QUALITY)
register_stage(TRANSCRIBE)
register_stage(CLASSIFY)
register_stage(REDACT)
