"""Engine creation for the embedded SQLite default and for PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

logger = logging.getLogger("callqa.store")

DEFAULT_SQLITE_NAME = "callqa.db"


def default_url(directory: Path | None = None) -> str:
    """The embedded default: a SQLite file in the working directory."""
    path = (directory or Path.cwd()) / DEFAULT_SQLITE_NAME
    return f"sqlite:///{path}"


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to the psycopg 3 driver we depend on."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(dbapi_connection, _record) -> None:
    # WAL lets the dashboard read while a batch writes; busy_timeout makes concurrent writers wait
    # instead of failing; foreign keys are off by default in SQLite. isolation_level=None hands
    # transaction control to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def make_engine(url: str, *, readonly: bool = False) -> Engine:
    """Create an engine for `url` with the settings the store relies on.

    On SQLite, writers begin every transaction with BEGIN IMMEDIATE: a transaction that reads and
    then writes takes the write lock up front and waits for it (busy_timeout) instead of failing
    with "database is locked" halfway. Read-only users (the dashboard) keep deferred transactions.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _configure_sqlite)
        begin = "BEGIN" if readonly else "BEGIN IMMEDIATE"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    return create_engine(url, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
