"""`sheepdog db copy`: the demo's SQLite (filled by the real pipeline) copied to PostgreSQL arrives
row for row — ids, JSON (SQL NULL and JSON null apart), bytes, aware datetimes — and Sheepdog
carries on there; a non-empty target, a source behind the schema and a missing source are refused
(exit 2) with the reason; a copy that breaks off leaves the target empty; no password is printed."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, insert, inspect, select
from sqlalchemy.engine import make_url

from sheepdog.app import build_services
from sheepdog.cli import main
from sheepdog.domain.models import Category, Money
from sheepdog.handlers import actions
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.db import Database, alembic_config, make_engine
from sheepdog.storage.tables import (
    Base,
    CardPost,
    Contact,
    Event,
    FailedJob,
    Lead,
    Message,
    RejectedPayload,
    SinkMail,
    TriageCorrection,
    VoiceExample,
)
from tests.jobs.test_outbox_and_cadence import lead_message

BERLIN = timezone(timedelta(hours=1))


def with_password(url: str) -> str:
    """The test database's URL with a password in it (the real one, or any: the local server
    trusts 127.0.0.1), so the output can be searched for it."""
    parsed = make_url(url)
    password = parsed.password or os.environ.get("PGPASSWORD") or "Sh33p-s3cret"
    return parsed.set(password=str(password)).render_as_string(hide_password=False)


def password_of(url: str) -> str:
    return str(make_url(url).password)


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every Sheepdog table, in id order, with whether each JSON value is SQL NULL."""
    engine = make_engine(url)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            json_cols = [c for c in table.columns if isinstance(c.type, JSON)]
            nulls = [c.is_(None).label(f"{c.name}__sql_null") for c in json_cols]
            stmt = select(*table.columns, *nulls).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(stmt)]
    engine.dispose()
    return rows


