"""Operators: enrolled voiceprints (label the operator in mono calls) and the roster (names, teams)."""

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


def save_roster(conn: Connection, entries: list, actor: str) -> int:
    """Create or update operators' names and teams from a roster; returns how many entries were applied."""
    for entry in entries:
        insert_ignore(conn, Operator.__table__, [{"code": entry.code}], ("code",))
        values = {k: v for k, v in (("name", entry.name), ("team", entry.team)) if v}
        if values:
            conn.execute(update(Operator).where(Operator.code == entry.code).values(**values))
    audit(conn, actor, "import_roster", "operators", None, {"entries": len(entries)})
    return len(entries)
