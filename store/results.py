"""A stage's inputs and results for a recording: the recording and call facts a stage reads, and its result
written replace-by-key inside the job's completing transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, select

from store.schema import Call, Operator, Recording, StageResult
from store.sql import utcnow


def load_recording(conn: Connection, recording_id: int) -> Row:
    """The recording's row (path, channels, sample rate, decoded duration, call id)."""
    return conn.execute(select(Recording.__table__).where(Recording.id == recording_id)).one()


def load_call_facts(conn: Connection, call_id: int) -> dict[str, Any]:
    """What stages read of a call record: ids, numbers, talk and total seconds, operator and their name."""
    row = conn.execute(select(Call.__table__).where(Call.id == call_id)).one()
    name = (
        conn.execute(select(Operator.name).where(Operator.id == row.operator_id)).scalar()
        if row.operator_id is not None
        else None
    )
    return {
        "uniqueid": row.uniqueid,
        "direction": row.direction,
        "caller_number": row.caller_number,
        "callee_number": row.callee_number,
        "billsec": row.billsec,
        "duration": row.duration,
        "operator_id": row.operator_id,
        "operator_name": name,
    }


def save_stage_result(conn: Connection, recording_id: int, stage: str, version: str, result: dict) -> None:
    """Store `result` as the one result of (recording, stage): another version's goes (readers show the
    latest; the queue runs a version again whose result is gone, see `JobQueue.requeue_overwritten`)."""
    conn.execute(
        delete(StageResult).where(StageResult.recording_id == recording_id, StageResult.stage == stage)
    )
    conn.execute(
        StageResult.__table__.insert().values(
            # Written here, to the microsecond: a result rewritten in place may get the id it had (SQLite
            # reuses the highest), so the outcomes see the rewrite by its time (`inputs_mark`).
            recording_id=recording_id,
            stage=stage,
            version=version,
            result=result,
            created_at=utcnow(),
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
