"""What issue 18 tried as an attacker, as tests against the real app: text past column sizes and
NUL bytes on PostgreSQL, a draft step that fails, secrets in stored headers and in log lines, a
Telegram secret that is nearly right, a forged From: with a lure in its Subject, and the web form
used as a relay to mail strangers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sheepdog import logs
from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.brain.offline import OfflineBrain
from sheepdog.channels.telegram_customer import TelegramCustomerParser
from sheepdog.config import load_settings
from sheepdog.domain.models import RawRequest
from sheepdog.errors import ConfigError, SignatureError
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Contact, Draft, Event, Lead, Message, Outbox, RejectedPayload
from tests.conftest import fixture_bytes

TG_SECRET = "tg-Secret_42"
LURE = "Account locked - verify at evil.example/login"


async def _runtime(
    make_settings: Any, aiohttp_client: Any, db_url: str | None = None, **overrides: Any
) -> Any:
    base: dict[str, Any] = {
        "channels": {
            "telegram": {
                "enabled": True,
                "bot_token": "1:x",
                "secret_token": TG_SECRET,
                "api_base_url": "http://127.0.0.1:9",
            },
            "email": {"inbound_token": "mail-token-123456"},
        },
        **overrides,
    }
    if db_url:
        base["storage"] = {"url": db_url}
    settings = make_settings(**base)
    runtime: Runtime = build_runtime(
        settings, services=build_services(settings, queue=InProcessQueue(periodic=False))
    )
    client = await aiohttp_client(runtime.app)
    client.runtime = runtime
    return client


@pytest.fixture
async def app(make_settings: Any, aiohttp_client: Any) -> AsyncIterator[Any]:
    client = await _runtime(make_settings, aiohttp_client, policy={"first_reply": {"autonomy": "L5"}})
    yield client
    client.runtime.services.db.dispose()


def _form(**fields: str) -> bytes:
    form = json.loads(fixture_bytes("loop", "webform__lead.json"))
    form.update(fields)
    return json.dumps(form).encode()


# --- storage: sizes and NUL bytes, on SQLite and PostgreSQL ------------------------------------


async def test_long_and_nul_text_is_stored_cut_on_purpose(
    make_settings: Any, aiohttp_client: Any, db_url: str
) -> None:
    """A 300-character name and source, NUL bytes, and a 1,500-character mail subject: the lead is
    created (not 503 on every retry), the columns hold a cut value, the raw payload the whole."""
    client = await _runtime(make_settings, aiohttp_client, db_url)
    try:
        name, source = "N" * 300, "s\x00" * 200
        resp = await client.post(
            "/hooks/form",
            data=_form(name=name, source=source, email="long@example.com"),
            headers={"Content-Type": "application/json"},
        )
        assert resp.status == 200, await resp.text()
        subject = "Quote " + "x" * 1500
        mail = (
            f"From: Long Subject <subj@example.com>\r\nTo: hello@brightside.example\r\nSubject: {subject}\r\n"
            "Message-ID: <long-1@example.com>\r\nContent-Type: text/plain\r\n\r\nHello there\r\n"
        ).encode()
        resp = await client.post("/hooks/email", data=mail, headers={"X-Sheepdog-Token": "mail-token-123456"})
        assert resp.status == 200, await resp.text()
        with client.runtime.services.db.session() as s:
            contact = s.scalars(select(Contact).where(Contact.email == "long@example.com")).one()
            assert contact.name is not None and len(contact.name) == 200 and contact.name.endswith("…")
            lead = s.scalars(select(Lead).where(Lead.contact_id == contact.id)).one()
            assert lead.source and "\x00" not in lead.source and len(lead.source) <= 200
            first = s.scalars(select(Message).where(Message.conversation_id == lead.conversation_id)).first()
            assert name.encode() in (first.raw or b"")  # the full value stays in the raw payload
            mailed = s.scalars(
                select(Message).where(Message.provider_message_id == "<long-1@example.com>")
            ).one()
            assert mailed.subject and len(mailed.subject) == 1000 and subject.encode() in (mailed.raw or b"")
            lead.needs_attention = "550 5.7.1 " + "refused because " * 40  # a long SMTP refusal
        with client.runtime.services.db.session() as s:
            assert len(s.get(Lead, lead.id).needs_attention or "") > 600
    finally:
        client.runtime.services.db.dispose()


# --- a draft step that fails after triage is flagged, not lost ----------------------------------


class _BrokenDrafts(OfflineBrain):
    """Fault injection at the brain's edge: triage and brief work, writing the draft raises."""

    def draft(self, request: Any) -> Any:
        raise IndexError("list index out of range")


