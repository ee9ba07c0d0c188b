"""effective scorecards and review state on call outcomes; runs of site-wide stages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_outcomes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("machine_compliance_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("machine_scorecard", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("scorecard", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("review_state", sa.String(length=16), server_default="not_reviewed", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_call_outcomes_review_state"), ["review_state"], unique=False)
    # Outcomes stored before this revision carry the machine score only; the next analysis fills the rest.
    op.execute("UPDATE call_outcomes SET machine_compliance_score = compliance_score")
    op.create_table(
        "site_stage_runs",
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("inputs_mark", sa.String(length=512), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("stage", name=op.f("pk_site_stage_runs")),
    )


def downgrade() -> None:
    op.drop_table("site_stage_runs")
    with op.batch_alter_table("call_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_outcomes_review_state"))
        batch_op.drop_column("review_state")
        batch_op.drop_column("scorecard")
        batch_op.drop_column("machine_scorecard")
        batch_op.drop_column("machine_compliance_score")
