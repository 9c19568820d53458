"""learning from outcomes: imported lead history and the fitted scorer

Revision ID: 0004_i14
Revises: 0003
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sheepdog.storage.tables

revision = "0004_i14"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_DT = sheepdog.storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lead_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("imported_at", UTC_DT, nullable=False),
        sa.Column("file", sa.String(length=500), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("response_s", sa.Float(), nullable=True),
        sa.Column("won", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_history")),
    )
    op.create_table(
        "scorer_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trained_at", UTC_DT, nullable=False),
        sa.Column("outcomes", sa.Integer(), nullable=False),
        sa.Column("last_outcome_id", sa.Integer(), nullable=False),
        sa.Column("history_rows", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorer_models")),
    )


def downgrade() -> None:
    op.drop_table("scorer_models")
    op.drop_table("lead_history")
