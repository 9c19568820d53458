"""follow-up that follows the lead: where the lead's time zone came from, the visit time, and an
index for the cadence tick's "what is due" query

Revision ID: 0004_i10
Revises: 0004_i11
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sheepdog.storage.tables

revision = "0004_i10"
down_revision = "0004_i11"
branch_labels = None
depends_on = None

UTC_DT = sheepdog.storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone_source", sa.String(length=32), nullable=True))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_at", UTC_DT, nullable=True))
        batch_op.create_index("ix_leads_cadence_due", ["cadence_state", "cadence_next_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_cadence_due")
        batch_op.drop_column("visit_at")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("timezone_source")
