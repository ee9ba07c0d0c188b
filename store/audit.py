"""The append-only audit log: who viewed, listened, exported or changed what."""

from __future__ import annotations

import getpass

from sqlalchemy import Connection

from store.schema import AuditEntry


def current_actor() -> str:
    """The OS user running a command-line action (the dashboard passes its signed-in user instead)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def audit(
    conn: Connection,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: dict | None = None,
) -> None:
    """Append one entry; the database refuses updates and deletes of this table."""
    conn.execute(
        AuditEntry.__table__.insert().values(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            details=details,
        )
    )
