"""What runs inside a worker process or Ray task: one stage on one recording."""

from __future__ import annotations

import ctypes
import os
import signal
import time

from pipeline.stages import StageInput, get_stage, result_to_json

_PR_SET_PDEATHSIG = 1


def execute_stage(stage_name: str, job: StageInput) -> tuple[dict, float]:
    """Run a registered stage and return its JSON result and the seconds it took."""
    started = time.perf_counter()
    result = get_stage(stage_name).run(job)
    return result_to_json(result), time.perf_counter() - started


def die_with_parent() -> None:
    """Process-pool initializer: a worker must not outlive a driver that was killed (e.g. `kill -9`)."""
    parent = os.getppid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
