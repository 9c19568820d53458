"""Migration 0004_i11 splits surface_posts into four tables and keeps every row; the seen
deliveries are pruned, so the table no longer grows without bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from sheepdog.app import build_services
from sheepdog.bot import posts
from sheepdog.config import load_settings
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.db import Database, alembic_config, migrate
from sheepdog.storage.tables import CardPost, SeenDelivery, TeamIdentity, ThreadMessage

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/sheepdog.db"
    return str(request.getfixturevalue("pg_url"))


def test_the_split_keeps_every_row_and_goes_back(db_url: str) -> None:
    db = Database(db_url)
    migrate(db.engine)
    cfg = alembic_config(db.engine)
    before = ScriptDirectory.from_config(cfg).get_revision("0004_i11").down_revision
    command.downgrade(cfg, str(before))
    rows = [  # what a Slack install before the split held
        ("slack", "brief:12", 12, "C0LEADS", "1700000000.000100", None, "h1"),
        ("slack", "draft:40", 12, "C0LEADS", "1700000000.000200", "1700000000.000100", "h2"),
        ("slack:event", "Ev0123ABC", 0, None, None, None, None),
        ("slack:thread", "C0LEADS:1700000000.000300", 12, "note", "77", None, "h3"),
        ("slack:owner", "lead:12", 12, "Dana", "UDANA", None, None),
    ]
    with db.engine.begin() as conn:
        for surface, key, lead, container, ref, thread, digest in rows:
            conn.execute(
                text(
                    "INSERT INTO surface_posts (surface, card_key, lead_id, container, ref, thread_ref, "
                    "content_hash, updated_at) VALUES (:s, :k, :l, :c, :r, :t, :h, :u)"
                ),
                {
                    "s": surface,
                    "k": key,
                    "l": lead,
                    "c": container,
                    "r": ref,
                    "t": thread,
                    "h": digest,
                    "u": AT,
                },
            )
    command.upgrade(cfg, "head")
    with db.session() as s:
        cards = [
            (c.surface, c.card_key, c.ref, c.thread_ref, c.content_hash) for c in s.scalars(select(CardPost))
        ]
        assert sorted(cards) == [
            ("slack", "brief:12", "1700000000.000100", None, "h1"),
            ("slack", "draft:40", "1700000000.000200", "1700000000.000100", "h2"),
        ]
        seen = s.scalars(select(SeenDelivery)).one()
        assert (seen.source, seen.delivery_id, seen.at) == ("slack", "Ev0123ABC", AT)
        note = s.scalars(select(ThreadMessage)).one()
        assert (note.surface, note.message_key, note.kind, note.ref, note.content_hash) == (
            "slack", "C0LEADS:1700000000.000300", "note", "77", "h3"
        )  # fmt: skip
        owner = s.scalars(select(TeamIdentity)).one()
        assert (owner.surface, owner.lead_id, owner.user_id, owner.name) == ("slack", 12, "UDANA", "Dana")
    command.downgrade(cfg, str(before))  # and back: the same five rows in surface_posts
    with db.engine.connect() as conn:
        back = conn.execute(
            text("SELECT surface, card_key, ref FROM surface_posts ORDER BY surface, card_key")
        ).all()
    assert [tuple(r) for r in back] == [
        ("slack", "brief:12", "1700000000.000100"),
        ("slack", "draft:40", "1700000000.000200"),
        ("slack:event", "Ev0123ABC", None),
        ("slack:owner", "lead:12", "UDANA"),
        ("slack:thread", "C0LEADS:1700000000.000300", "77"),
    ]
    command.upgrade(cfg, "head")
    db.dispose()


def test_seen_deliveries_are_pruned(db_url: str) -> None:
    settings = load_settings(
        None, environ={}, overrides={"storage": {"url": db_url}, "demo": {"smtp_sink": False}}
    )
    services = build_services(settings, queue=InProcessQueue(periodic=False))
    migrate(services.db.engine)
    now = [AT]
    services.clock = lambda: now[0]
    try:
        assert posts.first_time(services, "telegram", "1001") is True
        assert posts.first_time(services, "telegram", "1001") is False  # a replay
        now[0] = AT + timedelta(seconds=posts.SEEN_KEEP_S - 60)
        assert posts.first_time(services, "slack", "Ev9") is True
        now[0] = AT + timedelta(seconds=posts.SEEN_KEEP_S + 60)
        assert posts.prune_seen(services) == 1  # the week-old one goes, the newer one stays
        with services.db.session() as s:
            assert [r.delivery_id for r in s.scalars(select(SeenDelivery))] == ["Ev9"]
    finally:
        services.db.dispose()
