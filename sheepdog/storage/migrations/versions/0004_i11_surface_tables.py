"""split surface_posts into card_posts, seen_deliveries, thread_messages, team_identities

surface_posts held four things told apart by a naming convention on its `surface` column
("slack" cards, "slack:event" deliveries, "slack:thread" members' messages, "slack:owner"
claimers). Each gets its own table; every existing row is copied across, then the old table goes.

Revision ID: 0004_i11
Revises: 0005_i13
Create Date: 2026-11-29 11:40:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import sheepdog.storage.tables

revision = "0004_i11"
down_revision = "0005_i13"
branch_labels = None
depends_on = None

UTC_DT = sheepdog.storage.tables.UTCDateTime(timezone=True)

OLD = sa.table(
    "surface_posts",
    sa.column("id", sa.Integer),
    sa.column("surface", sa.String),
    sa.column("card_key", sa.String),
    sa.column("lead_id", sa.Integer),
    sa.column("container", sa.String),
    sa.column("ref", sa.String),
    sa.column("thread_ref", sa.String),
    sa.column("content_hash", sa.String),
    sa.column("updated_at", UTC_DT),
)


def _card_table(name: str) -> None:
    """card_posts has the columns surface_posts had (and, going back, the reverse)."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surface", sa.String(length=32), nullable=False),
        sa.Column("card_key", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("container", sa.String(length=200), nullable=True),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("thread_ref", sa.String(length=200), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("surface", "card_key", name=f"uq_{name}_surface_card"),
    )


def _create() -> None:
    _card_table("card_posts")
    op.create_index("ix_card_posts_lead_id", "card_posts", ["lead_id"])
    op.create_index("ix_card_posts_ref", "card_posts", ["ref"])
    op.create_table(
        "seen_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_deliveries")),
        sa.UniqueConstraint("source", "delivery_id", name="uq_seen_deliveries_source_id"),
    )
    op.create_index("ix_seen_deliveries_at", "seen_deliveries", ["at"])
    op.create_table(
        "thread_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surface", sa.String(length=32), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_messages")),
        sa.UniqueConstraint("surface", "message_key", name="uq_thread_messages_surface_key"),
    )
    op.create_index("ix_thread_messages_lead_id", "thread_messages", ["lead_id"])
    op.create_table(
        "team_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surface", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_identities")),
        sa.UniqueConstraint("surface", "lead_id", name="uq_team_identities_surface_lead"),
    )


def _split(row: Any) -> tuple[str, dict[str, Any]] | None:
    """One surface_posts row → (new table, values); None for a row with nothing to keep."""
    surface, _, use = str(row.surface).partition(":")
    if not use:
        return "card_posts", {
            "surface": row.surface,
            "card_key": row.card_key,
            "lead_id": row.lead_id,
            "container": row.container,
            "ref": row.ref,
            "thread_ref": row.thread_ref,
            "content_hash": row.content_hash,
            "updated_at": row.updated_at,
        }
    if use == "event":
        return "seen_deliveries", {"source": surface, "delivery_id": row.card_key, "at": row.updated_at}
    if use == "thread":
        return "thread_messages", {
            "surface": surface,
            "message_key": row.card_key,
            "lead_id": row.lead_id,
            "kind": row.container or "reply",
            "ref": row.ref,
            "content_hash": row.content_hash,
            "body": None,
            "created_at": row.updated_at,
        }
    if use == "owner" and row.ref:
        return "team_identities", {
            "surface": surface,
            "lead_id": row.lead_id,
            "user_id": row.ref,
            "name": row.container,
            "updated_at": row.updated_at,
        }
    return None


def upgrade() -> None:
    _create()
    bind = op.get_bind()
    tables = {
        name: sa.Table(name, sa.MetaData(), autoload_with=bind)
        for name in ("card_posts", "seen_deliveries", "thread_messages", "team_identities")
    }
    batches: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
    for row in bind.execute(sa.select(OLD).order_by(OLD.c.id)):
        split = _split(row)
        if split is not None:
            batches[split[0]].append(split[1])
    for name, rows in batches.items():
        if rows:
            bind.execute(tables[name].insert(), rows)
    op.drop_table("surface_posts")


def downgrade() -> None:
    _card_table("surface_posts")
    op.create_index("ix_surface_posts_lead_id", "surface_posts", ["lead_id"])
    bind = op.get_bind()
    text_columns = ("surface", "card_key", "container", "ref", "thread_ref", "content_hash")
    cards = sa.table(
        "card_posts",
        *(sa.column(c, sa.String) for c in text_columns),
        sa.column("lead_id", sa.Integer),
        sa.column("updated_at", UTC_DT),
    )
    seen = sa.table(
        "seen_deliveries",
        sa.column("source", sa.String),
        sa.column("delivery_id", sa.String),
        sa.column("at", UTC_DT),
    )
    thread = sa.table(
        "thread_messages",
        *(sa.column(c, sa.String) for c in ("surface", "message_key", "kind", "ref", "content_hash")),
        sa.column("lead_id", sa.Integer),
        sa.column("created_at", UTC_DT),
    )
    owners = sa.table(
        "team_identities",
        *(sa.column(c, sa.String) for c in ("surface", "user_id", "name")),
        sa.column("lead_id", sa.Integer),
        sa.column("updated_at", UTC_DT),
    )
    rows: list[dict[str, Any]] = [dict(r._mapping) for r in bind.execute(sa.select(cards))]
    for r in bind.execute(sa.select(seen)):
        rows.append(
            {"surface": f"{r.source}:event", "card_key": r.delivery_id, "lead_id": 0, "updated_at": r.at}
        )
    for r in bind.execute(sa.select(thread).where(thread.c.kind.in_(("reply", "note")))):
        rows.append(
            {
                "surface": f"{r.surface}:thread",
                "card_key": r.message_key,
                "lead_id": r.lead_id,
                "container": r.kind,
                "ref": r.ref,
                "content_hash": r.content_hash,
                "updated_at": r.created_at,
            }
        )
    for r in bind.execute(sa.select(owners)):
        rows.append(
            {
                "surface": f"{r.surface}:owner",
                "card_key": f"lead:{r.lead_id}",
                "lead_id": r.lead_id,
                "container": r.name,
                "ref": r.user_id,
                "updated_at": r.updated_at,
            }
        )
    if rows:
        blank = {"container": None, "ref": None, "thread_ref": None, "content_hash": None}
        bind.execute(OLD.insert(), [{**blank, **r} for r in rows])
    for name in ("team_identities", "thread_messages", "seen_deliveries", "card_posts"):
        op.drop_table(name)
