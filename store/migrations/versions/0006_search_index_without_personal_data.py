"""the search index without personal data: every turn's search stems recomputed with personal digits left out

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:10:00.000000
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Stems written before held card, phone and INN digits that any searcher could find by prefix; the store
    # now computes them itself (the FTS5 triggers and the PostgreSQL expression index follow the column).
    from store.speech import reindex_search_text

    reindex_search_text(op.get_bind(), only_missing=False)


def downgrade() -> None:
    pass  # the cleaner index serves the older code as well
