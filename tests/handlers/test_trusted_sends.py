"""Sends the owner can trust (issue 13), each through the real HTTP endpoints and local servers:
holding replies and Twilio status callbacks (a local Twilio), refund and confirm with and without
a refund webhook, autonomy changed by the owner from chat, one-click unsubscribe (RFC 8058), STOP
while a touch and an approved draft are queued, and a send whose server answered too late."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.channels.webform import WebformParser
from sheepdog.domain.models import RawRequest
from sheepdog.handlers import actions
from sheepdog.handlers.inbound import receive
from sheepdog.handlers.refunds import sign
from sheepdog.jobs import tasks
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Contact, Draft, Event, Lead, Outbox, Refund
from tests.channels.helpers import load
from tests.conftest import TOKEN, SmtpRecorder, fixture_bytes, free_port

TW_TOKEN, PUBLIC = "tw-token", "http://127.0.0.1:8080"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def form(message: str, email: str = "jordan.ellis@example.com") -> bytes:
    """The stored web-form lead with the customer's words changed."""
    data = json.loads(fixture_bytes("loop", "webform__lead.json"))
    data["message"], data["email"] = message, email
    return json.dumps(data).encode()


def events(runtime: Runtime, kind: str) -> list[Event]:
    with runtime.services.db.session() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind)))


async def idle(runtime: Runtime) -> None:
    assert await asyncio.to_thread(runtime.services.queue.wait_idle, 30.0)


# -- a local Twilio ----------------------------------------------------------------------------


@dataclass
class Twilio:
    sent: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
async def twilio(aiohttp_server: Any) -> AsyncIterator[tuple[Twilio, str]]:
    state = Twilio()

    async def messages(request: web.Request) -> web.Response:
        posted = {k: str(v) for k, v in (await request.post()).items()}
        state.sent.append(posted)
        sid = f"SM{len(state.sent):032d}"
        return web.json_response(
            {"sid": sid, "status": "queued", "to": posted["To"], "body": posted["Body"]}, status=201
        )

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    server = await aiohttp_server(app)
    yield state, str(server.make_url(""))


@pytest.fixture
async def sms_app(make_settings: Any, aiohttp_client: Any, twilio: tuple[Twilio, str]) -> AsyncIterator[Any]:
    settings = make_settings(
        channels={
            "sms": {
                "enabled": True,
                "account_sid": "AC" + "0" * 32,
                "auth_token": TW_TOKEN,
                "from_number": "+15125550100",
                "api_base_url": twilio[1],
            }
        }
    )
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers=AUTH)
    client.runtime = runtime
    yield client
    runtime.services.db.dispose()


async def post_signed(client: Any, path: str, body: bytes, **fields: str) -> Any:
    params = dict(parse_qsl(body.decode(), keep_blank_values=True)) | fields
    data = urlencode(params)
    signature = RequestValidator(TW_TOKEN).compute_signature(PUBLIC + path, params)
    return await client.post(
        path,
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )


