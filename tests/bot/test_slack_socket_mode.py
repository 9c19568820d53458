"""Socket Mode end to end: the real runtime starts, slack-sdk's Socket Mode client opens a real
WebSocket to the fake Slack on 127.0.0.1 (apps.connections.open → ws://…/link/ → hello), and the
stored payloads arrive as Slack's envelopes; the acks the client sends back are recorded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from sqlalchemy import func, select

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Draft, Event, SeenDelivery
from tests.bot.conftest import slack_settings
from tests.bot.slack_fake import FakeSlack
from tests.bot.test_slack import new_lead as http_new_lead
from tests.conftest import FIXTURES, fixture_bytes


def socket_settings(make_settings: Any, fake: FakeSlack) -> Any:
    return slack_settings(make_settings, fake, socket_mode=True, app_token="xapp-test", signing_secret=None)


@pytest.fixture
async def rt(make_settings: Any, fake: FakeSlack, aiohttp_client: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    """The runtime with Socket Mode on and no signing secret, started and connected."""
    settings = socket_settings(make_settings, fake)
    assert settings.slack.signing_secret is None
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers={"Authorization": "Bearer test-console-token"})
    await fake.connected()
    yield runtime, client
    await client.close()  # on_cleanup closes the Socket Mode client ...
    assert fake.sockets == []  # ... and with it the WebSocket
    runtime.services.db.dispose()


def socket_payload(fixture: str, fake: FakeSlack, **replace: str) -> dict[str, Any]:
    """The stored payload with the test's ids put in, as a Socket Mode envelope carries it."""
    text = FIXTURES.joinpath("slack", fixture).read_text(encoding="utf-8")
    for key, value in replace.items():
        text = text.replace(key, value)
    text = text.replace("https://hooks.slack.com", fake.base_url).replace(
        "https%3A%2F%2Fhooks.slack.com", quote(fake.base_url, safe="")
    )
    if fixture.endswith(".txt"):  # a slash command: Socket Mode sends the form fields as JSON
        return dict(parse_qsl(text.strip()))
    return json.loads(text)


async def new_lead(rt: tuple[Runtime, Any], fake: FakeSlack) -> tuple[int, int, dict[str, str]]:
    """The HTTP tests' lead, checked to have posted exactly its three cards over the Web API."""
    ids = await http_new_lead(rt, fake)
    assert fake.methods() == ["chat.postMessage"] * 3  # brief, inbound, draft
    return ids


async def test_connects_with_the_app_token_through_the_fake(rt: tuple[Runtime, Any], fake: FakeSlack) -> None:
    assert fake.app_tokens == ["xapp-test"]
    assert [c.method for c in fake.calls].count("apps.connections.open") == 1


async def test_approve_over_the_socket_sends_once_and_updates_the_card(
    rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any
) -> None:
    runtime, _ = rt
    recorder, _ = smtp
    lead_id, draft_id, posts = await new_lead(rt, fake)
    card_ts = posts[f"draft:{draft_id}"]
    root = fake.made()[0]
    assert "thread_ts" not in root.params and "Jordan Ellis" in root.params["text"] + json.dumps(root.params)

    before = len(fake.calls)
    approve = socket_payload("block_actions__approve.json", fake, DRAFT_ID=str(draft_id), CARD_TS=card_ts)
    envelope = await fake.push("interactive", approve)
    assert await fake.acked(envelope) == {"envelope_id": envelope}
    await fake.wait_for(lambda: len(recorder.messages) == 1)
    await fake.wait_for(
        lambda: any(
            c.method == "chat.update" and c.params["ts"] == card_ts and "sent" in str(c.params.get("text"))
            for c in fake.calls[before:]
        )
    )
    await fake.settle()
    updates = [c for c in fake.calls[before:] if c.method == "chat.update"]
    last = [c for c in updates if c.params["ts"] == card_ts][-1]
    assert "Approved by Dana · sent" in last.params["text"] and "by email" in last.params["text"]
    assert all(b["type"] != "actions" for b in last.params["blocks"])  # buttons gone once decided
    assert "chat.postMessage" not in [c.method for c in fake.calls[before:]]  # updated in place
    assert len(recorder.messages) == 1

    # Slack redelivering the click (a new envelope) changes nothing and sends nothing.
    again = await fake.push("interactive", approve)
    await fake.acked(again)
    await fake.settle()
    assert len(recorder.messages) == 1

    # A thread reply delivered twice over the socket (Slack's redelivery: same event_id, new
    # envelope, retry_attempt 1) reaches the customer once.
    reply = socket_payload(
        "event_callback__message_thread_reply.json", fake, ROOT_TS=posts[f"brief:{lead_id}"]
    )
    first = await fake.push("events_api", reply)
    await fake.acked(first)
    await fake.wait_for(lambda: len(recorder.messages) == 2)
    redelivery = await fake.push("events_api", reply, retry_attempt=1, retry_reason="timeout")
    assert await fake.acked(redelivery) == {"envelope_id": redelivery}
    await fake.settle()
    await asyncio.sleep(0.3)
    assert len(recorder.messages) == 2
    assert (
        "Hello, this is a normal text message"
        in recorder.messages[1].get_body(preferencelist=("plain",)).get_content()
    )
    with runtime.services.db.session() as s:
        ignored = s.scalars(select(Event).where(Event.kind == "slack_retry_ignored")).all()
        assert [((e.data or {}).get("event_id"), (e.data or {}).get("retry")) for e in ignored] == [
            (reply["event_id"], "1")
        ]
        assert s.scalar(select(func.count()).where(SeenDelivery.source == "slack")) == 1


