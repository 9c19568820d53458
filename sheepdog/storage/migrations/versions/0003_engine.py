"""the engine: message read lease, outbox claimer, failed jobs of the in-process queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sheepdog.storage.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_DT = sheepdog.storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reading_until", UTC_DT, nullable=True))
        batch_op.add_column(sa.Column("read_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("understood_at", UTC_DT, nullable=True))
        batch_op.create_index("ix_messages_understood_at", ["understood_at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
    op.create_table(
        "failed_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # What was read before this migration counts as understood: the sweep must not read it again.
    op.execute(
        "UPDATE messages SET understood_at = created_at "
        "WHERE category IS NOT NULL OR direction <> 'inbound' OR is_auto"
    )


def downgrade() -> None:
    op.drop_table("failed_jobs")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_understood_at")
        batch_op.drop_column("understood_at")
        batch_op.drop_column("read_by")
        batch_op.drop_column("reading_until")
