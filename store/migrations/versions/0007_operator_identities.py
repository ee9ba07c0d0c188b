"""operator identities: the extensions, queue agents, channels and helpdesk logins of each operator

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 01:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_identities_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_identities")),
        sa.UniqueConstraint("key", name=op.f("uq_operator_identities_key")),
    )
    with op.batch_alter_table("operator_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_identities_operator_id"), ["operator_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("operator_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_identities_operator_id"))
    op.drop_table("operator_identities")
