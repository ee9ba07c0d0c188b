"""Site-wide stages: work over all calls at once (repeats and duplicates look across calls).

A per-recording stage is a job per recording in the queue; a site-wide stage is one run by the driver after
the per-recording stages it depends on have drained, whenever what it reads changed since its last
successful run (its `inputs_mark` differs) or its version did. The run reads and writes through the store;
its last run is recorded, so `callqa status` shows it and a rerun with nothing new does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from pipeline.config import StageOptions


@dataclass(frozen=True)
class SiteStage:
    """A named, versioned computation over the whole site, scheduled after its prerequisite stages."""

    name: str
    version: str
    run: Callable[[Engine, StageOptions], Any]  # (engine, stage options) -> a summary dataclass
    inputs_mark: Callable[[Connection], str]  # a fingerprint of everything `run` reads
    depends_on: tuple[str, ...] = ()
    versioned_by: Callable[[StageOptions], str] | None = None
    scope: str = "site"
