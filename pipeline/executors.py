"""Where stage functions run: in-process, on a local process pool, or as Ray tasks on a cluster.

Executors only run pure stage functions and hand back futures; claiming jobs and writing results
stay with the driver, so every executor gives the same results through the same queue.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from pipeline.process import worker_pool
from pipeline.stages import StageInput
from pipeline.worker import execute_stage

logger = logging.getLogger("callqa.pipeline")


class Executor(Protocol):
    """Runs `execute_stage` somewhere and returns a future of (typed result, seconds)."""

    capacity: int
    description: str

    def submit(self, stage_name: str, job: StageInput) -> Future: ...

    def close(self, cancel: bool = False) -> None: ...


class InlineExecutor:
    """Runs each stage in the calling process (debugging, `--workers 0`)."""

    capacity = 1
    description = "inline"

    def submit(self, stage_name: str, job: StageInput) -> Future:
        future: Future = Future()
        try:
            future.set_result(execute_stage(stage_name, job))
        except Exception as e:
            future.set_exception(e)
        return future

    def close(self, cancel: bool = False) -> None:
        return None


class LocalExecutor:
    """A pool of worker processes on this machine (spawned: safe beside the driver's threads)."""

    def __init__(self, workers: int) -> None:
        self.capacity = max(1, workers)
        self.description = f"local pool of {self.capacity} process(es)"
        self._pool = worker_pool(self.capacity)

    def submit(self, stage_name: str, job: StageInput) -> Future:
        try:
            return self._pool.submit(execute_stage, stage_name, job)
        except BrokenProcessPool:
            # A worker died (OOM killer, segfault in a codec): its jobs fail and retry; start a new pool.
            logger.warning("a worker process died; starting a new pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = worker_pool(self.capacity)
            return self._pool.submit(execute_stage, stage_name, job)

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


class RayExecutor:
    """Stage functions as Ray tasks on a cluster (`address`), or on a local one when no address is given.

    Recordings must be at the same path on every node (shared storage). Ray's own task retries are
    off: retries belong to the job queue, which also survives the driver.
    """

    def __init__(self, address: str | None = None, num_cpus_per_task: float = 1.0) -> None:
        try:
            import ray
        except ImportError as e:
            raise RuntimeError("the Ray executor needs Ray: pip install 'callqa[ray]'") from e
        self._ray = ray
        if not ray.is_initialized():
            ray.init(
                address=address, ignore_reinit_error=True, log_to_driver=False, logging_level=logging.WARNING
            )
        self._task = ray.remote(max_retries=0, num_cpus=num_cpus_per_task)(execute_stage)
        cpus = ray.cluster_resources().get("CPU", 1.0)
        self.capacity = max(1, int(cpus / num_cpus_per_task))
        self.description = f"Ray cluster at {address or 'a new local cluster'} ({cpus:g} CPUs)"

    def submit(self, stage_name: str, job: StageInput) -> Future:
        return self._task.remote(stage_name, job).future()

    def close(self, cancel: bool = False) -> None:
        self._ray.shutdown()


def make_executor(kind: str, workers: int, address: str | None = None) -> Executor:
    """Build the executor named on the command line or in settings."""
    if kind == "ray":
        return RayExecutor(address)
    if kind != "local":
        raise ValueError(f"unknown executor {kind!r}: use 'local' or 'ray'")
    return InlineExecutor() if workers <= 0 else LocalExecutor(workers)
