"""Writing a stage's result for a recording: replace-by-key, inside the job's completing transaction."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from store.schema import StageResult


def save_stage_result(conn: Connection, recording_id: int, stage: str, version: str, result: dict) -> None:
    """Store `result` as the one result of (recording, stage, version)."""
    conn.execute(
        delete(StageResult).where(
            StageResult.recording_id == recording_id,
            StageResult.stage == stage,
            StageResult.version == version,
        )
    )
    conn.execute(
        StageResult.__table__.insert().values(
            recording_id=recording_id, stage=stage, version=version, result=result
        )
    )


def load_stage_results(conn: Connection, recording_id: int) -> dict[str, dict]:
    """The latest stored result of each stage for one recording."""
    rows = conn.execute(
        select(StageResult.stage, StageResult.result)
        .where(StageResult.recording_id == recording_id)
        .order_by(StageResult.id)
    )
    return {stage: result for stage, result in rows}
