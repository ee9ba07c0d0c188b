"""What runs inside a worker process or Ray task: one stage on one recording."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from pipeline.stages import StageInput, get_stage


def execute_stage(stage_name: str, job: StageInput) -> tuple[Any, float]:
    """Run a registered stage; its typed result (the driver writes it as JSON) and the seconds it took."""
    started = time.perf_counter()
    result = get_stage(stage_name).run(job)
    if not (dataclasses.is_dataclass(result) or isinstance(result, dict)):
        raise TypeError(f"a stage must return a dataclass or dict, not {type(result).__name__}")
    return result, time.perf_counter() - started
