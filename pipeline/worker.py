"""What runs inside a worker process or Ray task: one stage on one recording."""

from __future__ import annotations

import time

from pipeline.stages import StageInput, get_stage, result_to_json


def execute_stage(stage_name: str, job: StageInput) -> tuple[dict, float]:
    """Run a registered stage and return its JSON result and the seconds it took."""
    started = time.perf_counter()
    result = get_stage(stage_name).run(job)
    return result_to_json(result), time.perf_counter() - started
