"""What a pipeline stage is: a pure function of a recording, its input, its errors, its result.

A stage is a pure function `run(StageInput) -> dataclass` that may execute in another process or on
another machine, plus a `persist` function that the driver calls inside the job's completing
transaction. Results stay typed until they reach the store: `persist` writes them as JSON, and
`load_result` reads a stored result back into the stage's result type for the stages after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from asr import Utterance
from contracts.serialise import from_json, to_json
from pipeline.config import StageOptions
from store.queue import StageKey
from store.results import save_stage_result


@dataclass
class StageInput:
    """What a stage function receives: the recording, call facts, earlier stages' results, the options."""

    recording_id: int
    path: str
    channels: int | None = None
    sample_rate: int | None = None
    duration: float | None = None
    call: dict[str, Any] | None = None
    upstream: dict[str, Any] = field(default_factory=dict)  # stage name -> that stage's result
    options: StageOptions = field(default_factory=StageOptions)
    voiceprints: dict[str, list[float]] = field(default_factory=dict)  # for stages with `uses_voiceprints`
    transcript: list[Utterance] = field(default_factory=list)  # for stages with `uses_transcript`


class StageError(Exception):
    """A stage failure; `permanent` ones (bad input) are not retried.

    `configuration`: the settings keep the stage from running at all (a model that is not there), so no
    recording can succeed until they are fixed; the runner stops the stage and leaves its jobs pending.
    """

    def __init__(self, message: str, permanent: bool = False, configuration: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.configuration = configuration


def result_to_json(result: Any) -> dict:
    """Stage results are dataclasses; the store keeps them as JSON objects."""
    try:
        return to_json(result)
    except TypeError as e:
        raise TypeError(f"a stage must return a dataclass or dict, not {type(result).__name__}") from e


def _store_json(conn: Connection, stage: Stage, recording_id: int, result: Any) -> None:
    save_stage_result(conn, recording_id, stage.name, stage.version, result_to_json(result))


@dataclass(frozen=True)
class Stage:
    """A named, versioned unit of work on one recording."""

    name: str
    version: str
    run: Callable[[StageInput], Any]
    depends_on: tuple[str, ...] = ()
    max_attempts: int = 3
    persist: Callable[[Connection, Stage, int, Any], None] = _store_json
    # Options that change the result (e.g. the model) become part of the version, so changing them
    # enqueues exactly the work they invalidate.
    versioned_by: Callable[[StageOptions], str] | None = None
    uses_voiceprints: bool = False
    uses_transcript: bool = False
    # The result depends on the call's operator's roster name and records it as `operator_name`: a call
    # whose operator's name changed since is run again.
    reads_operator_name: bool = False
    # The stage opens the recording's file: a job whose file is missing fails before it is sent to a worker.
    reads_audio: bool = True
    # The dataclass `run` returns; a stored result is read back as one (None: stored JSON as it is),
    # by `load` when the stored form differs from the result's.
    result_type: type | None = None
    load: Callable[[dict], Any] | None = None

    @property
    def key(self) -> StageKey:
        return StageKey(self.name, self.version, self.depends_on, self.max_attempts, self.reads_operator_name)

    def load_result(self, stored: dict) -> Any:
        """This stage's stored JSON result as its result type."""
        if self.load is not None:
            return self.load(stored)
        return from_json(self.result_type, stored) if self.result_type is not None else stored
