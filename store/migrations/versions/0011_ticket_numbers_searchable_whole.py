"""ticket numbers searchable whole: every turn's search stems recomputed, «заявка 10.452» found by 10452

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 18:40:00.000000
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A recogniser writes a ticket number said whole in thousands («10.452»); the index now holds it run
    # together as well, which stems written before lack.
    from store.speech import reindex_search_text

    reindex_search_text(op.get_bind(), only_missing=False)


def downgrade() -> None:
    pass  # the extra stems serve the older code as well
