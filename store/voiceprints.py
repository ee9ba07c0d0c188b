"""Operators' enrolled voiceprints (speaker embeddings that label the operator in mono calls)."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from store.audit import audit
from store.schema import Operator
from store.sql import insert_ignore


def save_voiceprint(conn: Connection, operator_code: str, vector: list[float], actor: str) -> None:
    """Enrol (or re-enrol) an operator's voice; the operator is created when not yet known."""
    insert_ignore(conn, Operator.__table__, [{"code": operator_code}], ("code",))
    conn.execute(update(Operator).where(Operator.code == operator_code).values(voiceprint=vector))
    audit(conn, actor, "enrol_voiceprint", "operator", operator_code)


def load_voiceprints(conn: Connection, operator_id: int | None = None) -> dict[str, list[float]]:
    """Voiceprints by operator code: the call's operator's alone when known and enrolled, else everyone's."""
    query = select(Operator.code, Operator.voiceprint, Operator.id).where(Operator.voiceprint.is_not(None))
    rows = conn.execute(query).all()
    own = {code: vector for code, vector, op_id in rows if op_id == operator_id}
    return own or {code: vector for code, vector, _ in rows}
