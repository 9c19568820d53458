"""Faults as tests on this machine's real services: PostgreSQL going away while webhooks arrive
(503 with Retry-After, nothing lost once the platform sends again), the same webhook twice and
out of order, and the clock jumping forwards and backwards under the cadence. (Redis away while
200 leads arrive, a worker killed mid-send, providers answering 429/5xx and timing out are in
tests/jobs and tests/brain; docs/RELIABILITY.md lists them all.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from sheepdog.app import build_runtime, build_services
from sheepdog.handlers.inbound import receive
from sheepdog.jobs import tasks
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.db import Database
from sheepdog.storage.tables import Draft, Lead, Message, Outbox
from tests.conftest import TOKEN, fixture_bytes
from tests.jobs.test_outbox_and_cadence import Clock, lead_message
from tests.reliability.proxy import Proxy

FORM = {"Content-Type": "application/json"}


def _form(i: int) -> bytes:
    form = json.loads(fixture_bytes("loop", "webform__lead.json"))
    form.update(email=f"outage{i}@example.com", phone=f"(512) 555-01{i:02d}", name=f"Outage Person{i}")
    return json.dumps(form).encode()


async def test_postgres_down_while_webhooks_arrive_is_503_and_nothing_is_lost(
    make_settings: Any, aiohttp_client: Any, pg_url: str
) -> None:
    url = make_url(pg_url)
    proxy = Proxy(url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    Database(proxied).dispose()  # migrate through the proxy
    settings = make_settings(storage={"url": proxied})
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        assert (await client.post("/hooks/form", data=_form(0), headers=FORM)).status == 200
        proxy.stop()  # the database host goes away
        assert str(runtime.services.db.engine.url.port) == str(proxy.port)
        for i in (1, 2, 3):
            resp = await client.post("/hooks/form", data=_form(i), headers=FORM)
            assert resp.status == 503, await resp.text()
            assert int(resp.headers["Retry-After"]) > 0
        resp = await client.get("/api/leads")
        assert resp.status == 503 and "Retry-After" in resp.headers
        assert (await client.get("/readyz")).status == 503
        proxy.start()  # it comes back (same port); the platform sends each refused request again
        for i in (1, 2, 3):
            assert (await client.post("/hooks/form", data=_form(i), headers=FORM)).status == 200
        with runtime.services.db.session() as s:
            emails = [c.email for c in (lead.contact for lead in s.scalars(select(Lead)))]
            assert sorted(emails) == [f"outage{i}@example.com" for i in range(4)]  # each once, none lost
            assert s.scalar(select(func.count(Message.id)).where(Message.direction == "inbound")) == 4
            assert s.scalar(select(func.count(Draft.id))) == 4  # every lead was read and answered
    finally:
        proxy.stop()
        runtime.services.db.dispose()


async def test_the_same_update_twice_and_out_of_order(make_settings: Any, aiohttp_client: Any) -> None:
    secret = "tg-Secret_42"
    settings = make_settings(
        channels={
            "telegram": {
                "enabled": True,
                "bot_token": "1:x",
                "secret_token": secret,
                "api_base_url": "http://127.0.0.1:9",
            }
        }
    )
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app)
    first = json.loads(fixture_bytes("telegram", "message__text.json"))
    later = json.loads(json.dumps(first))
    later["update_id"] += 1
    later["message"]["message_id"] += 1
    later["message"]["date"] += 60
    later["message"]["text"] = "Also, do you do heat pumps?"
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    try:
        for update in (later, first, later, first):  # out of order, and each delivered twice
            resp = await client.post(
                "/hooks/telegram/customer", data=json.dumps(update).encode(), headers=headers
            )
            assert resp.status == 200
        with runtime.services.db.session() as s:
            texts = sorted(m.text for m in s.scalars(select(Message)))
            assert texts == sorted([first["message"]["text"], later["message"]["text"]])
            assert s.scalar(select(func.count(Lead.id))) == 1
            waiting = s.scalars(select(Draft).where(Draft.state == "pending")).all()
            assert len(waiting) <= 1  # one answer waits per lead, never one per delivery
    finally:
        runtime.services.db.dispose()


def test_a_clock_jump_sends_no_touch_twice_and_no_burst(make_settings: Any, smtp: Any) -> None:
    recorder, _ = smtp
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 10:00 in Chicago
    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    svc.queue.start()
    clock = Clock(start)
    svc.clock = clock
    try:
        msg = lead_message()
        msg.received_at = start
        receive(svc, msg)
        svc.queue.wait_idle()
        assert len(recorder.messages) == 1
        clock.at = start + timedelta(days=30)  # the host slept a month (or NTP jumped)
        sent = sum(tasks.cadence_tick(svc) for _ in range(5))
        assert sent <= 1  # one touch for the jump, not every step at once
        svc.queue.wait_idle()
        after_jump = len(recorder.messages)
        clock.at = start + timedelta(hours=1)  # and back
        assert sum(tasks.cadence_tick(svc) for _ in range(3)) == 0
        svc.queue.wait_idle()
        assert len(recorder.messages) == after_jump
        with svc.db.session() as s:
            bodies = [o.body for o in s.scalars(select(Outbox))]
            assert len(bodies) == len(set(bodies))  # nothing sent twice
            assert s.scalar(select(func.count(Outbox.id)).where(Outbox.state == "sent")) == after_jump
    finally:
        svc.queue.stop()
        svc.db.dispose()