async def test_a_pricing_question_gets_one_holding_reply_and_delivery_reports_reach_the_card(
    sms_app: Any, twilio: tuple[Twilio, str]
) -> None:
    state, _ = twilio
    runtime = sms_app.runtime
    resp = await post_signed(
        sms_app, "/hooks/twilio/sms", load("twilio", "sms__text.txt"), Body="How much does a heat pump cost?"
    )
    assert resp.status == 200
    await idle(runtime)
    assert len(state.sent) == 1, state.sent  # the holding reply, on its own
    holding = state.sent[0]
    assert "will get back to you personally" in holding["Body"] and "Dana" in holding["Body"]
    assert holding["To"] == "+11234567890" and holding["StatusCallback"] == PUBLIC + "/hooks/twilio/status"
    with runtime.services.db.session() as s:
        lead = s.scalar(select(Lead))
        draft = s.scalar(select(Draft).where(Draft.lead_id == lead.id))
        assert draft.state == "pending" and lead.needs_attention.startswith("pricing question")
        lead_id = lead.id
    # a second message while the first holding reply is unanswered: no second holding reply
    await post_signed(
        sms_app,
        "/hooks/twilio/sms",
        load("twilio", "sms__text.txt"),
        Body="And what would a tune-up cost?",
        MessageSid="SM" + "9" * 32,
    )
    await idle(runtime)
    assert len(state.sent) == 1

    sid = "SM" + "1".zfill(32)
    for name in (
        "status__sent.txt",
        "status__undelivered_30003.txt",
        "status__sent.txt",
    ):  # a late "sent" too
        body = load("twilio", name).replace(b"SID", sid.encode())
        resp = await post_signed(sms_app, "/hooks/twilio/status", body)
        assert resp.status == 200 and (await resp.json())["matched"] is True
    with runtime.services.db.session() as s:
        row = s.scalar(select(Outbox).where(Outbox.provider_message_id == sid))
        assert row.delivery_status == "undelivered"
        assert (
            s.get(Lead, lead_id).needs_attention
            == "SMS not delivered: the phone is switched off or out of reach"
        )
    assert [e.data["status"] for e in events(runtime, "delivery_status")] == ["sent", "undelivered"]
    card = await (await sms_app.get(f"/api/leads/{lead_id}")).json()
    assert "SMS not delivered" in json.dumps(card)
    # a forged report is refused (401) and kept
    forged = await sms_app.post(
        "/hooks/twilio/status",
        data=load("twilio", "status__delivered.txt"),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "bm9wZQ=="},
    )
    assert forged.status == 401


# -- refunds -------------------------------------------------------------------------------------


REFUND = "The technician never showed up on Tuesday. Please refund my $40 deposit for order 1234."


async def refund_lead(client: Any, runtime: Runtime) -> int:
    resp = await client.post("/hooks/form", data=form(REFUND), headers={"Content-Type": "application/json"})
    assert resp.status == 200
    await idle(runtime)
    with runtime.services.db.session() as s:
        return int(s.scalar(select(Lead.id)))


@pytest.mark.parametrize("webhook", [False, True], ids=["refund-to-do", "signed-webhook"])
async def test_refund_and_confirm(
    make_settings: Any, smtp: Any, aiohttp_client: Any, aiohttp_server: Any, webhook: bool
) -> None:
    recorder, _ = smtp
    received: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.json_response({"ok": True})

    extra: dict[str, Any] = {}
    if webhook:
        app = web.Application()
        app.router.add_post("/refunds", hook)
        server = await aiohttp_server(app)
        extra = {
            "business": {
                "refund_webhook_url": str(server.make_url("/refunds")),
                "refund_webhook_secret": "s3cret",
            }
        }
    settings = make_settings(**extra)
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers=AUTH)
    lead_id = await refund_lead(client, runtime)
    card = await (await client.get(f"/api/leads/{lead_id}")).json()
    assert "Refund $40 and confirm" in json.dumps(card)
    before = len(recorder.messages)

    resp = await client.post(f"/api/leads/{lead_id}/refund", json={"actor": "Dana"})
    assert resp.status == 200, await resp.text()
    await idle(runtime)
    again = await (await client.post(f"/api/leads/{lead_id}/refund", json={"actor": "Ali"})).json()
    assert again["ok"] is False and "already refunded by Dana" in again["message"]
    await idle(runtime)
    mails = recorder.messages[before:]
    assert len(mails) == 1, [m["Subject"] for m in mails]  # the confirmation, once
    text = mails[0].get_body(preferencelist=("plain",)).get_content()
    with runtime.services.db.session() as s:
        refund = s.scalar(select(Refund))
        lead = s.get(Lead, lead_id)
        assert (refund.amount, refund.currency, refund.actor) == (40, "USD", "Dana")
        if webhook:
            assert refund.state == "processed" and "I've refunded $40" in text
            assert not (lead.needs_attention or "").startswith("refund to do")
        else:
            assert refund.state == "to_do" and "approved a refund of $40" in text
            assert lead.needs_attention.startswith("refund to do: pay back $40")
    if webhook:
        assert len(received) == 1
        body, headers = received[0]
        payload = json.loads(body)
        assert payload["amount"] == "40" and payload["currency"] == "USD" and payload["order_ref"]
        t = headers["X-Sheepdog-Signature"].split(",")[0].removeprefix("t=")
        assert headers["X-Sheepdog-Signature"] == sign("s3cret", body, int(t))
        assert headers["Idempotency-Key"] == payload["idempotency_key"]
    runtime.services.db.dispose()


