"""The registry of pipeline stages: the one place where stages are added, in dependency order.

Per-recording stages become queue jobs; site-wide stages (scope "site", e.g. the call outcomes) run once
after the per-recording stages they depend on, whenever their inputs changed.

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
from pipeline.stages.outcomes import OUTCOMES
from pipeline.stages.redact import REDACT
from pipeline.stages.site import SiteStage
from pipeline.stages.transcribe import TRANSCRIBE

__all__ = [
    "SiteStage",
    "Stage",
    "StageError",
    "StageInput",
    "StageOptions",
    "get_stage",
    "load_upstream",
    "register_site_stage",
    "register_stage",
    "registered_stages",
    "result_to_json",
    "site_stages",
]

_REGISTRY: dict[str, Stage] = {}
_SITE: dict[str, SiteStage] = {}


def _require_prerequisites(stage: Stage | SiteStage) -> None:
    missing = [d for d in stage.depends_on if d not in _REGISTRY]
    if missing:
        raise ValueError(f"stage {stage.name!r} depends on unknown stage(s): {', '.join(missing)}")


def register_stage(stage: Stage) -> Stage:
    """Add (or replace) a stage; its prerequisites must be registered first."""
    _require_prerequisites(stage)
    _REGISTRY[stage.name] = stage
    return stage


def register_site_stage(stage: SiteStage) -> SiteStage:
    """Add (or replace) a site-wide stage; its prerequisites must be registered per-recording stages."""
    _require_prerequisites(stage)
    _SITE[stage.name] = stage
    return stage


def _versions(options: StageOptions) -> dict[str, str]:
    versions: dict[str, str] = {}
    for stage in [*_REGISTRY.values(), *_SITE.values()]:  # registration order is dependency order
        version = f"{stage.version}+{stage.versioned_by(options)}" if stage.versioned_by else stage.version
        if stage.depends_on:
            upstream = "|".join(versions[d] for d in stage.depends_on)
            version += "@" + hashlib.sha256(upstream.encode()).hexdigest()[:8]
        versions[stage.name] = version
    return versions


def _check_names(names: list[str] | None) -> None:
    unknown = [n for n in names or [] if n not in _REGISTRY and n not in _SITE]
    if unknown:
        known = ", ".join([*_REGISTRY, *_SITE])
        raise ValueError(f"unknown stage(s) {', '.join(unknown)}; known: {known}")


def registered_stages(names: list[str] | None = None, options: StageOptions | None = None) -> list[Stage]:
    """Stages in dependency order, optionally only the named ones (with a clear error for unknown names).

    With `options` (what `callqa run` passes to stages), versions include what the options change, and
    every stage's version carries its prerequisites' versions: a new transcription model reclassifies.
    """
    _check_names(names)
    versions = _versions(options or StageOptions())
    return [
        dataclasses.replace(s, version=versions[s.name])
        for s in _REGISTRY.values()
        if not names or s.name in names
    ]


def site_stages(names: list[str] | None = None, options: StageOptions | None = None) -> list[SiteStage]:
    """Site-wide stages a run with the per-recording stages `names` (None: all) ends with.

    Those named, and those whose prerequisites are all among `names`; versions as in `registered_stages`.
    """
    _check_names(names)
    versions = _versions(options or StageOptions())
    return [
        dataclasses.replace(s, version=versions[s.name])
        for s in _SITE.values()
        if not names or s.name in names or (s.depends_on and set(s.depends_on) <= set(names))
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
register_site_stage(OUTCOMES)
