"""Storage on SQLite and PostgreSQL: migrations, aware UTC times, dedup, identity and merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from sheepdog.app import build_services
from sheepdog.domain.models import Channel, InboundMessage
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.db import Database, migrate
from sheepdog.storage.tables import Contact, Conversation, Event, Identity, Lead, Message


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/s.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def services(db_url: str, make_settings: Any) -> Any:
    settings = make_settings(storage={"url": db_url})
    svc = build_services(settings, queue=InProcessQueue(periodic=False))
    yield svc
    svc.db.dispose()


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    db = Database(db_url)
    migrate(db.engine)  # a second run changes nothing
    names = set(inspect(db.engine).get_table_names())
    assert {
        "contacts",
        "identities",
        "conversations",
        "messages",
        "leads",
        "drafts",
        "outbox",
        "events",
        "rejected_payloads",
        "card_posts",
        "seen_deliveries",
        "thread_messages",
        "team_identities",
        "alembic_version",
    } <= names
    db.dispose()


def test_times_come_back_aware_utc(db_url: str) -> None:
    db = Database(db_url)
    berlin = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 24, 15, 30, tzinfo=berlin)
    with db.session() as s:
        s.add(Event(kind="t", at=at, data={"x": 1}))
    with db.session() as s:
        got = s.scalars(select(Event)).one().at
    assert got.tzinfo is not None and got == at and got.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive"), db.session() as s:
        s.add(Event(kind="t", at=datetime(2026, 1, 1), data={}))
    db.dispose()


def test_provider_message_id_is_unique_per_channel(db_url: str) -> None:
    db = Database(db_url)
    with db.session() as s:
        c = Contact(name="A")
        s.add(c)
        s.flush()
        conv = Conversation(contact_id=c.id, channel="email")
        s.add(conv)
        s.flush()
        s.add(
            Message(
                conversation_id=conv.id, direction="inbound", channel="email", provider_message_id="<a@b>"
            )
        )
        s.add(
            Message(conversation_id=conv.id, direction="inbound", channel="sms", provider_message_id="<a@b>")
        )
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(
            Message(
                conversation_id=conv.id, direction="inbound", channel="email", provider_message_id="<a@b>"
            )
        )
    db.dispose()


def msg(**kw: Any) -> InboundMessage:
    base = {
        "channel": Channel.WEBFORM,
        "text": "Do you install heat pumps?",
        "received_at": datetime.now(UTC),
    }
    return InboundMessage(**{**base, **kw})


def test_same_delivery_twice_stores_once(services: Any) -> None:
    first = receive(
        services, msg(channel=Channel.EMAIL, sender_email="a@example.com", provider_message_id="<m1@x>")
    )
    again = receive(
        services, msg(channel=Channel.EMAIL, sender_email="a@example.com", provider_message_id="<m1@x>")
    )
    assert not first.duplicate and again.duplicate and again.message_id == first.message_id
    with services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
        assert s.scalar(select(func.count()).select_from(Lead)) == 1


def test_contacts_merge_across_channels(services: Any) -> None:
    receive(services, msg(sender_name="Ana", sender_email="ANA@Example.com"))
    receive(services, msg(sender_phone="(512) 555-0101", text="hi, it's about the AC"))
    # A third message names both: the two contacts become one.
    receive(
        services, msg(sender_email="ana@example.com", sender_phone="+1 512-555-0101", text="following up")
    )
    with services.db.session() as s:
        live = s.scalars(select(Contact).where(Contact.merged_into_id.is_(None))).all()
        assert len(live) == 1
        ana = live[0]
        assert ana.email == "ana@example.com" and ana.phone == "+15125550101" and ana.name == "Ana"
        kinds = {(i.kind, i.value) for i in s.scalars(select(Identity))}
        assert kinds == {("email", "ana@example.com"), ("phone", "+15125550101")}
        assert {lead.contact_id for lead in s.scalars(select(Lead))} == {ana.id}


def test_returning_customer_is_recognised(services: Any) -> None:
    from sheepdog.domain.models import Stage
    from sheepdog.handlers import actions

    first = receive(services, msg(sender_email="old@example.com", sender_name="Olga"))
    actions.won(services, first.lead_id, "Dana", None)
    with services.db.session() as s:
        assert s.get(Lead, first.lead_id).stage == Stage.WON.value
    second = receive(services, msg(sender_email="old@example.com", text="Need our furnace tuned up again"))
    assert second.new_lead
    with services.db.session() as s:
        lead = s.get(Lead, second.lead_id)
        assert lead.returning_customer and lead.cadence is None  # straight to a human, no automation


def test_nul_bytes_and_lone_surrogates_are_stored(services: Any) -> None:
    """PostgreSQL refuses NUL in text and no database takes a lone surrogate: both are cleaned."""
    result = receive(
        services,
        msg(text="furnace \x00 died \ud83d", sender_name="Zo\ud83d", sender_email="z@example.com"),
    )
    with services.db.session() as s:
        stored = s.get(Message, result.message_id)
        assert stored.text.startswith("furnace") and "\x00" not in stored.text
        assert s.get(Lead, result.lead_id) is not None


def test_an_existing_database_upgrades_and_keeps_its_rows(db_url: str) -> None:
    from alembic import command

    from sheepdog.storage.db import alembic_config, make_engine

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO contacts (name, opted_out, created_at) VALUES ('Old Friend', false, CURRENT_TIMESTAMP)"
        )
    engine.dispose()
    db = Database(db_url)  # migrates to head at start, as `sheepdog run` does
    with db.session() as s:
        assert [c.name for c in s.scalars(select(Contact))] == ["Old Friend"]
    assert "claimed_at" in {c["name"] for c in inspect(db.engine).get_columns("outbox")}
    db.dispose()
