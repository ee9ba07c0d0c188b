"""The registry of pipeline stages: the one place later capabilities add their work.

A stage is a pure function `run(StageInput) -> dataclass` that may execute in another process or on
another machine, plus a `persist` function that the driver calls inside the job's completing
transaction. Bumping a stage's `version` (e.g. a new model) enqueues exactly the work it invalidates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from store.queue import StageKey
from store.results import save_stage_result


@dataclass
class StageInput:
    """What a stage function receives: the recording and call facts, and earlier stages' results."""

    recording_id: int
    path: str
    channels: int | None = None
    sample_rate: int | None = None
    duration: float | None = None
    call: dict[str, Any] | None = None
    upstream: dict[str, dict] = field(default_factory=dict)


class StageError(Exception):
    """A stage failure; `permanent` ones (bad input) are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _store_json(conn: Connection, stage: Stage, recording_id: int, result: dict) -> None:
    save_stage_result(conn, recording_id, stage.name, stage.version, result)


@dataclass(frozen=True)
class Stage:
    """A named, versioned unit of work on one recording."""

    name: str
    version: str
    run: Callable[[StageInput], Any]
    depends_on: tuple[str, ...] = ()
    max_attempts: int = 3
    persist: Callable[[Connection, Stage, int, dict], None] = _store_json

    @property
    def key(self) -> StageKey:
        return StageKey(self.name, self.version, self.depends_on, self.max_attempts)


_REGISTRY: dict[str, Stage] = {}


def register_stage(stage: Stage) -> Stage:
    """Add (or replace) a stage; its prerequisites must be registered first."""
    missing = [d for d in stage.depends_on if d not in _REGISTRY]
    if missing:
        raise ValueError(f"stage {stage.name!r} depends on unknown stage(s): {', '.join(missing)}")
    _REGISTRY[stage.name] = stage
    return stage


def registered_stages(names: list[str] | None = None) -> list[Stage]:
    """Stages in dependency order, optionally only the named ones (with a clear error for unknown names)."""
    if names:
        unknown = [n for n in names if n not in _REGISTRY]
        if unknown:
            raise ValueError(f"unknown stage(s) {', '.join(unknown)}; known: {', '.join(_REGISTRY)}")
        return [s for s in _REGISTRY.values() if s.name in names]
    return list(_REGISTRY.values())


def get_stage(name: str) -> Stage:
    return _REGISTRY[name]


def result_to_json(result: Any) -> dict:
    """Stage results are dataclasses; the store keeps them as JSON objects."""
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    if isinstance(result, dict):
        return result
    raise TypeError(f"a stage must return a dataclass or dict, not {type(result).__name__}")


# ------------------------------------------------------------------ built-in stages


def _audio_quality(job: StageInput):
    from ingest.errors import IngestError
    from ingest.quality import recording_quality

    try:
        return recording_quality(job.path)
    except IngestError as e:
        raise StageError(e.message, permanent=True) from e
    except FileNotFoundError as e:
        raise StageError(f"{job.path}: the recording is no longer there", permanent=False) from e


register_stage(Stage(name="audio_quality", version="1", run=_audio_quality))
