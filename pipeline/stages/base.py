"""What a pipeline stage is: a pure function of a recording, its input, its errors, its result.

A stage is a pure function `run(StageInput) -> dataclass` that may execute in another process or on
another machine, plus a `persist` function that the driver calls inside the job's completing
transaction.
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
    options: dict[str, Any] = field(default_factory=dict)
    voiceprints: dict[str, list[float]] = field(default_factory=dict)  # for stages with `uses_voiceprints`
    transcript: list[dict] = field(default_factory=list)  # for stages with `uses_transcript`


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
    # Options that change the result (e.g. the model) become part of the version, so changing them
    # enqueues exactly the work they invalidate.
    versioned_by: Callable[[dict], str] | None = None
    uses_voiceprints: bool = False
    uses_transcript: bool = False

    @property
    def key(self) -> StageKey:
        return StageKey(self.name, self.version, self.depends_on, self.max_attempts)


def result_to_json(result: Any) -> dict:
    """Stage results are dataclasses; the store keeps them as JSON objects."""
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    if isinstance(result, dict):
        return result
    raise TypeError(f"a stage must return a dataclass or dict, not {type(result).__name__}")