def copy(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["db", "copy", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def add_extras(db: Database, conversation_id: int) -> None:
    """What the pipeline alone does not make: a contact merged into a newer one (a self-reference
    to a higher id), JSON null beside SQL NULL, raw bytes, a time in another zone, and enough
    events for several batches."""
    at = datetime(2026, 11, 24, 15, 30, 1, 123456, tzinfo=BERLIN)
    with db.session() as s:
        s.add(Contact(id=1000, name="Newer Record", email="same@example.com"))
        s.flush()
        s.add(Contact(id=999, name="Older Record", email="same@example.com", merged_into_id=1000))
        s.add(RejectedPayload(endpoint="/hooks/form", status=400, reason="bad", body=bytes(range(256))))
        s.add(SinkMail(mail_from="a@b.c", rcpt_to=["x@y.z"], data=b"\x00\xffSubject: hi\r\n\r\nbody"))
        s.add(VoiceExample(text="Thanks — talk soon, Dana", author="Dana"))
        s.add(CardPost(surface="console", card_key="brief:1", lead_id=1, content_hash="h", updated_at=at))
        s.add(FailedJob(key="send_outbox-9", job="send_outbox", args=[9, {"k": None}], error="boom"))
    with db.engine.begin() as conn:
        conn.execute(
            insert(Message),
            [
                {
                    "conversation_id": conversation_id,
                    "direction": "note",
                    "channel": "web",
                    "triage": JSON.NULL,
                },
            ],
        )
        conn.execute(
            insert(Event),
            [
                {"kind": "bulk", "at": at + timedelta(seconds=i), "data": {"i": i, "ü": [i]}}
                for i in range(1200)
            ],
        )


@pytest.fixture
def demo_sqlite(make_settings: Any) -> str:
    """The demo's SQLite after a real web-form lead (answered by email at L4), a triage
    correction, a win with an amount, and the extras above."""
    settings = make_settings()
    svc = build_services(settings, queue=InProcessQueue(periodic=False))
    svc.queue.start()
    try:
        result = receive(svc, lead_message())
        assert svc.queue.wait_idle(timeout=15)
        assert result.lead_id is not None
        actions.correct_triage(svc, result.message_id, Category.BOOKING, "Dana")
        actions.won(svc, result.lead_id, "Dana", Money(Decimal("4250.50"), "USD"))
        add_extras(svc.db, result.conversation_id)
    finally:
        svc.queue.stop()
        svc.db.dispose()
    return settings.storage.url


def test_sqlite_demo_copied_to_postgresql_row_for_row(
    demo_sqlite: str, pg_url: str, make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    target = with_password(pg_url)
    code, out = copy(capsys, "--from", demo_sqlite, "--to", target)
    assert code == 0, out
    assert password_of(target) not in out
    assert "***@" in out and "events" in out and "total" in out

    source_rows, target_rows = dump(demo_sqlite), dump(target)
    for name, rows in source_rows.items():
        assert target_rows[name] == rows, name
    for name in ("contacts", "identities", "conversations", "messages", "leads", "drafts", "outbox"):
        assert source_rows[name], f"the demo made no {name}: the test would prove nothing"
    assert len(source_rows["events"]) > 1200 and source_rows["triage_corrections"]
    engine = make_engine(target)
    with engine.connect() as conn:
        inbound = conn.execute(
            select(Message.raw, Message.created_at).where(Message.direction == "inbound")
        ).first()
        assert inbound is not None and inbound.raw and b"Jordan" in inbound.raw
        assert inbound.created_at.tzinfo is not None
        at = conn.scalar(select(Event.at).where(Event.kind == "bulk").order_by(Event.id).limit(1))
        assert at == datetime(2026, 11, 24, 14, 30, 1, 123456, tzinfo=UTC) and at.tzinfo is not None
        assert conn.scalar(select(RejectedPayload.body)) == bytes(range(256))
        assert conn.scalar(select(Lead.outcome_value)) == Decimal("4250.50")
        assert conn.scalar(select(Contact.merged_into_id).where(Contact.id == 999)) == 1000
        assert conn.scalar(select(TriageCorrection.category)) == "booking"
    engine.dispose()

    # Sheepdog carries on on PostgreSQL: new rows get ids after the copied ones (sequences reset).
    svc = build_services(make_settings(storage={"url": pg_url}), queue=InProcessQueue(periodic=False))
    try:
        msg = replace(
            lead_message(),
            provider_message_id="second-lead",
            sender_name="Sam Ortiz",
            sender_email="sam@example.org",
            sender_phone=None,
        )
        result = receive(svc, msg)
        with svc.db.session() as s:
            assert result.lead_id == max(r[0] for r in source_rows["leads"]) + 1
            assert s.get(Lead, result.lead_id).contact_id == 1001
            assert s.scalar(select(Message.id).order_by(Message.id.desc()).limit(1)) == result.message_id
    finally:
        svc.db.dispose()

    # A second copy into a database that now holds rows is refused, naming what it holds.
    code, out = copy(capsys, "--from", demo_sqlite, "--to", target)
    assert code == 2, out
    assert "already holds" in out and "contacts (" in out and "--force" in out
    assert password_of(target) not in out and "***@" in out

    # --force replaces the target's rows with the source's, all of them.
    code, out = copy(capsys, "--from", demo_sqlite, "--to", target, "--force")
    assert code == 0, out
    assert dump(target) == source_rows


def test_a_source_behind_the_schema_is_refused(tmp_path: Path, pg_url: str, capsys: Any) -> None:
    source = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(source)
    command.upgrade(alembic_config(engine), "0002")
    engine.dispose()
    target = with_password(pg_url)
    code, out = copy(capsys, "--from", source, "--to", target)
    assert code == 2, out
    assert "sheepdog migrate --config" in out and "0002" in out
    assert password_of(target) not in out
    engine = make_engine(pg_url)
    assert inspect(engine).get_table_names() == []  # the target was not touched
    engine.dispose()


def test_a_copy_that_breaks_off_leaves_the_target_empty(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{tmp_path}/s.db"
    db = Database(source)
    with db.session() as s:
        s.add(Contact(name="Kept Nowhere", email="k@example.com"))
        s.add(Event(kind="x", data={}))
        # SQLite does not check VARCHAR lengths, PostgreSQL does: this row cannot be copied. (An
        # ORM write fits values to their columns; a core insert, like an older version's, doesn't.)
        s.execute(insert(TriageCorrection).values(text="hello", category="b" * 40))
    db.dispose()
    target = with_password(pg_url)
    code, out = copy(capsys, "--from", source, "--to", target)
    assert code == 1, out
    assert "triage_corrections" in out and "rolled back" in out
    assert password_of(target) not in out and "b" * 40 not in out
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        assert conn.scalar(select(Contact.id)) is None and conn.scalar(select(Event.id)) is None
    engine.dispose()


def test_sqlite_to_sqlite_and_what_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The copy needs no PostgreSQL to be checked: SQLite to SQLite, row for row; a missing or
    identical source is refused before anything is created."""
    source, target = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    db = Database(source)
    with db.session() as s:
        s.add(Contact(id=7, name="Ana", email="ana@example.com"))
        s.add(Event(kind="y", data={"z": [1, None]}, at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=BERLIN)))
    with db.engine.begin() as conn:
        conn.execute(insert(Event), [{"kind": "n", "data": JSON.NULL}])
    db.dispose()

    code, out = copy(capsys, "--from", source, "--to", target)
    assert code == 0, out
    assert dump(target) == dump(source)

    code, out = copy(capsys, "--from", f"sqlite:///{tmp_path}/missing.db", "--to", target)
    assert code == 2 and "no database file" in out
    assert not (tmp_path / "missing.db").exists()
    code, out = copy(capsys, "--from", source, "--to", f"sqlite:///{tmp_path}/./a.db")
    assert code == 2 and "same database" in out
