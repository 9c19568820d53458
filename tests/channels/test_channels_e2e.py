"""End to end through the real app: payload in over HTTP → contact, channel, conversation, lead, draft.

Uses the shared conftest (SQLite, in-process queue, aiosmtpd sink). Policy is L3 so every first
reply waits as a draft and nothing leaves for the platforms in these tests.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.channels.webhook import sign
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Contact, Conversation, Draft, Lead, Message, RejectedPayload
from tests.channels.helpers import load

PUBLIC = "http://127.0.0.1:8080"
TW_TOKEN, TG_SECRET, FB_SECRET = "tw-token", "tg-secret", "fb-secret"
FB_MAPPING = {
    "name": "field_data[name=full_name].values.0",
    "email": "field_data[name=email].values.0",
    "external_id": "id",
}


@pytest.fixture
async def app(make_settings: Any, aiohttp_client: Any) -> Any:
    settings = make_settings(
        policy={"first_reply": {"autonomy": "L3"}},
        channels={
            "sms": {
                "enabled": True,
                "account_sid": "AC" + "0" * 32,
                "auth_token": TW_TOKEN,
                "from_number": "+15125550100",
                "api_base_url": "http://127.0.0.1:9",
            },
            "telegram": {
                "enabled": True,
                "bot_token": "1:x",
                "secret_token": TG_SECRET,
                "api_base_url": "http://127.0.0.1:9",
            },
            "webhook": {"sources": {"facebook": {"secret": FB_SECRET, "mapping": FB_MAPPING}}},
        },
    )
    runtime: Runtime = build_runtime(
        settings, services=build_services(settings, queue=InProcessQueue(periodic=False))
    )
    client = await aiohttp_client(runtime.app)
    client.runtime = runtime
    yield client
    runtime.services.db.dispose()


def db(client: Any) -> Any:
    return client.runtime.services.db.session()


async def post_sms(client: Any, name: str, *, signature: str | None = None) -> Any:
    body = load("twilio", name)
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    sig = (
        signature
        if signature is not None
        else RequestValidator(TW_TOKEN).compute_signature(PUBLIC + "/hooks/twilio/sms", params)
    )
    return await client.post(
        "/hooks/twilio/sms",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig},
    )


async def post_telegram(client: Any, name: str, secret: str = TG_SECRET) -> Any:
    return await client.post(
        "/hooks/telegram/customer",
        data=load("telegram", name),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )


async def post_webhook(client: Any, name: str, ts: int | None = None, body: bytes | None = None) -> Any:
    body = body if body is not None else load("webhook", name)
    stamp = ts if ts is not None else int(time.time())
    return await client.post(
        "/hooks/inbound/facebook",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Sheepdog-Timestamp": str(stamp),
            "X-Sheepdog-Signature": sign(FB_SECRET, stamp, body),
        },
    )


def lead_for(client: Any, channel: str) -> tuple[Lead, Contact, Conversation, list[Draft]]:
    with db(client) as s:
        lead = s.scalars(select(Lead).where(Lead.channel == channel)).one()
        contact, conv = s.get(Contact, lead.contact_id), s.get(Conversation, lead.conversation_id)
        drafts = list(s.scalars(select(Draft).where(Draft.lead_id == lead.id)))
        s.expunge_all()
        return lead, contact, conv, drafts


def count(client: Any, table: Any) -> int:
    with db(client) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


async def test_sms_lead_end_to_end(app: Any) -> None:
    resp = await post_sms(app, "sms__text.txt")
    assert resp.status == 200 and "<Response" in await resp.text()
    _lead, contact, conv, drafts = lead_for(app, "sms")
    assert contact.phone == "+11234567890" and conv.channel == "sms"
    assert drafts and drafts[0].channel == "sms" and drafts[0].state == "pending"
    again = await post_sms(app, "sms__text.txt")  # Twilio retrying the same MessageSid
    assert again.status == 200 and count(app, Message) == 1


async def test_sms_mms_help_and_stop(app: Any) -> None:
    await post_sms(app, "sms__mms_two_images.txt")
    with db(app) as s:
        (msg,) = s.scalars(select(Message)).all()
        assert len(msg.attachments) == 2
    help_resp = await post_sms(app, "sms__help.txt")
    assert "STOP" in await help_resp.text() and "<Message>" in await help_resp.text()
    stop = await post_sms(app, "sms__stop.txt")
    assert stop.status == 200 and "<Message>" not in await stop.text()
    with db(app) as s:
        contact = s.scalars(select(Contact).where(Contact.phone == "+11234567890")).one()
        assert contact.opted_out
    await post_sms(app, "sms__start.txt")
    with db(app) as s:
        assert not s.scalars(select(Contact).where(Contact.phone == "+11234567890")).one().opted_out


async def test_sms_bad_signature_is_401_and_kept(app: Any) -> None:
    resp = await post_sms(app, "sms__text.txt", signature="bm9wZQ==")
    assert resp.status == 401 and "error" in await resp.json()
    assert count(app, RejectedPayload) == 1 and count(app, Message) == 0


async def test_telegram_lead_end_to_end_with_edit(app: Any) -> None:
    assert (await post_telegram(app, "message__text.json")).status == 200
    _lead, contact, conv, drafts = lead_for(app, "telegram")
    assert contact.name == "FirstName LastName" and conv.thread_key == "12345678" and drafts
    # an edit of a message arrives later: stored text updated, the earlier version kept
    data = json.loads(load("telegram", "edited_message.json"))
    data["edited_message"]["message_id"] = 11223
    resp = await app.post(
        "/hooks/telegram/customer",
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
    )
    assert resp.status == 200
    with db(app) as s:
        (msg,) = s.scalars(select(Message).where(Message.direction == "inbound")).all()
        assert msg.text == "hi there (edited)" and any("Hi, world!" in json.dumps(e) for e in msg.edits)
    assert (await post_telegram(app, "shipping_query.json")).status == 200  # ignored type: a no-op
    assert (await post_telegram(app, "message__text.json", secret="wrong")).status == 401


async def test_telegram_deep_link_source(app: Any) -> None:
    await post_telegram(app, "message__start_deep_link.json")
    lead, *_ = lead_for(app, "telegram")
    assert lead.source == "fb_spring_ad"


async def test_email_lead_end_to_end_and_bounce_never_answered(app: Any) -> None:
    resp = await app.post("/hooks/email", data=load("email", "message__text_only.eml"))
    assert resp.status == 200
    _lead, contact, conv, drafts = lead_for(app, "email")
    assert contact.email == "bob@marley.com" and conv.channel == "email" and drafts
    await app.post("/hooks/email", data=load("email", "bounce__multipart_report.eml"))
    with db(app) as s:
        bounce = s.scalars(select(Message).where(Message.is_auto.is_(True))).one()
        assert not s.scalars(select(Draft).where(Draft.reply_to_message_id == bounce.id)).all()


@pytest.mark.parametrize("field", ["email", "body-mime"])
async def test_email_from_an_inbound_mail_service_form_post(app: Any, field: str) -> None:
    """SendGrid Inbound Parse (raw mode) and Mailgun's MIME route post a form with the whole
    message in one field, beside fields of their own that Sheepdog does not need."""
    from aiohttp import FormData

    form = FormData()
    form.add_field("to", "hello@brightside.example")
    form.add_field("envelope", '{"to":["hello@brightside.example"],"from":"bob@marley.com"}')
    form.add_field(field, load("email", "message__text_only.eml").decode(), content_type="text/plain")
    assert (await app.post("/hooks/email", data=form)).status == 200
    _lead, contact, conv, drafts = lead_for(app, "email")
    assert contact.email == "bob@marley.com" and conv.channel == "email" and drafts
    no_mail = FormData()
    no_mail.add_field("to", "hello@brightside.example")
    no_mail.add_field("text", "hi", content_type="text/plain")  # parsed mode: not supported, said so
    resp = await app.post("/hooks/email", data=no_mail)
    assert resp.status == 400 and "body-mime" in (await resp.json())["error"]


async def test_webhook_lead_end_to_end_replay_and_merge(app: Any) -> None:
    resp = await post_webhook(app, "facebook__lead.json")
    assert resp.status == 200, await resp.text()
    lead, contact, conv, drafts = lead_for(app, "webhook")
    assert contact.email == "joe@example.com" and contact.name == "Joe Example" and lead.source == "facebook"
    assert conv.channel == "webhook" and drafts
    old = await post_webhook(app, "facebook__lead.json", ts=int(time.time()) - 600)
    assert old.status == 401
    nothing = await post_webhook(app, "facebook__leadgen_notification.json")
    assert nothing.status == 422 and count(app, RejectedPayload) == 2
    # the same person writes by email: one contact across channels
    mail = load("email", "message__text_only.eml").replace(b"bob@marley.com", b"Joe@Example.com")
    assert (await app.post("/hooks/email", data=mail)).status == 200
    assert count(app, Contact) == 1


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (
            "/hooks/twilio/sms",
            {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
        ),
        (
            "/hooks/telegram/customer",
            {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
        ),
        ("/hooks/inbound/facebook", {"Content-Type": "application/json"}),
        ("/hooks/email", {"Content-Type": "message/rfc822"}),
    ],
)
async def test_garbage_never_500_and_stored_data_survives(
    app: Any, path: str, headers: dict[str, str]
) -> None:
    await post_telegram(app, "message__text.json")
    before = count(app, Message)
    for body in (
        b"",
        b"\x00\xff" * 50,
        b"{",
        b"[1,2]",
        b'{"update_id": 1, "message": {"chat": 5}}',
        b"From: x\r\n\r\n",
    ):
        resp = await app.post(path, data=body, headers=headers)
        assert 200 <= resp.status < 500, (body, resp.status)
    assert count(app, Message) >= before
