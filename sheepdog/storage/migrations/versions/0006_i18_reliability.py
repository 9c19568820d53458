"""reliability: wider text columns, opt-out tombstones of erased contacts

Revision ID: 0006_i18
Revises: 0004_i10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sheepdog.storage.tables

revision = "0006_i18"
down_revision = "0004_i10"
branch_labels = None
depends_on = None

SUBJECTS = ("conversations", "messages", "drafts", "outbox")


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.alter_column("needs_attention", existing_type=sa.String(200), type_=sa.Text())
        batch_op.alter_column("cadence_stop_reason", existing_type=sa.String(200), type_=sa.Text())
    for table in SUBJECTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("subject", existing_type=sa.String(500), type_=sa.String(1000))
    op.create_table(
        "tombstones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sheepdog.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tombstones")),
        sa.UniqueConstraint("kind", "digest", name="uq_tombstones_kind_digest"),
    )


def downgrade() -> None:
    op.drop_table("tombstones")
    for table in SUBJECTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("subject", existing_type=sa.String(1000), type_=sa.String(500))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.alter_column("cadence_stop_reason", existing_type=sa.Text(), type_=sa.String(200))
        batch_op.alter_column("needs_attention", existing_type=sa.Text(), type_=sa.String(200))