async def test_a_refund_above_the_threshold_carries_the_customers_history(
    client: Any, runtime: Runtime
) -> None:
    big = "You charged me twice. I want a refund of $400 for the repair, order 88."
    await client.post(
        "/hooks/form", data=form("Do you install heat pumps?"), headers={"Content-Type": "application/json"}
    )
    await client.post("/hooks/form", data=form(big), headers={"Content-Type": "application/json"})
    await idle(runtime)
    with runtime.services.db.session() as s:
        lead_id = s.scalars(select(Lead.id).order_by(Lead.id.desc())).first()
    card = json.dumps(await (await client.get(f"/api/leads/{lead_id}")).json())
    assert "Refund $400" not in card
    # the same person's form posts thread onto one lead: its history counts both messages
    assert '["History", "0 earlier leads; 2 messages from them; no refunds before"]' in card


# -- autonomy from chat --------------------------------------------------------------------------


async def test_the_owner_changes_autonomy_from_the_console(client: Any, runtime: Runtime, smtp: Any) -> None:
    recorder, _ = smtp
    resp = await client.post("/api/command", json={"text": "autonomy first_reply L3", "actor": "Dana"})
    assert resp.status == 200
    assert "first reply L4 → L3" in (await resp.json())["text"]
    policy = (await (await client.post("/api/command", json={"text": "policy"})).json())["text"]
    assert "first reply: L3 (set by Dana in chat" in policy
    await client.post(
        "/hooks/form", data=form("Do you install heat pumps?"), headers={"Content-Type": "application/json"}
    )
    await idle(runtime)
    assert recorder.messages == []  # L3: the first reply waits for approval
    with runtime.services.db.session() as s:
        lead_id = s.scalar(select(Lead.id))
        assert s.scalar(select(Draft.state)) == "pending"
    card = json.dumps(await (await client.get(f"/api/leads/{lead_id}")).json())
    assert '["Autonomy", "L3 (set by Dana in chat)"]' in card
    [changed] = events(runtime, "autonomy_changed")
    assert (changed.actor, changed.data) == (
        "Dana",
        {"workflow": "first_reply", "level": "L3", "before": "L4"},
    )
    bad = await client.post("/api/command", json={"text": "autonomy first_reply L9"})
    assert bad.status == 400 and "L3, L4 or L5" in (await bad.json())["error"]


# -- email: multipart, Reply-To, signature once, one-click unsubscribe ----------------------------


