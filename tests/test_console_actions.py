"""Every team action through the console's HTTP API, as a surface uses it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from sheepdog.app import Runtime, build_runtime
from sheepdog.storage.tables import Event, Lead, Message, VoiceExample
from tests.conftest import TOKEN, fixture_bytes


async def _lead(client: Any) -> dict[str, Any]:
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    leads = (await (await client.get("/api/leads")).json())["leads"]
    return await (await client.get(f"/api/leads/{leads[0]['id']}")).json()


async def _settle(runtime: Runtime) -> None:
    await asyncio.to_thread(runtime.services.queue.wait_idle)


@pytest.fixture
async def l3(make_settings: Any, aiohttp_client: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    """The app at L3 (every message waits), with a logged-in console client."""
    runtime = build_runtime(make_settings(policy={"first_reply": {"autonomy": "L3"}}))
    client = await aiohttp_client(runtime.app, headers={"Authorization": "Bearer test-console-token"})
    yield runtime, client
    runtime.services.db.dispose()


async def test_reply_goes_out_and_a_note_never_does(l3: tuple[Runtime, Any], smtp: Any) -> None:
    runtime, client = l3
    recorder, _ = smtp
    thread = await _lead(client)
    lead_id = thread["lead"]["id"]

    note = await client.post(
        f"/api/leads/{lead_id}/note", json={"text": "Called, left voicemail", "actor": "Ali"}
    )
    assert note.status == 200
    reply = await client.post(
        f"/api/leads/{lead_id}/reply", json={"text": "Hi Jordan, Dana here.", "actor": "Dana"}
    )
    assert reply.status == 200
    await _settle(runtime)
    assert len(recorder.messages) == 1
    sent = recorder.messages[0]
    # a member's own words, unsigned, then the unsubscribe line of every email
    assert (
        sent.get_body(preferencelist=("plain",))
        .get_content()
        .replace("\r\n", "\n")
        .startswith("Hi Jordan, Dana here.\n\n--\nUnsubscribe: ")
    )
    assert "Called" not in sent.as_string()

    thread = await (await client.get(f"/api/leads/{lead_id}")).json()
    kinds = [c["kind"] for c in thread["cards"]]
    assert "note" in kinds and "outbound" in kinds
    note_card = next(c for c in thread["cards"] if c["kind"] == "note")
    assert note_card["status"] == "not sent to the customer" and "Ali" in note_card["title"]
    empty = await client.post(f"/api/leads/{lead_id}/reply", json={"text": "   "})
    assert empty.status == 400 and "empty" in (await empty.json())["error"]


async def test_edit_sends_the_new_text_and_learns_the_voice(l3: tuple[Runtime, Any], smtp: Any) -> None:
    runtime, client = l3
    recorder, _ = smtp
    thread = await _lead(client)
    draft = next(c for c in thread["cards"] if c["kind"] == "draft")
    text = "Hey Jordan! Yes, we install heat pumps all over south Austin. Whole house? Grab a slot: https://brightside.example/book"
    resp = await client.post(
        f"/api/drafts/{draft['extra']['draft_id']}/edit", json={"text": text, "actor": "Dana"}
    )
    assert resp.status == 200
    await _settle(runtime)
    sent = [
        m.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n") for m in recorder.messages
    ]
    assert len(sent) == 1 and sent[0].startswith(text + "\n\nDana\nBrightside")  # with the owner's signature
    with runtime.services.db.session() as s:
        assert [v.text for v in s.scalars(select(VoiceExample))] == [text]
    thread = await (await client.get(f"/api/leads/{thread['lead']['id']}")).json()
    card = next(c for c in thread["cards"] if c["key"] == draft["key"])
    assert card["status"].startswith("Edited and approved by Dana · sent ")


async def test_claim_stage_pause_resume_and_outcomes(client: Any, runtime: Runtime) -> None:
    thread = await _lead(client)
    lead_id = thread["lead"]["id"]
    post = client.post

    assert (await post(f"/api/leads/{lead_id}/claim", json={"actor": "Ali"})).status == 200
    assert (await post(f"/api/leads/{lead_id}/claim", json={"actor": "Ali"})).status == 409
    assert (await post(f"/api/leads/{lead_id}/pause", json={})).status == 200
    assert (await post(f"/api/leads/{lead_id}/resume", json={})).status == 200
    assert (await post(f"/api/leads/{lead_id}/stage", json={"stage": "nonsense"})).status == 400
    assert (await post(f"/api/leads/{lead_id}/stage", json={"stage": "quoted"})).status == 200
    assert (await post(f"/api/leads/{lead_id}/won", json={"amount": "$4,500"})).status == 200
    brief = (await (await client.get(f"/api/leads/{lead_id}")).json())["cards"][0]
    fields = dict(brief["fields"])
    assert fields["Owner"] == "Ali" and fields["Stage"] == "won"
    assert fields["Cadence"].startswith("review request, next touch ")  # won starts the review request
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert str(lead.outcome_value) == "4500.00" and lead.outcome_currency == "USD"
    assert (await post("/api/leads/999/claim", json={})).status == 404
    assert (await post(f"/api/leads/{lead_id}/explode", json={})).status == 404
    assert (await post(f"/api/leads/{lead_id}/claim", data=b"{nope")).status == 400


async def test_a_triage_correction_is_learned(client: Any, runtime: Runtime) -> None:
    thread = await _lead(client)
    inbound = next(c for c in thread["cards"] if c["kind"] == "inbound")
    message_id = inbound["extra"]["message_id"]
    resp = await client.post(f"/api/messages/{message_id}/triage", json={"category": "booking"})
    assert resp.status == 200
    with runtime.services.db.session() as s:
        text = s.get(Message, message_id).triage_text or s.get(Message, message_id).text
    assert runtime.services.brain.triage(text, runtime.services.business).category.value == "booking"
    bad = await client.post(f"/api/messages/{message_id}/triage", json={"category": "vibes"})
    assert bad.status == 400


async def test_a_cookie_alone_cannot_act_from_another_page(
    client: Any, runtime: Runtime, aiohttp_client: Any
) -> None:
    """CSRF: the browser sends the cookie with any request; only the console's own JSON calls may act."""
    thread = await _lead(client)
    lead_id = thread["lead"]["id"]
    browser = await aiohttp_client(runtime.app)
    await browser.get(f"/?token={TOKEN}", allow_redirects=False)  # logged in: the cookie is set
    url = f"/api/leads/{lead_id}/note"
    form = await browser.post(url, data='{"text": "x"}', headers={"Content-Type": "text/plain"})
    assert form.status == 403
    evil = await browser.post(url, json={"text": "x"}, headers={"Origin": "http://127.0.0.1:9999"})
    assert evil.status == 403
    cross = await browser.post(url, json={"text": "x"}, headers={"Sec-Fetch-Site": "same-site"})
    assert cross.status == 403
    ours = await browser.post(
        url, json={"text": "from the console"}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert ours.status == 200


async def test_odd_ids_and_stream_positions_are_4xx(client: Any) -> None:
    assert (await client.get("/api/leads/99999999999999999999999")).status == 404
    assert (await client.post("/api/drafts/0/approve", json={})).status == 404
    assert (await client.get("/api/stream?after=abc")).status == 400


def test_approve_and_edit_at_the_same_moment_send_one_message(make_settings: Any, smtp: Any) -> None:
    import threading

    from sheepdog.app import build_services
    from sheepdog.handlers import actions
    from sheepdog.handlers.inbound import receive
    from sheepdog.jobs.queue import InProcessQueue
    from tests.jobs.test_outbox_and_cadence import lead_message

    svc = build_services(
        make_settings(policy={"first_reply": {"autonomy": "L3"}}), queue=InProcessQueue(periodic=False)
    )
    svc.queue.start()
    draft_id = receive(svc, lead_message()).draft_id
    gate = threading.Barrier(2)
    results: dict[str, Any] = {}

    def run(name: str, fn: Any) -> None:
        gate.wait()
        results[name] = fn()

    threads = [
        threading.Thread(target=run, args=("approve", lambda: actions.approve(svc, draft_id, "Dana"))),
        threading.Thread(
            target=run, args=("edit", lambda: actions.edit(svc, draft_id, "Ali", "Ali's version"))
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert svc.queue.wait_idle()
    winners = [name for name, r in results.items() if r.ok]
    assert len(winners) == 1
    recorder, _ = smtp
    assert len(recorder.messages) == 1
    sent = (
        recorder.messages[0].get_body(preferencelist=("plain",)).get_content().splitlines()[0]
    )  # then the signature
    assert (sent == "Ali's version") == (winners == ["edit"])  # what went out is what the winner saw
    svc.queue.stop()
    svc.db.dispose()


async def test_spam_is_listed_apart_from_the_leads_to_answer(client: Any) -> None:
    """A bot that fills the hidden honeypot field is held as spam: visible, but in its own group."""
    import json

    bot = {**json.loads(fixture_bytes("loop", "webform__lead.json")), "website_url": "http://seo.example"}
    resp = await client.post("/hooks/form", json=bot)
    assert resp.status == 200
    data = await (await client.get("/api/leads")).json()
    assert data["stages"][-1] == "held as spam"
    assert [lead["stage"] for lead in data["leads"]] == ["held as spam"]


async def test_a_paused_lead_offers_resume_on_its_draft_and_form_fields_show(
    l3: tuple[Runtime, Any],
) -> None:
    _, client = l3
    lead_id = (await _lead(client))["lead"]["id"]
    assert (await client.post(f"/api/leads/{lead_id}/pause", json={"actor": "Dana"})).status == 200
    cards = (await (await client.get(f"/api/leads/{lead_id}")).json())["cards"]
    draft = next(c for c in cards if c["kind"] == "draft")
    assert [b["action"] for b in draft["buttons"]] == ["approve", "edit", "resume", "skip"]
    inbound = next(c for c in cards if c["kind"] == "inbound")
    assert ["service", "Heat pump installation"] in inbound["fields"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def l3_both(
    request: pytest.FixtureRequest, make_settings: Any, aiohttp_client: Any
) -> AsyncIterator[tuple[Runtime, Any]]:
    """The l3 app on SQLite, then on PostgreSQL."""
    over: dict[str, Any] = {"policy": {"first_reply": {"autonomy": "L3"}}}
    if request.param == "postgresql":
        over["storage"] = {"url": request.getfixturevalue("pg_url")}
    runtime = build_runtime(make_settings(**over))
    client = await aiohttp_client(runtime.app, headers={"Authorization": "Bearer test-console-token"})
    yield runtime, client
    runtime.services.db.dispose()


async def test_visit_scheduled_takes_the_time_from_the_picker(l3_both: tuple[Runtime, Any]) -> None:
    """POST /api/leads/{id}/visit {"at": "<datetime-local>"}: the time is read in the business's
    zone through the same team action as `/sheepdog visit`; empty, unreadable or past is refused
    and nothing is recorded; the lead's JSON then opens the picker on the booked visit."""
    runtime, client = l3_both
    form = json.loads(fixture_bytes("loop", "webform__lead.json"))
    form["message"] += " Could you come by tomorrow at 10am?"
    assert (await client.post("/hooks/form", json=form)).status == 200
    lead_id = (await (await client.get("/api/leads")).json())["leads"][0]["id"]
    chicago = ZoneInfo("America/Chicago")
    today = runtime.services.now().astimezone(chicago).date()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)

    thread = await (await client.get(f"/api/leads/{lead_id}")).json()
    assert thread["visit"] == {
        "prefill": f"{tomorrow:%Y-%m-%d}T10:00",
        "day": f"{tomorrow:%Y-%m-%d}",
        "source": "asked",
        "tz": "America/Chicago",
    }

    async def visit(at: Any) -> tuple[int, dict[str, Any]]:
        resp = await client.post(f"/api/leads/{lead_id}/visit", json={"at": at, "actor": "Ali"})
        return resp.status, await resp.json()

    assert await visit("") == (
        400,
        {"error": "say when the visit is: at, e.g. 2026-12-03T09:00 (the business's time zone)"},
    )
    status, said = await visit(f"{yesterday:%Y-%m-%d}T10:00")
    assert status == 400 and said["error"].startswith(f"{yesterday:%a %d %b} 10:00 has already passed")
    status, said = await visit("next-ish")
    assert status == 400 and "is not a day" in said["error"]
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert lead.stage != "visit_scheduled" and lead.visit_at is None

    status, said = await visit(f"{tomorrow:%Y-%m-%d}T16:45")
    booked = datetime.combine(tomorrow, time(16, 45), chicago)
    assert status == 200 and said["message"].startswith(f"visit {booked:%a %d %b} 16:45"), said
    await _settle(runtime)
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.stage, lead.visit_at) == ("visit_scheduled", booked.astimezone(UTC))
        (event,) = s.scalars(select(Event).where(Event.kind == "visit_scheduled")).all()
        assert event.actor == "Ali"
    thread = await (await client.get(f"/api/leads/{lead_id}")).json()
    brief = dict(thread["cards"][0]["fields"])
    assert brief["Stage"] == "visit scheduled" and "16:45" in brief["Visit"]
    assert (
        thread["visit"]["prefill"] == f"{tomorrow:%Y-%m-%d}T16:45" and thread["visit"]["source"] == "booked"
    )
