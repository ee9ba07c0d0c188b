"""Small dialect-neutral SQL helpers used across the store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict], key: Iterable[str]) -> int:
    """Insert rows, silently skipping those whose `key` columns already exist; returns rows inserted."""
    if not rows:
        return 0
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=list(key))
    # RETURNING counts reliably on both drivers (executemany rowcount is -1 on psycopg).
    statement = statement.returning(*table.primary_key.columns)
    return len(conn.execute(statement, list(rows)).all())


def utcnow() -> datetime:
    """Naive UTC now: the store keeps naive timestamps (PBX records are local time without a zone)."""
    from datetime import UTC

    return datetime.now(UTC).replace(tzinfo=None)
