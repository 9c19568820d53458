"""The whole loop in the embedded default: web-form lead → brief and draft → approve in the
console → exactly one well-formed email over real SMTP → the lead replies → same thread, cadence stops."""

from __future__ import annotations

import asyncio
import json
from email.utils import parseaddr
from typing import Any

from sqlalchemy import func, select

from sheepdog.app import Runtime
from sheepdog.storage.tables import Contact, Conversation, Lead, Message, Outbox
from tests.conftest import fixture_bytes


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_webform_lead_to_email_and_back(make_settings: Any, smtp: Any, aiohttp_client: Any) -> None:
    from sheepdog.app import build_runtime, build_services
    from sheepdog.jobs.queue import InProcessQueue

    recorder, _ = smtp
    settings = make_settings(policy={"first_reply": {"autonomy": "L3"}})  # every message waits for approval
    runtime: Runtime = build_runtime(
        settings, services=build_services(settings, queue=InProcessQueue(periodic=False))
    )
    client = await aiohttp_client(runtime.app, headers={"Authorization": "Bearer test-console-token"})

    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200, await resp.text()

    leads = (await (await client.get("/api/leads")).json())["leads"]
    assert len(leads) == 1
    lead = leads[0]
    assert lead["name"] == "Jordan Ellis" and lead["stage"] == "new" and lead["grade"] in "ABCD"
    thread = await (await client.get(f"/api/leads/{lead['id']}")).json()
    kinds = [c["kind"] for c in thread["cards"]]
    assert kinds[0] == "brief" and "inbound" in kinds and "draft" in kinds
    brief = thread["cards"][0]
    assert 1 <= brief["extra"]["score"] <= 100 and brief["text"]
    draft = next(c for c in thread["cards"] if c["kind"] == "draft")
    assert draft["status"].startswith("Waiting for approval")
    assert [b["action"] for b in draft["buttons"]] == ["approve", "edit", "pause", "skip"]
    assert "Jordan" in draft["text"]
    assert recorder.messages == []  # nothing goes out before approval at L3

    resp = await client.post(f"/api/drafts/{draft['extra']['draft_id']}/approve", json={"actor": "Dana"})
    assert resp.status == 200, await resp.text()
    await wait_for(lambda: len(recorder.messages) == 1)
    # A double click is refused and sends nothing more.
    again = await client.post(f"/api/drafts/{draft['extra']['draft_id']}/approve", json={"actor": "Dana"})
    assert again.status == 409
    runtime.services.queue.wait_idle()
    await asyncio.sleep(0.3)
    assert len(recorder.messages) == 1

    sent = recorder.messages[0]
    assert parseaddr(str(sent["To"]))[1] == "jordan.ellis@example.com"
    assert parseaddr(str(sent["From"]))[1] == "hello@brightside.example"
    assert (
        sent["Message-ID"]
        and str(sent["Message-ID"]).startswith("<")
        and "@brightside.example>" in str(sent["Message-ID"])
    )
    assert sent["Date"] and sent["Subject"]
    plain = sent.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert plain.startswith(draft["text"].strip() + "\n\n")
    signature = "Dana\nBrightside Heating & Cooling"  # business.signature of the demo config
    assert plain.count(signature) == 1  # the owner's signature, once

    thread = await (await client.get(f"/api/leads/{lead['id']}")).json()
    card = next(c for c in thread["cards"] if c["key"] == draft["key"])
    assert card["status"].startswith("Approved by Dana · sent ") and card["status"].endswith(" by email")
    assert card["buttons"] == []

    reply = (
        fixture_bytes("loop", "email__reply_template.eml")
        .decode()
        .format(subject=str(sent["Subject"]).removeprefix("Re: "), in_reply_to=str(sent["Message-ID"]))
        .encode()
    )
    resp = await client.post("/hooks/email", data=reply, headers={"Content-Type": "message/rfc822"})
    assert resp.status == 200, await resp.text()

    with runtime.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
        assert s.scalar(select(func.count()).select_from(Contact)) == 1
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1
        stored = s.scalars(select(Message).order_by(Message.id)).all()
        assert [m.direction for m in stored] == ["inbound", "outbound", "inbound"]
        assert len({m.conversation_id for m in stored}) == 1
        assert stored[2].triage_text and "On Tue" not in stored[2].triage_text  # quoted history stripped
        assert stored[2].raw == reply
        row = s.scalars(select(Lead)).one()
        assert row.cadence_state == "stopped" and row.cadence_stop_reason == "the lead replied"
        assert row.stage == "contacted" and row.first_response_at is not None
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.state == "sent")) == 1
    await client.close()
    runtime.services.db.dispose()


async def test_form_post_from_a_browser_gets_a_thank_you_page(client: Any, runtime: Runtime) -> None:
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.form").strip(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    assert resp.status == 200
    assert "Thank you" in await resp.text()
    page = await client.get("/form")
    assert 'action="/hooks/form"' in await page.text()
    with runtime.services.db.session() as s:
        contact = s.scalars(select(Contact)).one()
        assert contact.email == "jordan.ellis@example.com" and contact.phone == "+15125550199"


async def test_default_L4_answers_a_new_inquiry_on_its_own(client: Any, runtime: Runtime, smtp: Any) -> None:
    recorder, _ = smtp
    payload = json.loads(fixture_bytes("loop", "webform__lead.json"))
    resp = await client.post("/hooks/form", json=payload)
    assert resp.status == 200
    await wait_for(lambda: len(recorder.messages) == 1)
    leads = (await (await client.get("/api/leads")).json())["leads"]
    thread = await (await client.get(f"/api/leads/{leads[0]['id']}")).json()
    draft = next(c for c in thread["cards"] if c["kind"] == "draft")
    await wait_for(lambda: True)
    runtime.services.queue.wait_idle()
    thread = await (await client.get(f"/api/leads/{leads[0]['id']}")).json()
    draft = next(c for c in thread["cards"] if c["kind"] == "draft")
    assert draft["status"].startswith("Sent automatically (L4) · sent ")