async def test_slash_command_over_the_socket_is_acked_and_answered(
    rt: tuple[Runtime, Any], fake: FakeSlack
) -> None:
    await new_lead(rt, fake)
    before = len(fake.calls)
    envelope = await fake.push("slash_commands", socket_payload("slash_command__pipeline.txt", fake))
    await fake.acked(envelope)
    await fake.wait_for(lambda: any(c.method == "response_url" for c in fake.calls[before:]))
    answer = next(c for c in fake.calls[before:] if c.method == "response_url").params
    assert answer["response_type"] == "ephemeral" and "new: 1 (unclaimed 1)" in answer["text"]


async def test_payload_not_handled_is_still_acked(
    rt: tuple[Runtime, Any], fake: FakeSlack, caplog: Any
) -> None:
    """Unacked, Slack would redeliver it and show the user an error (HTTP answers it 200)."""
    caplog.set_level("INFO")
    envelope = await fake.push("interactive", socket_payload("message_action__unhandled.json", fake))
    assert await fake.acked(envelope) == {"envelope_id": envelope}
    assert "does not handle" in caplog.text
    await fake.settle()
    assert fake.methods() == []


def test_runtime_builds_outside_an_event_loop(make_settings: Any) -> None:
    """`sheepdog run` builds the runtime before aiohttp starts its loop; Socket Mode must not need one."""
    fake = FakeSlack(base_url="http://127.0.0.1:9")
    settings = socket_settings(make_settings, fake)
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    runtime.services.db.dispose()


async def test_slack_refusing_the_connection_does_not_hold_up_the_server(
    make_settings: Any, fake: FakeSlack, aiohttp_client: Any
) -> None:
    fake.fail_next("apps.connections.open", 500, 500, 500)  # past slack-sdk's own retries
    settings = socket_settings(make_settings, fake)
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await asyncio.wait_for(aiohttp_client(runtime.app), timeout=5)
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    await client.close()
    runtime.services.db.dispose()


@pytest.mark.parametrize("secret", [None, "socket-mode"])
async def test_socket_mode_serves_no_http_events(
    rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any, secret: str | None
) -> None:
    """In Socket Mode nothing is verified over HTTP (no signing secret), so /slack/events must
    not exist: an unsigned POST (or one signed with a guessable placeholder) approves nothing,
    sends no mail and posts no attacker's text."""
    from tests.bot.test_slack import payload_body, sign

    runtime, client = rt
    recorder, _ = smtp
    _, draft_id, posts = await new_lead(rt, fake)
    before = len(fake.calls)
    for fixture, extra in (
        ("block_actions__approve.json", {}),
        (
            "view_submission__edit.json",
            {"PRIVATE_METADATA": json.dumps(json.dumps({"draft_id": draft_id}))[1:-1]},
        ),
    ):
        body, ctype = payload_body(
            fixture, fake, DRAFT_ID=str(draft_id), CARD_TS=posts[f"draft:{draft_id}"], **extra
        )
        headers = {"Content-Type": ctype, **(sign(body, secret=secret) if secret else {})}
        resp = await client.post("/slack/events", data=body, headers=headers)
        assert resp.status in (401, 404), await resp.text()
    await fake.settle()
    await asyncio.sleep(0.3)
    assert recorder.messages == []
    assert [c.method for c in fake.calls[before:]] == []
    with runtime.services.db.session() as s:
        draft = s.get(Draft, draft_id)
        assert draft.state == "pending" and draft.decided_by is None
