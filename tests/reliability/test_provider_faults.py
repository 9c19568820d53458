"""Providers answering 429, 500 and timing out, through the whole send path: a team reply is
queued, `send_outbox` runs in the in-process queue and the real SDK (python-telegram-bot, twilio)
talks to a local Bot API / Twilio REST server. A 429 (retry_after / Retry-After) and a 500 are
retried and the customer gets the message exactly once; a timeout after the server took the
request is shown as "may not have gone out — check" and never resent on its own (neither
sendMessage nor Messages.json takes an idempotency key)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import web
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from sheepdog.app import build_services
from sheepdog.channels.sms_twilio import TwilioSmsParser
from sheepdog.channels.telegram_customer import TelegramCustomerParser
from sheepdog.handlers import actions
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Event, Lead, Outbox
from tests.channels.helpers import load, raw

TG_TOKEN, TG_SECRET = "123456:test-token", "tg-secret"
TW_SID, TW_TOKEN, SMS_URL = "AC" + "0" * 32, "tw-token", "https://bot.example.com/hooks/twilio/sms"
REPLY = "Thanks, we can come Tuesday at 9."


@dataclass
class Provider:
    """One fake provider: every send it received, and the answers to give first."""

    sends: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    hang_s: float = 0.0  # keep the request (already recorded) this long before answering
    delivered: list[str] = field(default_factory=list)  # texts that reached the customer


@pytest.fixture
async def providers(aiohttp_server: Any) -> AsyncIterator[tuple[Provider, Provider, str]]:
    tg, tw = Provider(), Provider()

    async def answer(p: Provider, ok: web.Response, text: str) -> web.Response:
        if p.answers:
            status, body, headers = p.answers.pop(0)
            return web.json_response(body, status=status, headers=headers)
        p.delivered.append(text)  # an ok answer means the provider sent it on
        if p.hang_s:
            await asyncio.sleep(p.hang_s)  # it went out; only the answer is late
        return ok

    async def bot_api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = (
            await request.json() if request.content_type == "application/json" else dict(await request.post())
        )
        if method == "getMe":
            return web.json_response(
                {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "B", "username": "b_bot"}}
            )
        tg.sends.append(params)
        chat = {"id": int(params["chat_id"]), "type": "private", "first_name": "Pat"}
        msg = {"message_id": 900 + len(tg.sends), "date": 1700000000, "chat": chat, "text": params["text"]}
        return await answer(tg, web.json_response({"ok": True, "result": msg}), params["text"])

    async def twilio(request: web.Request) -> web.Response:
        form = dict(await request.post())
        tw.sends.append(form)
        sid = f"SM{len(tw.sends):032d}"
        ok = web.json_response(
            {"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]}, status=201
        )
        return await answer(tw, ok, str(form["Body"]))

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", bot_api)
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", twilio)
    server = await aiohttp_server(app)
    yield tg, tw, str(server.make_url("")).rstrip("/")


def _services(make_settings: Any, base: str, storage_url: str | None) -> Any:
    overrides: dict[str, Any] = {
        "policy": {"first_reply": {"autonomy": "L3"}},  # only the team's reply goes out
        "channels": {
            "sms": {
                "enabled": True,
                "account_sid": TW_SID,
                "auth_token": TW_TOKEN,
                "from_number": "+15125550100",
                "api_base_url": base,
                "timeout_s": 0.5,
            },
            "telegram": {
                "enabled": True,
                "bot_token": TG_TOKEN,
                "secret_token": TG_SECRET,
                "api_base_url": base,
                "send_timeout_s": 0.5,
            },
        },
    }
    if storage_url:
        overrides["storage"] = {"url": storage_url}
    svc = build_services(make_settings(**overrides), queue=InProcessQueue(periodic=False))
    svc.queue.start()
    return svc


def _lead(svc: Any, channel: str) -> int:
    if channel == "telegram":
        req = raw(
            load("telegram", "message__text.json"), headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        )
        msg = TelegramCustomerParser(TG_SECRET).parse(req)[0]
    else:
        body = load("twilio", "sms__text.txt")
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        sig = RequestValidator(TW_TOKEN).compute_signature(SMS_URL, params)
        req = raw(
            urlencode(params).encode(),
            url=SMS_URL,
            headers={"X-Twilio-Signature": sig},
            content_type="application/x-www-form-urlencoded",
        )
        msg = TwilioSmsParser(TW_TOKEN, "Brightside: reply STOP to opt out.").parse(req)[0]
    return receive(svc, msg).lead_id


def _settled(svc: Any, outbox_id: int) -> Outbox | None:
    with svc.db.session() as s:
        row = s.get(Outbox, outbox_id)
        s.expunge(row)
        return row if row.state in ("sent", "uncertain", "failed") else None


async def _reply_and_settle(svc: Any, lead_id: int) -> Outbox:
    """Queue a team reply and wait (on the row's state, then the queue's idleness) until it settles."""
    result = await asyncio.to_thread(actions.reply, svc, lead_id, "owner", REPLY)
    assert result.ok, result.message
    deadline = time.monotonic() + 20
    row = None
    while row is None and time.monotonic() < deadline:
        row = await asyncio.to_thread(_settled, svc, result.ref)
        if row is None:
            await asyncio.sleep(0.05)
    assert row is not None, "the reply never settled"
    assert await asyncio.to_thread(svc.queue.wait_idle, 15)
    row = await asyncio.to_thread(_settled, svc, result.ref)  # nothing moved it after the queue went idle
    assert row is not None
    return row


def _events(svc: Any, lead_id: int) -> list[dict[str, Any]]:
    with svc.db.session() as s:
        return [
            {"kind": e.kind, **(e.data or {})}
            for e in s.scalars(select(Event).where(Event.lead_id == lead_id).order_by(Event.id))
        ]


TG_429 = (
    429,
    {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    },
    {},
)
TG_500 = (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}, {})
TW_429 = (429, {"code": 20429, "message": "Too Many Requests", "status": 429}, {"Retry-After": "1"})
TW_500 = (500, {"code": 20500, "message": "Internal Server Error", "status": 500}, {})


@pytest.mark.parametrize(
    ("channel", "fault", "storage"),
    [
        ("telegram", TG_429, "sqlite"),
        ("telegram", TG_429, "postgresql"),
        ("sms", TW_429, "sqlite"),
        ("sms", TW_429, "postgresql"),
        ("telegram", TG_500, "sqlite"),
        ("sms", TW_500, "sqlite"),
    ],
    ids=["telegram-429-sqlite", "telegram-429-pg", "sms-429-sqlite", "sms-429-pg", "telegram-500", "sms-500"],
)
async def test_a_429_or_500_is_retried_and_sent_exactly_once(
    providers: tuple[Provider, Provider, str],
    make_settings: Any,
    request: Any,
    channel: str,
    fault: Any,
    storage: str,
) -> None:
    tg, tw, base = providers
    svc = _services(
        make_settings, base, request.getfixturevalue("pg_url") if storage == "postgresql" else None
    )
    try:
        provider = tg if channel == "telegram" else tw
        lead_id = await asyncio.to_thread(_lead, svc, channel)
        provider.answers.append(fault)
        row = await _reply_and_settle(svc, lead_id)
        assert row.state == "sent" and row.attempts == 2, (row.state, row.attempts, row.last_error)
        assert len(provider.sends) == 2  # refused once, then accepted
        assert provider.delivered == [REPLY]  # the customer got it exactly once
        events = await asyncio.to_thread(_events, svc, lead_id)
        retries = [e for e in events if e["kind"] == "send_retry"]
        assert len(retries) == 1 and [e["kind"] for e in events].count("sent") == 1
        if fault[0] == 429:  # the provider's own wait was honoured, not our backoff
            assert float(retries[0]["delay_s"]) == 1.0
    finally:
        await asyncio.to_thread(svc.queue.stop)
        svc.db.dispose()


@pytest.mark.parametrize("channel", ["telegram", "sms"])
async def test_a_timeout_after_the_provider_took_it_is_uncertain_never_resent(
    providers: tuple[Provider, Provider, str], make_settings: Any, channel: str
) -> None:
    tg, tw, base = providers
    svc = _services(make_settings, base, None)
    try:
        provider = tg if channel == "telegram" else tw
        lead_id = await asyncio.to_thread(_lead, svc, channel)
        provider.hang_s = 1.5  # past the 0.5 s send timeout
        row = await _reply_and_settle(svc, lead_id)
        assert row.state == "uncertain" and row.attempts == 1, (row.state, row.last_error)
        assert len(provider.sends) == 1 and provider.delivered == [REPLY]  # never sent a second time
        with svc.db.session() as s:
            assert s.get(Lead, lead_id).needs_attention.startswith("may not have gone out")
        kinds = [e["kind"] for e in await asyncio.to_thread(_events, svc, lead_id)]
        assert "send_uncertain" in kinds and "send_retry" not in kinds and "sent" not in kinds
    finally:
        await asyncio.to_thread(svc.queue.stop)
        svc.db.dispose()
