"""The Subject that actually goes out over SMTP: drafts, approved replies and team replies all keep
the customer's email subject; a web-form lead gets one the business would write. Through the real
app, the console API and a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sheepdog.app import Runtime, build_runtime
from tests.conftest import TOKEN, fixture_bytes

BIZ = "Brightside Heating & Cooling"


def mail(subject: str, message_id: str, in_reply_to: str | None = None) -> bytes:
    threading = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return (
        "From: Sam Rivera <sam.rivera@example.com>\r\nTo: hello@brightside.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n{threading}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hi, our AC runs but blows warm air since yesterday. Can someone come this week?\r\n\r\nSam\r\n"
    ).encode()


@pytest.fixture
async def l3(make_settings: Any, aiohttp_client: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    """Every message waits for approval, so each subject can be read on the card, then on the wire."""
    runtime = build_runtime(make_settings(policy={"first_reply": {"autonomy": "L3"}}))
    client = await aiohttp_client(runtime.app, headers={"Authorization": f"Bearer {TOKEN}"})
    yield runtime, client
    runtime.services.db.dispose()


async def _settle(runtime: Runtime) -> None:
    await asyncio.to_thread(runtime.services.queue.wait_idle)


async def _only_lead(client: Any) -> int:
    leads = (await (await client.get("/api/leads")).json())["leads"]
    assert len(leads) == 1
    return int(leads[0]["id"])


async def _approve_pending(client: Any, lead_id: int) -> str:
    """Approve the lead's waiting draft; returns the subject its card showed."""
    thread = await (await client.get(f"/api/leads/{lead_id}")).json()
    draft = next(
        c for c in reversed(thread["cards"]) if c["kind"] == "draft" and c["status"].startswith("Waiting")
    )
    resp = await client.post(f"/api/drafts/{draft['extra']['draft_id']}/approve", json={"actor": "Dana"})
    assert resp.status == 200, await resp.text()
    return str(draft["extra"]["subject"])


async def test_an_email_lead_is_answered_under_its_own_subject(l3: tuple[Runtime, Any], smtp: Any) -> None:
    runtime, client = l3
    recorder, _ = smtp
    resp = await client.post("/hooks/email", data=mail("AC not cooling", "<sam-1@mail.example.com>"))
    assert resp.status == 200, await resp.text()
    lead_id = await _only_lead(client)

    assert await _approve_pending(client, lead_id) == "Re: AC not cooling"
    await _settle(runtime)
    assert [str(m["Subject"]) for m in recorder.messages] == ["Re: AC not cooling"]

    # Sam answers from Outlook ("RE:"); our answer stays "Re: AC not cooling", not "Re: RE: …".
    sent_id = str(recorder.messages[0]["Message-ID"])
    resp = await client.post(
        "/hooks/email", data=mail("RE: AC not cooling", "<sam-2@mail.example.com>", in_reply_to=sent_id)
    )
    assert resp.status == 200, await resp.text()
    assert await _only_lead(client) == lead_id  # same thread
    await _settle(runtime)
    assert await _approve_pending(client, lead_id) == "Re: AC not cooling"

    # A team member writes in the same thread: same subject.
    resp = await client.post(f"/api/leads/{lead_id}/reply", json={"text": "Dana here: Tuesday 9am?"})
    assert resp.status == 200, await resp.text()
    await _settle(runtime)
    assert [str(m["Subject"]) for m in recorder.messages] == ["Re: AC not cooling"] * 3


async def test_a_reply_subject_is_kept_as_it_is(l3: tuple[Runtime, Any], smtp: Any) -> None:
    runtime, client = l3
    recorder, _ = smtp
    resp = await client.post("/hooks/email", data=mail("Re: AC not cooling", "<sam-3@mail.example.com>"))
    assert resp.status == 200, await resp.text()
    assert await _approve_pending(client, await _only_lead(client)) == "Re: AC not cooling"
    await _settle(runtime)
    assert [str(m["Subject"]) for m in recorder.messages] == ["Re: AC not cooling"]


async def test_a_web_form_lead_gets_a_subject_the_business_would_write(
    l3: tuple[Runtime, Any], smtp: Any
) -> None:
    runtime, client = l3
    recorder, _ = smtp
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    lead_id = await _only_lead(client)
    resp = await client.post(f"/api/leads/{lead_id}/reply", json={"text": "Hi Jordan, Dana here."})
    assert resp.status == 200, await resp.text()
    await _settle(runtime)
    assert [str(m["Subject"]) for m in recorder.messages] == [f"Thanks for contacting {BIZ}"]

    subject = await _approve_pending(client, lead_id)  # the brain's first reply, about the service
    assert subject.startswith("Your ") and subject.endswith(f" request - {BIZ}")
    await _settle(runtime)
    assert str(recorder.messages[-1]["Subject"]) == subject
    assert not any(str(m["Subject"]).startswith(("Re:", "Your message to")) for m in recorder.messages)
