"""The schema on SQLite and PostgreSQL: migrations, constraints, the append-only audit log."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from store import audit, current_revision, upgrade
from store.migrate import include_object
from store.schema import AuditEntry, Base, Call, Recording


def test_migrations_build_exactly_the_declared_schema(engine):
    assert current_revision(engine) == "0010"
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    upgrade(engine)  # idempotent
    tables = set(inspect(engine).get_table_names())
    for table in (
        "calls",
        "recordings",
        "incidents",
        "call_incident_links",
        "jobs",
        "utterances",
        "words",
        "audit_log",
        "transfers",
        "clients",
        "operators",
    ):
        assert table in tables


def test_audit_log_is_append_only(engine):
    with engine.begin() as conn:
        audit(conn, "anna", "viewed", "call", 42, {"page": "detail"})
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(update(AuditEntry).values(actor="someone else"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    with engine.connect() as conn:
        assert conn.execute(select(AuditEntry.actor, AuditEntry.details)).all() == [
            ("anna", {"page": "detail"})
        ]


def test_one_accepted_recording_per_call(engine):
    with engine.begin() as conn:
        call_id = conn.execute(Call.__table__.insert().values(uniqueid="u.1").returning(Call.id)).scalar_one()
        row = {"call_id": call_id, "path": "a.wav", "size_bytes": 1, "status": "accepted"}
        conn.execute(Recording.__table__.insert().values(sha256="a" * 64, **row))
        conn.execute(Recording.__table__.insert().values(sha256="c" * 64, **{**row, "status": "conflict"}))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(Recording.__table__.insert().values(sha256="b" * 64, **row))
