"""client identifiers: many phones and contract or account numbers per client; phone numbers in one form

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

from contracts.phones import canonical_phone, normalise_phone

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    # The one phone a client had becomes its first phone, in canonical form (a non-phone is dropped: it
    # could only ever have matched by accident). Read before the column goes: SQLite rebuilds `clients`
    # to drop it, and the rebuild must not find identifiers to cascade to.
    phones = [
        {"client_id": client_id, "kind": "phone", "value": number}
        for client_id, phone in bind.execute(sa.text("SELECT id, phone FROM clients WHERE phone IS NOT NULL"))
        if (number := canonical_phone(phone))
    ]
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_phone"))
        batch_op.drop_column("phone")
    op.create_table(
        "client_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_identifiers_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_identifiers")),
        sa.UniqueConstraint("kind", "value", "client_id", name="uq_client_identifiers_kind_value_client"),
    )
    with op.batch_alter_table("client_identifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_identifiers_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_client_identifiers_lookup", ["kind", "value"], unique=False)
    identifiers = sa.table(
        "client_identifiers", sa.column("client_id"), sa.column("kind"), sa.column("value")
    )
    if phones:
        bind.execute(identifiers.insert(), phones)
    _normalise_call_numbers(bind)


def _normalise_call_numbers(bind) -> None:
    """Calls stored before numbers were normalised: their caller and callee in canonical form."""
    calls = sa.table("calls", sa.column("id"), sa.column("caller_number"), sa.column("callee_number"))
    changed = []
    for call_id, caller, callee in bind.execute(
        sa.select(calls.c.id, calls.c.caller_number, calls.c.callee_number)
    ):
        new_caller, new_callee = normalise_phone(caller), normalise_phone(callee)
        if (new_caller, new_callee) != (caller, callee):
            changed.append({"row_id": call_id, "caller": new_caller, "callee": new_callee})
    update = (
        calls.update()
        .where(calls.c.id == sa.bindparam("row_id"))
        .values(caller_number=sa.bindparam("caller"), callee_number=sa.bindparam("callee"))
    )
    for start in range(0, len(changed), _BATCH):
        bind.execute(update, changed[start : start + _BATCH])


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_clients_phone"), ["phone"], unique=False)
    # A client keeps one phone again: its first.
    op.execute(
        "UPDATE clients SET phone = (SELECT value FROM client_identifiers i WHERE i.client_id = clients.id "
        "AND i.kind = 'phone' ORDER BY i.id LIMIT 1)"
    )
    with op.batch_alter_table("client_identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_client_identifiers_lookup")
        batch_op.drop_index(batch_op.f("ix_client_identifiers_client_id"))
    op.drop_table("client_identifiers")
