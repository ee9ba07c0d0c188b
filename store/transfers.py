"""Transfers the PBX recorded for a call (queue_log events, call-record legs)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from store.schema import Transfer


def call_transfers(conn: Connection, call_id: int) -> list[dict]:
    """The call's recorded transfers in time order: source, kind, target."""
    rows = conn.execute(
        select(Transfer.source, Transfer.kind, Transfer.target)
        .where(Transfer.call_id == call_id)
        .order_by(Transfer.at)
    ).all()
    return [{"source": r.source, "kind": r.kind, "target": r.target} for r in rows]
