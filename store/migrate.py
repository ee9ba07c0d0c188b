"""Apply Alembic migrations programmatically, so `callqa` keeps any database at the current schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


# Full-text search objects made by hand in migration 0003 (FTS5 tables and triggers, a GIN expression
# index): not in the declared metadata, so schema comparison leaves them out.
HAND_MADE = ("utterances_fts", "ix_utterances_search")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For schema comparison (autogenerate, tests): skip the hand-made search objects."""
    return not (name or "").startswith(HAND_MADE)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind `engine` to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