async def test_email_is_multipart_with_reply_to_and_one_click_unsubscribe(
    client: Any, runtime: Runtime, smtp: Any
) -> None:
    recorder, _ = smtp
    await client.post(
        "/hooks/form", data=form("Do you install heat pumps?"), headers={"Content-Type": "application/json"}
    )
    await idle(runtime)
    [mail] = recorder.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Reply-To"].addresses[0].addr_spec == runtime.services.business.email
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(mail["List-Unsubscribe"]).strip("<>")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    signature = runtime.services.business.signature.splitlines()[0]
    assert text.count("Brightside Heating & Cooling\n") <= 1 and signature in text
    assert link in text and f'href="{link}"' in html.replace("&amp;", "&")
    path = urlsplit(link).path

    page = await client.get(path)  # following the link (a mail scanner does) changes nothing
    assert page.status == 200 and "<form" in await page.text()
    with runtime.services.db.session() as s:
        assert s.scalar(select(Contact.opted_out)) is False
    tampered = await client.post(
        path[:-1] + ("0" if path[-1] != "0" else "1"), data="List-Unsubscribe=One-Click"
    )
    assert tampered.status == 403
    done = await client.post(
        path, data="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert done.status == 200 and "unsubscribed" in (await done.text())
    with runtime.services.db.session() as s:
        contact = s.scalar(select(Contact))
        assert contact.opted_out and contact.opted_out_channels == ["email"]
    [event] = events(runtime, "opted_out")
    assert event.data["via"] == "unsubscribe link"


# -- STOP while a touch and an approved draft are queued ------------------------------------------


def test_stop_while_a_touch_and_an_approved_draft_are_queued_sends_neither(
    make_settings: Any, smtp: Any
) -> None:
    recorder, _ = smtp
    svc = build_services(
        make_settings(policy={"first_reply": {"autonomy": "L3"}, "support": {"autonomy": "L3"}}),
        queue=InProcessQueue(periodic=False),
    )  # the queue is not started: everything queued stays queued until STOP has arrived
    afternoon = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 14:00 in Austin: no quiet hours
    svc.clock = lambda: afternoon
    parser = WebformParser()
    lead = receive(
        svc,
        parser.parse(
            RawRequest(
                "POST",
                "http://x/hooks/form",
                {},
                form("Do you install heat pumps?"),
                content_type="application/json",
            )
        )[0],
    )
    assert actions.approve(svc, lead.draft_id, "Dana").ok
    with svc.db.session() as s:  # the follow-up is due now
        row = s.get(Lead, lead.lead_id)
        row.cadence_state, row.cadence_step = "active", 1
        row.cadence_started_at = svc.now() - timedelta(days=2)
        row.cadence_next_at = svc.now() - timedelta(minutes=1)
    assert tasks.cadence_tick(svc) == 1  # the tick queues the touch; the touch job writes it
    assert tasks.cadence_touch(svc, lead.lead_id, 1) == "written"  # its send waits in the queue
    with svc.db.session() as s:
        assert [o.state for o in s.scalars(select(Outbox))] == ["queued", "queued"]
    stop = parser.parse(
        RawRequest(
            "POST",
            "http://x/hooks/form",
            {},
            form("STOP. Please stop emailing me."),
            content_type="application/json",
        )
    )[0]
    receive(svc, stop)
    svc.queue.start()
    with svc.db.session() as s:
        ids = list(s.scalars(select(Outbox.id)))
    for outbox_id in ids:  # even a send job that was already on its way finds the opt-out
        tasks.send_outbox(svc, outbox_id)
    assert svc.queue.wait_idle(timeout=15)
    assert recorder.messages == []
    with svc.db.session() as s:
        assert {o.state for o in s.scalars(select(Outbox))} == {"cancelled"}
    svc.queue.stop()
    svc.db.dispose()


# -- a send whose server answered after the timeout: never sent again blindly ---------------------


class LateSmtp(SmtpRecorder):
    """Stores the message, then answers after the client has given up (issue 18's server)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(2.5)
        return answer


def test_a_send_the_server_took_but_answered_too_late_is_flagged_not_resent(make_settings: Any) -> None:
    recorder = LateSmtp()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        svc = build_services(
            make_settings(channels={"email": {"smtp": {"host": "127.0.0.1", "port": port, "timeout_s": 1}}}),
            queue=InProcessQueue(periodic=False),
        )
        svc.queue.start()
        result = receive(
            svc,
            WebformParser().parse(
                RawRequest(
                    "POST",
                    "http://x/hooks/form",
                    {},
                    form("Do you install heat pumps?"),
                    content_type="application/json",
                )
            )[0],
        )
        assert svc.queue.wait_idle(timeout=20)
        svc.clock = lambda: (
            __import__("datetime").datetime.now(__import__("datetime").UTC) + timedelta(hours=1)
        )
        tasks.requeue_outbox(svc)  # the sweeps run: nothing is sent again
        assert svc.queue.wait_idle(timeout=20)
        assert len(recorder.messages) == 1
        with svc.db.session() as s:
            row = s.scalar(select(Outbox))
            lead = s.get(Lead, result.lead_id)
            assert row.state == "uncertain"
            assert lead.needs_attention.startswith("may not have gone out — check")
        svc.queue.stop()
        svc.db.dispose()
    finally:
        controller.stop()