async def test_a_name_of_nul_bytes_and_spaces_still_gets_its_draft(app: Any) -> None:
    resp = await app.post(
        "/hooks/form",
        data=_form(name="\x00 \x00  ", email="nul@example.com"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    with app.runtime.services.db.session() as s:
        assert s.scalars(select(Draft)).one().body.strip()


def test_a_draft_failure_after_triage_is_flagged_on_the_card(make_settings: Any, smtp: Any) -> None:
    from sheepdog.handlers.inbound import receive
    from tests.jobs.test_outbox_and_cadence import lead_message

    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    svc.brain = _BrokenDrafts()
    try:
        result = receive(svc, lead_message())
        with svc.db.session() as s:
            lead = s.get(Lead, result.lead_id)
            assert lead.needs_attention and "no reply was written" in lead.needs_attention
            message = s.get(Message, result.message_id)
            assert message.understood_at is not None and message.category  # read: not retried forever
            kinds = [e.kind for e in s.scalars(select(Event).where(Event.lead_id == lead.id))]
            assert "draft_failed" in kinds
    finally:
        svc.db.dispose()


# --- secrets ------------------------------------------------------------------------------------


async def test_refused_requests_keep_no_secret_header(app: Any) -> None:
    resp = await app.post(
        "/hooks/telegram/customer",
        data=b'{"not": "an update"}',
        headers={
            "X-Telegram-Bot-Api-Secret-Token": TG_SECRET,
            "Content-Type": "application/json",
            "Authorization": "Bearer x",
            "Cookie": "a=b",
            "X-Custom-Secret": "zzz",
        },
    )
    assert resp.status == 422
    resp = await app.post(
        "/hooks/email", data=b"x" * (26 * 1024 * 1024), headers={"X-Sheepdog-Token": "mail-token-123456"}
    )
    assert resp.status == 413
    with app.runtime.services.db.session() as s:
        rows = s.scalars(select(RejectedPayload)).all()
    assert len(rows) == 2
    for row in rows:
        stored = json.dumps(row.headers).lower()
        assert TG_SECRET.lower() not in stored and "mail-token" not in stored and "zzz" not in stored
        assert set(row.headers) <= {
            "content-type",
            "content-length",
            "user-agent",
            "host",
            "accept",
            "accept-encoding",
        }


def test_a_telegram_secret_must_match_exactly() -> None:
    parser = TelegramCustomerParser(TG_SECRET)
    body = fixture_bytes("telegram", "message__text.json")
    for near in (" " + TG_SECRET, TG_SECRET + " ", TG_SECRET.lower(), TG_SECRET[:-1], "\u00a0" + TG_SECRET):
        raw = RawRequest(
            "POST",
            "http://x/hooks/telegram/customer",
            {"x-telegram-bot-api-secret-token": near},
            body,
            content_type="application/json",
        )
        with pytest.raises(SignatureError):
            parser.parse(raw)
    ok = RawRequest(
        "POST",
        "http://x",
        {"x-telegram-bot-api-secret-token": TG_SECRET},
        body,
        content_type="application/json",
    )
    assert parser.parse(ok)
    with pytest.raises(ConfigError, match="secret_token"):
        load_settings(
            None,
            environ={},
            overrides={
                "channels": {
                    "telegram": {"enabled": True, "bot_token": "1:x", "secret_token": " " + TG_SECRET}
                }
            },
        )


def test_the_bot_token_is_masked_in_httpx_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """At -v httpx logs every request URL; Telegram's carry the bot token (/bot<token>/getMe)."""
    token = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
    logs.setup(verbose=True)
    root = logging.getLogger()
    try:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
        with httpx.Client(transport=transport) as client:
            client.get(f"https://api.telegram.org/bot{token}/getMe")
        logging.getLogger("sheepdog").error(
            "send failed: postgresql://sheep:pw-hunter2@db/x Bearer abcdefgh12345"
        )
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = []
        logging.getLogger("httpx").setLevel(logging.WARNING)
    assert "getMe" in err and "bot***/getMe" in err
    assert token not in err and token.split(":")[1] not in err
    assert "pw-hunter2" not in err and "abcdefgh12345" not in err


# --- mail: a forged From: with a lure in its Subject -------------------------------------------


async def test_an_automatic_reply_never_carries_the_forged_subject_back(app: Any, smtp: Any) -> None:
    recorder, _ = smtp
    mail = (
        "From: Victim Person <victim@example.org>\r\nTo: hello@brightside.example\r\n"
        f"Subject: {LURE}\r\nMessage-ID: <forged-1@example.org>\r\nContent-Type: text/plain\r\n\r\n"
        "Hi, our AC runs but blows warm air since yesterday. Can someone come this week?\r\n\r\nSam\r\n"
    ).encode()
    resp = await app.post("/hooks/email", data=mail, headers={"X-Sheepdog-Token": "mail-token-123456"})
    assert resp.status == 200
    app.runtime.services.queue.wait_idle(15)
    with app.runtime.services.db.session() as s:
        auto = s.scalars(select(Outbox).where(Outbox.author.is_(None))).all()
    with app.runtime.services.db.session() as s:
        drafts = [(d.decision, d.reasons, d.subject) for d in s.scalars(select(Draft))]
    assert auto, drafts
    for row in auto:
        assert "evil" not in (row.subject or "") and "locked" not in (row.subject or "").lower()
        assert "evil" not in row.body
    for m in recorder.messages:
        assert "evil" not in str(m["Subject"]) and "evil" not in m.as_string()


# --- the web form is not a relay ----------------------------------------------------------------


async def test_the_web_form_cannot_mail_strangers(app: Any) -> None:
    headers = {"Content-Type": "application/json"}
    # Per IP: the 11th post within the hour from one address is 429 with Retry-After.
    answers = []
    for i in range(11):
        body = _form(email=f"v{i}@victims.example", name="Jordan Ellis", message=f"{LURE} ({i})")
        resp = await app.post("/hooks/form", data=body, headers={**headers, "X-Forwarded-For": "203.0.113.9"})
        answers.append(resp.status)
        if resp.status == 429:
            assert int(resp.headers["Retry-After"]) > 0
    assert answers == [200] * 10 + [429]
    # Per address: the 4th post naming one address in a day is kept but gets no automatic mail.
    for i in range(4):
        body = _form(email="same.victim@victims.example", name="Jordan Ellis", message="Need a tune-up")
        resp = await app.post(
            "/hooks/form", data=body, headers={**headers, "X-Forwarded-For": f"198.51.100.{i}"}
        )
        assert resp.status == 200
    # The honeypot: a bot filled the hidden field.
    body = _form(email="bot@victims.example", website_url="http://spam.example")
    assert (
        await app.post("/hooks/form", data=body, headers={**headers, "X-Forwarded-For": "192.0.2.1"})
    ).status == 200
    app.runtime.services.queue.wait_idle(15)
    with app.runtime.services.db.session() as s:
        auto = s.scalars(select(Outbox).where(Outbox.author.is_(None))).all()
        to = [o.to_email for o in auto]
        assert to.count("same.victim@victims.example") <= 3 and "bot@victims.example" not in to
        for row in auto:  # nothing a stranger typed goes back out: first name at most
            assert (
                "evil" not in row.body
                and "locked" not in row.body.lower()
                and "evil" not in (row.subject or "")
            )
            assert row.to_name in (None, "Jordan")
        kept = s.scalars(select(Message)).all()
    assert len(kept) >= 15  # every accepted post was stored for the team
