"""sends the owner can trust: idempotency keys and delivery status on the outbox, per-channel
opt-outs, the address a customer wrote from, settings changed from chat, refunds

Revision ID: 0005_i13
Revises: 0004_i14
Create Date: 2026-11-29 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sheepdog.storage.tables

revision = "0005_i13"
down_revision = "0004_i14"
branch_labels = None
depends_on = None

UTC_DT = sheepdog.storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("purpose", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("delivery_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("delivery_at", UTC_DT, nullable=True))
        batch_op.create_index("ix_outbox_provider_message_id", ["provider_message_id"], unique=False)
    op.execute("UPDATE outbox SET idempotency_key = 'row:' || id WHERE idempotency_key IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_unique_constraint("uq_outbox_idempotency_key", ["idempotency_key"])
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opted_out_channels", sa.JSON(), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=320), nullable=True))
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_settings")),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_refunds_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("lead_id", "message_id", name="uq_refunds_lead_message"),
    )


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_table("app_settings")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("sender")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("opted_out_channels")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outbox_idempotency_key", type_="unique")
        batch_op.drop_index("ix_outbox_provider_message_id")
        for col in ("delivery_at", "delivery_error", "delivery_status", "purpose", "idempotency_key"):
            batch_op.drop_column(col)
