"""Sends the owner can trust (issue 13), the edges: STOP at a local Twilio and a local Telegram Bot
API server, opt-out scope per channel, the handle the customer used, holding-reply promises in
opening hours, a real bounce on the email's card, and the "may not have gone out" buttons.
Each on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import select

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.channels.sms_twilio import TwilioSmsParser, help_line
from sheepdog.channels.telegram_customer import TelegramCustomerParser
from sheepdog.domain.models import InboundMessage
from sheepdog.handlers import actions
from sheepdog.handlers.inbound import receive
from sheepdog.jobs import tasks
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Contact, Event, Lead, Message, Outbox
from tests.channels.helpers import load, raw
from tests.channels.test_sms_twilio import TOKEN as SMS_TOKEN
from tests.channels.test_sms_twilio import signed
from tests.conftest import TOKEN, SmtpRecorder, free_port
from tests.handlers.test_trusted_sends import events, form, idle, post_signed

TG_SECRET, TG_BOT = "tg-secret-token_123", "123456:TEST-token"
AFTERNOON = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # a Tuesday, 14:00 in Austin: no quiet hours


@pytest.fixture
def storage(request: pytest.FixtureRequest, tmp_path: Any, handler_db: str) -> dict[str, str]:
    url = f"sqlite:///{tmp_path}/edges.db" if handler_db == "sqlite" else request.getfixturevalue("pg_url")
    return {"url": url}


@pytest.fixture
def client_factory(make_settings: Any, aiohttp_client: Any, storage: dict[str, str]) -> Callable[..., Any]:
    """The real app on the parametrized database, logged in: (client, runtime)."""

    async def make(**overrides: Any) -> tuple[Any, Runtime]:
        settings = make_settings(storage=storage, **overrides)
        runtime = build_runtime(
            settings, services=build_services(settings, queue=InProcessQueue(periodic=False))
        )
        return await aiohttp_client(runtime.app, headers=AUTH), runtime

    return make


# -- local platform servers: what each received ------------------------------------------------


@dataclass
class Received:
    """What a local platform server was asked to send: (recipient, text) each."""

    sent: list[tuple[str, str]] = field(default_factory=list)


async def twilio_server(aiohttp_server: Any) -> tuple[Received, str]:
    state = Received()

    async def messages(request: web.Request) -> web.Response:
        posted = {k: str(v) for k, v in (await request.post()).items()}
        state.sent.append((posted["To"], posted["Body"]))
        sid = f"SM{len(state.sent):032d}"
        return web.json_response({"sid": sid, "status": "queued", "to": posted["To"]}, status=201)

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    server = await aiohttp_server(app)
    return state, str(server.make_url(""))


async def bot_api_server(aiohttp_server: Any) -> tuple[Received, str]:
    state = Received()

    async def method(request: web.Request) -> web.Response:
        params = (
            await request.json() if request.content_type == "application/json" else dict(await request.post())
        )
        bot = {"id": 123456, "is_bot": True, "first_name": "Brightside", "username": "brightside_bot"}
        if request.match_info["method"] == "getMe":
            return web.json_response({"ok": True, "result": bot})
        if request.match_info["method"] != "sendMessage":
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        state.sent.append((str(params["chat_id"]), str(params["text"])))
        chat = {"id": int(params["chat_id"]), "type": "private", "first_name": "FirstName"}
        msg = {"message_id": 900 + len(state.sent), "date": 1700000000, "chat": chat, "from": bot}
        return web.json_response({"ok": True, "result": {**msg, "text": params["text"]}})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    server = await aiohttp_server(app)
    return state, str(server.make_url("")).rstrip("/")


def sms_in(phone: str, body: str, sid: str) -> InboundMessage:
    """A stored real Twilio inbound body, signed, from `phone` saying `body`."""
    from urllib.parse import parse_qsl, urlencode

    params = dict(parse_qsl(load("twilio", "sms__text.txt").decode()))
    params |= {"From": phone, "Body": body, "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid}
    parser = TwilioSmsParser(SMS_TOKEN, help_line("Brightside", "+1 512 555 0100", None, None))
    return parser.parse(signed(urlencode(params).encode()))[0]


def telegram_in(chat_id: int, text: str, message_id: int) -> InboundMessage:
    """A stored real Telegram Update, from chat `chat_id` saying `text`."""
    update = json.loads(load("telegram", "message__text.json"))
    message = update["message"]
    message["chat"]["id"] = message["from"]["id"] = chat_id
    message["text"], message["message_id"] = text, message_id
    update["update_id"] += message_id
    body = json.dumps(update).encode()
    request = raw(body, headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    return TelegramCustomerParser(TG_SECRET).parse(request)[0]


# -- 1. STOP while a touch and an approved draft are queued, at Twilio and at Telegram ---------


CHANNELS: dict[str, Callable[..., Any]] = {"sms": twilio_server, "telegram": bot_api_server}


@pytest.mark.parametrize("channel", ["sms", "telegram"])
async def test_stop_while_a_touch_and_an_approved_draft_are_queued_reaches_neither_server(
    make_settings: Any, aiohttp_server: Any, storage: dict[str, str], channel: str
) -> None:
    state, base = await CHANNELS[channel](aiohttp_server)
    settings_channel: dict[str, Any] = (
        {
            "enabled": True,
            "account_sid": "AC" + "0" * 32,
            "auth_token": "tw-token",
            "from_number": "+15125550100",
            "api_base_url": base,
        }
        if channel == "sms"
        else {"enabled": True, "bot_token": TG_BOT, "secret_token": TG_SECRET, "api_base_url": base}
    )
    svc = build_services(
        make_settings(
            storage=storage,
            channels={channel: settings_channel},
            policy={"first_reply": {"autonomy": "L3"}, "support": {"autonomy": "L3"}},
        ),
        queue=InProcessQueue(periodic=False),
    )  # the queue is not started: everything queued stays queued until STOP has arrived
    svc.clock = lambda: AFTERNOON

    def inbound(who: int, text: str, n: int) -> InboundMessage:
        if channel == "sms":
            return sms_in(f"+1512555{who:04d}", text, f"SM{who:016d}{n:016d}")
        return telegram_in(who, text, n)

    def prepare() -> dict[int, int]:
        """Two customers, each with an approved draft and a due follow-up queued; who → lead."""
        leads = {}
        for who in (1001, 1002):
            lead = receive(svc, inbound(who, "Hi, do you install heat pumps in south Austin?", 1))
            assert lead.lead_id is not None and lead.draft_id is not None
            assert actions.approve(svc, lead.draft_id, "Dana").ok
            with svc.db.session() as s:  # the follow-up is due now
                row = s.get(Lead, lead.lead_id)
                row.cadence_state, row.cadence_step = "active", 1
                row.cadence_started_at = svc.now() - timedelta(days=2)
                row.cadence_next_at = svc.now() - timedelta(minutes=1)
            leads[who] = lead.lead_id
        assert tasks.cadence_tick(svc) == 2  # the tick queues the touches; the touch job writes each
        for lead_id in leads.values():
            assert tasks.cadence_touch(svc, lead_id, 1) == "written"  # its send waits in the queue
        with svc.db.session() as s:
            assert [o.state for o in s.scalars(select(Outbox))] == ["queued"] * 4
        stop = "STOP" if channel == "sms" else "STOP. Please stop messaging me."
        receive(svc, inbound(1001, stop, 2))  # only the first customer says STOP
        svc.queue.start()
        with svc.db.session() as s:
            ids = list(s.scalars(select(Outbox.id)))
        for outbox_id in ids:  # even a send job already on its way finds the opt-out
            tasks.send_outbox(svc, outbox_id)
        assert svc.queue.wait_idle(timeout=15)
        return leads

    try:
        leads = await asyncio.to_thread(prepare)
        stopped = "+15125551001" if channel == "sms" else "1001"
        # the other customer's two messages reached the server, which shows the path works
        assert sorted(to for to, _ in state.sent) == [stopped.replace("1001", "1002")] * 2, state.sent
        with svc.db.session() as s:
            states = {
                o.lead_id: o.state for o in s.scalars(select(Outbox).where(Outbox.lead_id == leads[1001]))
            }
            assert set(states.values()) == {"cancelled"}
            other = list(s.scalars(select(Outbox).where(Outbox.lead_id == leads[1002])))
            assert [(o.state, o.last_error) for o in other] == [("sent", None)] * 2
    finally:
        svc.queue.stop()
        svc.db.dispose()


# -- the real app with SMS at a local Twilio and email at the local SMTP server ----------------


TW_TOKEN, PUBLIC = "tw-token", "http://127.0.0.1:8080"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PHONE = "+15125550199"  # the web form fixture's phone, in E.164


async def app_with_sms(
    make_settings: Any, aiohttp_client: Any, aiohttp_server: Any, storage: dict[str, str], **extra: Any
) -> tuple[Any, Runtime, Received]:
    twilio, base = await twilio_server(aiohttp_server)
    sms = {
        "enabled": True,
        "account_sid": "AC" + "0" * 32,
        "auth_token": TW_TOKEN,
        "from_number": "+15125550100",
        "api_base_url": base,
    }
    settings = make_settings(storage=storage, channels={"sms": sms}, **extra)
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers=AUTH)
    return client, runtime, twilio


async def text_in(client: Any, body: str, n: int, phone: str = PHONE) -> None:
    """A signed Twilio webhook (the stored real body) from `phone` to /hooks/twilio/sms."""
    sid = f"SM{n:032d}"
    resp = await post_signed(
        client,
        "/hooks/twilio/sms",
        load("twilio", "sms__text.txt"),
        From=phone,
        Body=body,
        MessageSid=sid,
        SmsSid=sid,
        SmsMessageSid=sid,
    )
    assert resp.status == 200, await resp.text()


async def form_in(client: Any, message: str, **fields: str) -> None:
    """The stored web-form lead with the customer's words (and any other field) changed."""
    data = json.loads(form(message)) | fields
    resp = await client.post(
        "/hooks/form", data=json.dumps(data), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 200, await resp.text()


def lead_of(runtime: Runtime, channel: str) -> int:
    with runtime.services.db.session() as s:
        return int(s.scalar(select(Lead.id).where(Lead.channel == channel).order_by(Lead.id.desc())))


def lead_of_last_message(runtime: Runtime) -> int:
    """The lead the newest customer message was threaded onto."""
    with runtime.services.db.session() as s:
        conversation = s.scalar(
            select(Message.conversation_id).where(Message.direction == "inbound").order_by(Message.id.desc())
        )
        return int(s.scalar(select(Lead.id).where(Lead.conversation_id == conversation)))


async def team_reply(client: Any, runtime: Runtime, lead_id: int, text: str) -> Any:
    resp = await client.post(f"/api/leads/{lead_id}/reply", json={"actor": "Dana", "text": text})
    await idle(runtime)
    return resp


def closed_channels(runtime: Runtime) -> tuple[bool, list[str]]:
    with runtime.services.db.session() as s:
        [contact] = s.scalars(select(Contact).where(Contact.merged_into_id.is_(None))).all()
        return contact.opted_out, sorted(contact.opted_out_channels or [])


# -- 2. opt-out scope "channel": STOP closes SMS only, START reopens only SMS -----------------


async def test_scope_channel_stop_on_sms_leaves_email_and_start_reopens_only_sms(
    make_settings: Any, aiohttp_client: Any, aiohttp_server: Any, smtp: Any, storage: dict[str, str]
) -> None:
    recorder, _ = smtp
    client, runtime, twilio = await app_with_sms(
        make_settings, aiohttp_client, aiohttp_server, storage, policy={"opt_out_scope": "channel"}
    )
    await form_in(client, "Do you install heat pumps?")  # email + phone: one contact
    await text_in(client, "Hi, it's Jordan again. Do you also service boilers?", 1)
    await idle(runtime)
    email_lead, sms_lead = lead_of(runtime, "webform"), lead_of(runtime, "sms")
    assert email_lead != sms_lead
    mails, texts = len(recorder.messages), len(twilio.sent)
    assert mails >= 1  # the form's first reply went out by email

    await text_in(client, "STOP", 2)
    assert closed_channels(runtime) == (False, ["sms"])
    refused = await team_reply(client, runtime, sms_lead, "Sorry to see you go.")
    assert refused.status == 409 and "opted out" in (await refused.json())["message"]
    sent = await team_reply(client, runtime, email_lead, "Here is the quote you asked for.")
    assert sent.status == 200
    assert len(twilio.sent) == texts  # SMS is closed
    assert len(recorder.messages) == mails + 1  # email still goes
    assert "Here is the quote" in recorder.messages[-1].get_body(preferencelist=("plain",)).get_content()

    # an unsubscribe from email, then START by SMS: SMS reopens, the email unsubscribe stays
    link = str(recorder.messages[-1]["List-Unsubscribe"]).strip("<>")
    done = await client.post(
        urlsplit(link).path,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status == 200
    assert closed_channels(runtime) == (False, ["email", "sms"])
    await text_in(client, "START", 3)
    assert closed_channels(runtime) == (False, ["email"])
    mails = len(recorder.messages)
    assert (await team_reply(client, runtime, sms_lead, "Welcome back, Jordan!")).status == 200
    assert (await team_reply(client, runtime, email_lead, "One more thing by email.")).status == 409
    assert twilio.sent[-1] == (PHONE, "Welcome back, Jordan!")
    assert len(recorder.messages) == mails
    runtime.services.db.dispose()


async def test_scope_all_an_sms_start_does_not_undo_an_email_unsubscribe(
    make_settings: Any, aiohttp_client: Any, aiohttp_server: Any, smtp: Any, storage: dict[str, str]
) -> None:
    recorder, _ = smtp
    client, runtime, twilio = await app_with_sms(make_settings, aiohttp_client, aiohttp_server, storage)
    await form_in(client, "Do you install heat pumps?")
    await idle(runtime)
    email_lead = lead_of(runtime, "webform")
    link = str(recorder.messages[-1]["List-Unsubscribe"]).strip("<>")
    done = await client.post(
        urlsplit(link).path,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status == 200 and closed_channels(runtime) == (True, ["email"])
    await text_in(client, "START", 4)
    await idle(runtime)
    assert closed_channels(runtime) == (True, ["email"])
    mails, texts = len(recorder.messages), len(twilio.sent)
    assert (await team_reply(client, runtime, email_lead, "Are you still there?")).status == 409
    assert len(recorder.messages) == mails and len(twilio.sent) == texts
    with runtime.services.db.session() as s:
        assert not s.scalars(select(Event).where(Event.kind == "opted_in")).all()
    runtime.services.db.dispose()


async def test_scope_channel_an_sms_stop_survives_the_contacts_being_merged(
    make_settings: Any, aiohttp_client: Any, aiohttp_server: Any, smtp: Any, storage: dict[str, str]
) -> None:
    """Email-only and SMS-only contacts are one person once a form names both: the SMS STOP of
    the one merged away still closes SMS."""
    client, runtime, twilio = await app_with_sms(
        make_settings, aiohttp_client, aiohttp_server, storage, policy={"opt_out_scope": "channel"}
    )
    data = json.loads(form("Do you install heat pumps?"))
    resp = await client.post(
        "/hooks/form", data=json.dumps(data | {"phone": ""}), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 200
    await text_in(client, "Do you also service boilers?", 5)
    await text_in(client, "STOP", 6)
    sms_lead = lead_of(runtime, "sms")
    await form_in(client, "Also, can you come on Friday?")  # email and phone: the two merge
    await idle(runtime)
    assert closed_channels(runtime) == (False, ["sms"])
    texts = len(twilio.sent)
    assert (await team_reply(client, runtime, sms_lead, "Friday works.")).status == 409
    assert len(twilio.sent) == texts
    runtime.services.db.dispose()


# -- 3. the handle the customer used ---------------------------------------------------------


def mail_from(from_header: str, subject: str, text: str) -> bytes:
    """The stored real email with another From, Subject, Message-ID and words."""
    raw = load("email", "message__text_only.eml")
    head, _, _ = raw.partition(b"\n\n")
    head = head.replace(b"From: Bob Marley <bob@marley.com>", b"From: " + from_header.encode())
    head = head.replace(b"Subject: Testing message parsing", b"Subject: " + subject.encode())
    head = head.replace(b"<CAEAsyCbSF1Bk7CBuu6zp3Qs8", f"<{abs(hash(text))}".encode())
    return head + b"\n\n" + text.encode() + b"\n"


def recipients(recorder: Any) -> list[str]:
    return [m["To"].addresses[0].addr_spec for m in recorder.messages]


async def test_replies_go_to_the_address_and_number_the_customer_wrote_from(
    make_settings: Any, aiohttp_client: Any, aiohttp_server: Any, smtp: Any, storage: dict[str, str]
) -> None:
    recorder, _ = smtp
    client, runtime, twilio = await app_with_sms(make_settings, aiohttp_client, aiohttp_server, storage)
    await form_in(client, "Do you install heat pumps?", email="jordan@home.example")
    await idle(runtime)
    assert recipients(recorder) == ["jordan@home.example"]
    lead = lead_of(runtime, "webform")
    # the same person (same phone) fills the form again with their work address: one contact
    await form_in(client, "Can you also quote for my office?", email="j.ellis@work.example")
    await idle(runtime)
    assert lead_of(runtime, "webform") == lead
    await team_reply(client, runtime, lead, "Happy to quote for the office too.")
    assert recipients(recorder)[-1] == "j.ellis@work.example"
    # then they write by email, from home, and from work: each answer goes where they wrote from
    for n, address in enumerate(("jordan@home.example", "j.ellis@work.example", "jordan@home.example")):
        mail = mail_from(f"Jordan Ellis <{address}>", "Heat pump", f"It's {address} here ({n})")
        resp = await client.post("/hooks/email", data=mail)
        assert resp.status == 200
        await idle(runtime)
        await team_reply(client, runtime, lead_of_last_message(runtime), f"Answering {address}")
        assert recipients(recorder)[-1] == address
    with runtime.services.db.session() as s:
        assert len(s.scalars(select(Contact).where(Contact.merged_into_id.is_(None))).all()) == 1
    # two phones: the text is answered at the number it came from
    second = "+15125550142"
    await form_in(client, "Do you service boilers too?", email="jordan@home.example", phone=second)
    for phone in (second, PHONE):
        await text_in(client, f"And gas furnaces? ({phone[-4:]})", int(phone[-4:]), phone=phone)
        resp = await team_reply(client, runtime, lead_of(runtime, "sms"), f"Got it on {phone}")
        assert resp.status == 200, await resp.text()
        assert twilio.sent[-1] == (phone, f"Got it on {phone}")
    runtime.services.db.dispose()


async def test_an_address_in_the_display_name_is_never_answered(
    make_settings: Any, aiohttp_client: Any, smtp: Any, storage: dict[str, str]
) -> None:
    recorder, _ = smtp
    settings = make_settings(storage=storage)
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers=AUTH)
    mail = mail_from('"Bob <a@x.example>" <b@y.example>', "Heat pumps", "Do you install heat pumps?")
    assert (await client.post("/hooks/email", data=mail)).status == 200
    await idle(runtime)
    with runtime.services.db.session() as s:
        lead_id = s.scalar(select(Lead.id))
        assert s.scalar(select(Contact.email)) == "b@y.example"
    await team_reply(client, runtime, lead_id, "Yes, we do.")
    assert recipients(recorder) and set(recipients(recorder)) == {"b@y.example"}
    assert {rcpt for env in recorder.envelopes for rcpt in env.rcpt_tos} == {"b@y.example"}
    runtime.services.db.dispose()


async def test_scope_channel_an_opt_out_written_in_a_form_closes_what_answers_the_form(
    make_settings: Any, aiohttp_client: Any, aiohttp_server: Any, smtp: Any, storage: dict[str, str]
) -> None:
    """A form is no channel we send on: "stop emailing me" typed into it must not close only
    "webform" (which closes nothing)."""
    recorder, _ = smtp
    client, runtime, twilio = await app_with_sms(
        make_settings, aiohttp_client, aiohttp_server, storage, policy={"opt_out_scope": "channel"}
    )
    await form_in(client, "Do you install heat pumps?")
    await idle(runtime)
    lead = lead_of(runtime, "webform")
    await form_in(client, "STOP. Please stop emailing me.")
    await idle(runtime)
    mails, texts = len(recorder.messages), len(twilio.sent)
    assert (await team_reply(client, runtime, lead, "Sorry to bother you.")).status == 409
    assert (len(recorder.messages), len(twilio.sent)) == (mails, texts)
    runtime.services.db.dispose()


# -- 4. holding replies promise in opening hours, once ------------------------------------------


FRIDAY_EVENING = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)  # Friday 27 November, 19:30 in Austin
FRIDAY_CLOSING = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)  # Friday, 16:30: half an hour before closing


def plain(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


async def test_a_holding_reply_promises_in_opening_hours_and_comes_once(
    make_settings: Any, aiohttp_client: Any, smtp: Any, storage: dict[str, str]
) -> None:
    recorder, _ = smtp
    settings = make_settings(storage=storage)
    settings.business.hours.pop("sat", None)  # open Monday to Friday only
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers=AUTH)
    now = [FRIDAY_EVENING]
    runtime.services.clock = lambda: now[0]

    # Friday 19:30, after closing: a pricing question (a quarter of an hour) is promised for Monday
    await form_in(client, "How much does a heat pump cost?", email="pat@example.com", phone="")
    await idle(runtime)
    [holding] = recorder.messages
    assert holding["To"].addresses[0].addr_spec == "pat@example.com"
    assert "will get back to you personally by Monday at 08:15." in plain(holding), plain(holding)
    # a second message while the first holding reply is unanswered: no second holding reply
    now[0] += timedelta(hours=1)
    await form_in(
        client, "Also, I'm really unhappy the last visit was cancelled.", email="pat@example.com", phone=""
    )
    await idle(runtime)
    assert len(recorder.messages) == 1
    with runtime.services.db.session() as s:
        lead_id = s.scalar(select(Lead.id))
        assert [o.purpose for o in s.scalars(select(Outbox))] == ["holding_reply"]
    # a person answers; a new question after that may get a holding reply of its own
    assert (await team_reply(client, runtime, lead_id, "Hi Pat, a heat pump starts at $4,000.")).status == 200
    now[0] += timedelta(hours=1)
    await form_in(client, "And what would the yearly service cost?", email="pat@example.com", phone="")
    await idle(runtime)
    assert len(recorder.messages) == 3 and "by Monday at 08:15" in plain(recorder.messages[-1])

    # Friday 16:30, a complaint (one hour): half an hour today, the other half on Monday
    now[0] = FRIDAY_CLOSING
    await form_in(
        client,
        "The technician never showed up and nobody called. This is unacceptable.",
        email="sam@example.com",
        phone="",
    )
    await idle(runtime)
    assert recorder.messages[-1]["To"].addresses[0].addr_spec == "sam@example.com"
    assert "by Monday at 08:30." in plain(recorder.messages[-1]), plain(recorder.messages[-1])
    runtime.services.db.dispose()


# -- 5. a real bounce (RFC 3464 DSN) marks the email's card ------------------------------------


async def test_a_real_bounce_marks_the_emails_outbox_row_and_card(client_factory: Any, smtp: Any) -> None:
    """mailgun/flanker's AOL "mailbox full" DSN (tests/fixtures/email/SOURCES.md), with the
    returned message's Message-ID and recipient made ours."""
    recorder, _ = smtp
    client, runtime = await client_factory()
    await form_in(client, "Do you install heat pumps?", email="jordan@aol.example")
    await idle(runtime)
    [mail] = recorder.messages
    with runtime.services.db.session() as s:
        leads = s.scalars(select(Lead.id)).all()
        row = s.scalar(select(Outbox))
        assert row.message_id == mail["Message-ID"] and row.delivery_status is None
    dsn = load("email", "bounce__multipart_report.eml")
    dsn = dsn.replace(b"<4E326A95.3010907@example.com>", row.message_id.encode())
    dsn = dsn.replace(b"user@aol.com", b"jordan@aol.example")
    resp = await client.post("/hooks/email", data=dsn, headers={"Content-Type": "message/rfc822"})
    assert resp.status == 200
    await idle(runtime)
    with runtime.services.db.session() as s:
        row = s.scalar(select(Outbox))
        assert row.delivery_status == "bounced"
        assert row.delivery_error == "552 5.2.2 E4.12 user MAILBOX FULL", row.delivery_error
        assert s.scalars(select(Lead.id)).all() == leads  # a bounce is never a lead of its own
        assert s.get(Lead, leads[0]).needs_attention.startswith("our email bounced")
        assert len(s.scalars(select(Outbox)).all()) == 1  # and never answered
    card = json.dumps(await (await client.get(f"/api/leads/{leads[0]}")).json())
    assert "bounced: 552 5.2.2 E4.12 user MAILBOX FULL" in card, card
    assert [e.data["outbox_ids"] for e in events(runtime, "bounced")] == [[row.id]]
    runtime.services.db.dispose()


# -- 6. "It went out" / "Send again" on a send that may not have gone out -----------------------


@dataclass
class LateOnce(SmtpRecorder):
    """Stores each message, then answers the first `late` of them after the client gave up (the
    server took it; the sender cannot know)."""

    late: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.late > 0:
            self.late -= 1
            await asyncio.sleep(1.2)
        return answer


@pytest.fixture
def late_smtp() -> Any:
    recorder = LateOnce()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield recorder, controller.port
    controller.stop()


async def uncertain_lead(client: Any, runtime: Runtime, recorder: LateOnce, email: str) -> int:
    """A lead whose automatic first reply the mail server took but answered too late."""
    recorder.late = 1
    await form_in(client, "Do you install heat pumps?", email=email, phone="")
    await idle(runtime)
    with runtime.services.db.session() as s:
        lead = s.scalar(select(Lead).join(Contact).where(Contact.email == email))
        assert lead.needs_attention.startswith("may not have gone out — check")
        return lead.id


async def test_it_went_out_and_send_again_through_the_console(
    make_settings: Any, aiohttp_client: Any, late_smtp: Any, storage: dict[str, str]
) -> None:
    recorder, port = late_smtp
    settings = make_settings(storage=storage, channels={"email": {"smtp": {"port": port, "timeout_s": 0.5}}})
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers=AUTH)

    # "Send again": the server is asked once more, exactly once; a second click is refused
    again = await uncertain_lead(client, runtime, recorder, "again@example.com")
    card = json.dumps(await (await client.get(f"/api/leads/{again}")).json())
    assert "It went out" in card and "Send again" in card and "may not have gone out" in card
    assert len(recorder.messages) == 1
    resp = await client.post(f"/api/leads/{again}/send_again", json={"actor": "Dana"})
    assert resp.status == 200, await resp.text()
    await idle(runtime)
    refused = await client.post(f"/api/leads/{again}/send_again", json={"actor": "Ali"})
    assert refused.status == 409 and "nothing waits to be checked" in (await refused.json())["message"]
    await idle(runtime)
    assert len(recorder.messages) == 2
    assert recorder.messages[0]["Message-ID"] == recorder.messages[1]["Message-ID"]  # the same email
    with runtime.services.db.session() as s:
        row = s.scalar(select(Outbox).where(Outbox.lead_id == again))
        assert row.state == "sent" and s.get(Lead, again).needs_attention is None
    card = json.dumps(await (await client.get(f"/api/leads/{again}")).json())
    assert "Send again" not in card and "may not have gone out" not in card

    # "It went out": nothing is sent; the thread shows the message, as for any send
    went = await uncertain_lead(client, runtime, recorder, "went@example.com")
    assert len(recorder.messages) == 3
    resp = await client.post(f"/api/leads/{went}/went_out", json={"actor": "Dana"})
    assert resp.status == 200, await resp.text()
    for action in ("went_out", "send_again"):
        assert (await client.post(f"/api/leads/{went}/{action}", json={"actor": "Ali"})).status == 409
    await idle(runtime)
    assert len(recorder.messages) == 3
    with runtime.services.db.session() as s:
        row = s.scalar(select(Outbox).where(Outbox.lead_id == went))
        lead = s.get(Lead, went)
        assert row.state == "sent" and lead.needs_attention is None
        assert lead.stage == "contacted" and lead.first_response_at is not None
        thread = s.scalars(select(Message.text).where(Message.conversation_id == lead.conversation_id)).all()
        assert row.body in thread
    confirmed = [e for e in events(runtime, "send_confirmed") if e.lead_id == went]
    assert [e.actor for e in confirmed] == ["Dana"]
    runtime.services.db.dispose()
