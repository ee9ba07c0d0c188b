"""several purposes per call, and people's corrections of a call's purpose

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_outcomes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purposes", sa.JSON(), nullable=True))
    op.create_table(
        "purpose_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("previous", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("corrected_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("purpose_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purpose_corrections_call_id"), ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("purpose_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purpose_corrections_call_id"))
    op.drop_table("purpose_corrections")
    with op.batch_alter_table("call_outcomes", schema=None) as batch_op:
        batch_op.drop_column("purposes")
