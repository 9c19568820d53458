"""The Slack surface driven through the real slack-bolt app: stored real payloads, signed with the
test signing secret, posted to /slack/events; slack-sdk talks to a local fake Web API that records
every call, so each test asserts the exact calls Sheepdog made."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import CardPost, Draft, Event, Lead, Message, Outbox
from tests.bot.conftest import CHANNEL, SECRET, slack_settings
from tests.bot.slack_fake import FakeSlack
from tests.conftest import FIXTURES, fixture_bytes


@pytest.fixture
async def rt(make_settings: Any, fake: FakeSlack, aiohttp_client: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    settings = slack_settings(make_settings, fake)
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers={"Authorization": "Bearer test-console-token"})
    yield runtime, client
    runtime.services.db.dispose()


async def click_told(
    client: Any, fake: FakeSlack, fixture: str, draft_id: int, posts: dict[str, str], **replace: str
) -> str:
    """Click a draft card's button where Sheepdog only answers privately (on the action's
    response_url, never replacing the card); the private answer's text."""
    await check(
        client,
        fake,
        fixture,
        DRAFT_ID=str(draft_id),
        CARD_TS=posts[f"draft:{draft_id}"],
        expect=["response_url"],
        **replace,
    )
    told = fake.calls[-1].params
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False
    return str(told["text"])


async def open_edit_modal(
    client: Any, fake: FakeSlack, draft_id: int, posts: dict[str, str]
) -> dict[str, Any]:
    """Click Edit on the draft's card; the modal Slack was asked to open."""
    await check(
        client,
        fake,
        "block_actions__edit.json",
        DRAFT_ID=str(draft_id),
        CARD_TS=posts[f"draft:{draft_id}"],
        expect=["views.open"],
    )
    return next(c for c in fake.calls if c.method == "views.open").params["view"]


def sign(body: bytes, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = ts if ts is not None else int(time.time())
    base = f"v0:{ts}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def payload_body(fixture: str, fake: FakeSlack, **replace: str) -> tuple[bytes, str]:
    """The stored payload with the test's ids put in, encoded the way Slack sends that type."""
    text = FIXTURES.joinpath("slack", fixture).read_text(encoding="utf-8")
    for key, value in replace.items():
        text = text.replace(key, value)
    text = text.replace("https://hooks.slack.com", fake.base_url).replace(
        "https%3A%2F%2Fhooks.slack.com", quote(fake.base_url, safe="")
    )
    if fixture.endswith(".txt"):
        return text.encode(), "application/x-www-form-urlencoded"
    kind = json.loads(text).get("type")
    if kind in ("event_callback", "url_verification", "app_rate_limited"):
        return text.encode(), "application/json"
    return ("payload=" + quote(text, safe="")).encode(), "application/x-www-form-urlencoded"


async def check(
    client: Any,
    fake: FakeSlack,
    fixture: str,
    *,
    expect: list[str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **replace: str,
) -> Any:
    """Post a signed stored payload to /slack/events; with `expect`, assert the Web API calls made."""
    before = len(fake.calls)
    body, ctype = payload_body(fixture, fake, **replace)
    resp = await client.post(
        "/slack/events", data=body, headers={"Content-Type": ctype, **sign(body), **(headers or {})}
    )
    assert resp.status == status, await resp.text()
    if expect is not None:
        await fake.settle()
        made = [
            c.method
            for c in fake.calls[before:]
            if c.method not in ("auth.test", "users.info", "conversations.members")
        ]
        assert made == expect, made
    return resp


async def new_lead(rt: tuple[Runtime, Any], fake: FakeSlack) -> tuple[int, int, dict[str, str]]:
    """A web-form lead: returns lead id, draft id and the ts of each posted card."""
    runtime, client = rt
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    await fake.wait_for(lambda: len(fake.made()) >= 3)
    await fake.settle()
    with runtime.services.db.session() as s:
        lead = s.scalars(select(Lead)).one()
        draft = s.scalars(select(Draft)).one()
        posts = {
            p.card_key: p.ref or "" for p in s.scalars(select(CardPost).where(CardPost.surface == "slack"))
        }
        return lead.id, draft.id, posts


async def test_lead_thread_root_draft_and_approve(
    rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any
) -> None:
    _, client = rt
    lead_id, draft_id, posts = await new_lead(rt, fake)
    posted = [c for c in fake.made() if c.method == "chat.postMessage"]
    assert fake.methods() == ["chat.postMessage"] * 3
    root, inbound, draft = posted
    assert "thread_ts" not in root.params and root.params["channel"] == CHANNEL
    assert (
        root.params["blocks"][0]["type"] == "header"
        and "Jordan Ellis" in root.params["blocks"][0]["text"]["text"]
    )
    fields = " ".join(
        f["text"] for b in root.params["blocks"] if b["type"] == "section" for f in b.get("fields", [])
    )
    for label in ("*Channel*", "*Score*", "*Next action*", "*Source*"):
        assert label in fields
    assert inbound.params["thread_ts"] == draft.params["thread_ts"] == posts[f"brief:{lead_id}"]
    buttons = draft.params["blocks"][-1]["elements"]
    assert [b["action_id"] for b in buttons] == [
        "sheepdog_approve",
        "sheepdog_edit",
        "sheepdog_pause",
        "sheepdog_skip",
    ]
    assert buttons[0]["value"] == str(draft_id)

    before = len(fake.calls)
    await check(
        client,
        fake,
        "block_actions__approve.json",
        DRAFT_ID=str(draft_id),
        CARD_TS=posts[f"draft:{draft_id}"],
    )
    recorder, _ = smtp
    await fake.wait_for(lambda: len(recorder.messages) == 1)
    await fake.wait_for(
        lambda: any(
            "sent" in str(c.params.get("text")) for c in fake.calls[before:] if c.method == "chat.update"
        )
    )
    await fake.settle()
    updates = [c for c in fake.calls[before:] if c.method == "chat.update"]
    assert {c.params["ts"] for c in updates} <= set(posts.values())
    last = [c for c in updates if c.params["ts"] == posts[f"draft:{draft_id}"]][-1]
    assert "Approved by Dana · sent" in last.params["text"] and "by email" in last.params["text"]
    assert all(b["type"] != "actions" for b in last.params["blocks"])  # buttons gone once decided
    assert "chat.postMessage" not in [c.method for c in fake.calls[before:]]  # updated in place

    # A double click (or Slack resending) changes nothing and sends nothing; the clicker is told
    # privately through the action's response_url, the card left as it is.
    told = await click_told(client, fake, "block_actions__approve.json", draft_id, posts)
    assert told.startswith("Nothing changed")
    assert len(recorder.messages) == 1

    # Edit on the decided draft opens no modal and says why.
    told = await click_told(client, fake, "block_actions__edit.json", draft_id, posts)
    assert "this draft was already approved and sent by Dana" in told


async def test_edit_modal_sends_the_edit(rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any) -> None:
    runtime, client = rt
    _, draft_id, posts = await new_lead(rt, fake)
    view = await open_edit_modal(client, fake, draft_id, posts)
    assert view["callback_id"] == "sheepdog_edit"
    with runtime.services.db.session() as s:
        assert view["blocks"][0]["element"]["initial_value"] == s.get(Draft, draft_id).body
    meta = json.dumps(view["private_metadata"])[1:-1]
    await check(client, fake, "view_submission__edit.json", PRIVATE_METADATA=meta)
    recorder, _ = smtp
    await fake.wait_for(lambda: len(recorder.messages) == 1)
    body = recorder.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert body.splitlines()[0].strip() == "This is my example inputted value"  # then the signature
    await fake.wait_for(
        lambda: any(
            "Edited and approved by Dana" in str(c.params.get("text"))
            for c in fake.calls
            if c.method == "chat.update"
        )
    )
    with runtime.services.db.session() as s:
        assert s.get(Draft, draft_id).original_body  # the brain's version kept; the edit is a voice example


async def test_thread_reply_reaches_customer_note_does_not(
    rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any
) -> None:
    runtime, client = rt
    lead_id, _, posts = await new_lead(rt, fake)
    root = posts[f"brief:{lead_id}"]
    recorder, _ = smtp
    await check(client, fake, "event_callback__message_thread_reply.json", ROOT_TS=root)
    await fake.wait_for(lambda: len(recorder.messages) == 1)
    assert (
        "Hello, this is a normal text message"
        in recorder.messages[0].get_body(preferencelist=("plain",)).get_content()
    )
    await fake.settle()
    echoed = [
        c for c in fake.calls if c.method == "chat.postMessage" and "normal text" in json.dumps(c.params)
    ]
    assert echoed == []  # the member's own message is not echoed back by the bot

    # A retry of the same event (X-Slack-Retry-Num) is acknowledged and not acted on again.
    await check(
        client,
        fake,
        "event_callback__message_thread_reply.json",
        ROOT_TS=root,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
        expect=[],
    )
    await asyncio.sleep(0.3)
    assert len(recorder.messages) == 1

    body, ctype = payload_body("event_callback__message_thread_reply.json", fake, ROOT_TS=root)
    data = json.loads(body)
    data["event_id"], data["event"]["ts"] = "Ev0NOTE", "1719209599.000001"
    data["event"]["text"] = "note: called her, she wants Tuesday"
    raw = json.dumps(data).encode()
    resp = await client.post("/slack/events", data=raw, headers={"Content-Type": ctype, **sign(raw)})
    assert resp.status == 200
    await fake.settle()
    await asyncio.sleep(0.3)
    assert len(recorder.messages) == 1
    with runtime.services.db.session() as s:
        notes = s.scalars(select(Message).where(Message.direction == "note")).all()
        assert [n.text for n in notes] == ["called her, she wants Tuesday"]
        assert notes[0].author == "Dana"


async def test_claim_and_unclaim_by_reaction(rt: tuple[Runtime, Any], fake: FakeSlack) -> None:
    runtime, client = rt
    lead_id, _, posts = await new_lead(rt, fake)
    root = posts[f"brief:{lead_id}"]
    await check(client, fake, "event_callback__reaction_added.json", ROOT_TS=root, expect=["chat.update"])
    update = [c for c in fake.calls if c.method == "chat.update"][-1]
    assert update.params["ts"] == root and "Claimed by Dana" in update.params["text"]
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).owner == "Dana"
    await check(client, fake, "event_callback__reaction_removed.json", ROOT_TS=root, expect=["chat.update"])
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).owner is None


def refusals(runtime: Runtime) -> list[tuple[str | None, str]]:
    with runtime.services.db.session() as s:
        return [
            (e.actor, (e.data or {}).get("what", ""))
            for e in s.scalars(select(Event).where(Event.kind == "slack_refused").order_by(Event.id))
        ]


async def test_stranger_is_refused_politely(
    rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any, caplog: Any
) -> None:
    """A stranger is not in the lead channel, so Slack refuses chat.postEphemeral to them there
    (user_not_in_channel): a click is answered on its response_url instead, and a reaction (no
    response_url) still gets its log line and breaks nothing."""
    runtime, client = rt
    lead_id, draft_id, posts = await new_lead(rt, fake)
    fake.members = ["UDANA", "UALI"]  # the channel's members; the stranger is not one of them
    caplog.set_level("INFO")
    told = await click_told(client, fake, "block_actions__skip.json", draft_id, posts, UDANA="USTRANGER")
    assert told.startswith("Sorry, only members of the team channel can skip drafts")
    assert refusals(runtime) == [("USTRANGER", "skip drafts")]

    # A reaction has no response_url: the ephemeral note is tried, Slack refuses it, and that is
    # logged, not raised (the refusal was recorded before it).
    await check(
        client,
        fake,
        "event_callback__reaction_added.json",
        ROOT_TS=posts[f"brief:{lead_id}"],
        expect=["chat.postEphemeral"],
        UDANA="USTRANGER",
    )
    assert refusals(runtime)[-1] == ("USTRANGER", "claim leads")
    assert "user_not_in_channel" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    with runtime.services.db.session() as s:
        assert s.get(Draft, draft_id).state == "pending"
        assert s.get(Lead, lead_id).owner is None
    assert smtp[0].messages == []


async def test_bad_signature_and_old_timestamp_are_refused(rt: tuple[Runtime, Any], fake: FakeSlack) -> None:
    _, client = rt
    body, ctype = payload_body("url_verification__challenge.json", fake)
    bad = await client.post(
        "/slack/events", data=body, headers={"Content-Type": ctype, **sign(body, secret="wrong")}
    )
    assert bad.status == 401
    old = await client.post(
        "/slack/events", data=body, headers={"Content-Type": ctype, **sign(body, ts=int(time.time()) - 301)}
    )
    assert old.status == 401
    ok = await check(client, fake, "url_verification__challenge.json")
    assert (await ok.json())["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


@pytest.mark.parametrize(
    "fixture",
    ["app_rate_limited__unhandled.json", "message_action__unhandled.json", "view_closed__edit.json"],
)
async def test_payloads_not_handled_get_200_and_a_log_line(
    rt: tuple[Runtime, Any], fake: FakeSlack, fixture: str, caplog: Any
) -> None:
    _, client = rt
    caplog.set_level("INFO")
    await check(client, fake, fixture, expect=[])
    if fixture != "view_closed__edit.json":
        assert "does not handle" in caplog.text


async def test_slack_429_and_5xx_are_retried_and_an_outage_loses_no_card(
    rt: tuple[Runtime, Any], fake: FakeSlack
) -> None:
    _runtime, client = rt
    fake.fail_next("chat.postMessage", 429, 503)  # slack-sdk retries these itself (Retry-After honoured)
    fake.fail_next("chat.postMessage", 500)  # still down after the SDK's retries: the sync job fails
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    await fake.wait_for(lambda: not fake.failures["chat.postMessage"], timeout=15)
    await fake.settle()
    assert [c.method for c in fake.calls if "!" in c.method] == [
        "chat.postMessage!429",
        "chat.postMessage!503",
        "chat.postMessage!500",
    ]
    # Slack is back: the queue retries the failed sync job (exponential backoff with full
    # jitter, so within a second or two here) and posts everything, once: the failed attempt
    # released its claim on the card.
    await fake.wait_for(lambda: fake.methods().count("chat.postMessage") >= 3, timeout=15)
    await fake.settle()
    roots = [c for c in fake.calls if c.method == "chat.postMessage" and "thread_ts" not in c.params]
    assert len(roots) == 1
    assert fake.methods().count("chat.postMessage") == 3  # brief, inbound, draft


async def test_slash_commands_ack_then_respond(rt: tuple[Runtime, Any], fake: FakeSlack) -> None:
    runtime, client = rt
    lead_id, _, _ = await new_lead(rt, fake)
    resp = await check(client, fake, "slash_command__pipeline.txt", expect=["response_url"])
    assert await resp.text() == ""  # the ack: empty 200 at once; the answer follows on response_url
    answer = fake.calls[-1].params
    assert answer["response_type"] == "ephemeral" and "new: 1 (unclaimed 1)" in answer["text"]
    await check(client, fake, "slash_command__help.txt", expect=["response_url"])
    assert "won <lead>" in fake.calls[-1].params["text"]
    await check(client, fake, "slash_command__metrics.txt", expect=["response_url"])
    assert "1 leads" in fake.calls[-1].params["text"]
    before = len(fake.calls)
    await check(client, fake, "slash_command__won.txt", LEAD_ID=str(lead_id))
    # The answer to this command (help's answer above also says "won": not that one).
    await fake.wait_for(
        lambda: any(
            c.method == "response_url" and c.params.get("text", "").startswith(f"Lead #{lead_id}")
            for c in fake.calls[before:]
        )
    )
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert lead.stage == "won" and str(lead.outcome_value) == "4500.00"


async def _thread_message(
    client: Any, fake: FakeSlack, root: str, *, event_id: str, ts: str, text: str
) -> None:
    body, ctype = payload_body("event_callback__message_thread_reply.json", fake, ROOT_TS=root)
    data = json.loads(body)
    data["event_id"], data["event"]["ts"], data["event"]["text"] = event_id, ts, text
    raw = json.dumps(data).encode()
    resp = await client.post("/slack/events", data=raw, headers={"Content-Type": ctype, **sign(raw)})
    assert resp.status == 200


async def _changed(client: Any, fake: FakeSlack, *, event_id: str, ts: str, text: str) -> None:
    body, ctype = payload_body("event_callback__message_changed.json", fake)
    data = json.loads(body)
    data["event_id"], data["event"]["message"]["ts"], data["event"]["message"]["text"] = event_id, ts, text
    raw = json.dumps(data).encode()
    resp = await client.post("/slack/events", data=raw, headers={"Content-Type": ctype, **sign(raw)})
    assert resp.status == 200


async def _deleted(client: Any, fake: FakeSlack, *, event_id: str, ts: str) -> None:
    body, ctype = payload_body("event_callback__message_deleted.json", fake)
    data = json.loads(body)
    data["event_id"], data["event"]["deleted_ts"] = event_id, ts
    raw = json.dumps(data).encode()
    resp = await client.post("/slack/events", data=raw, headers={"Content-Type": ctype, **sign(raw)})
    assert resp.status == 200


async def test_a_reply_edited_or_deleted_before_it_went_out(
    rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any
) -> None:
    """The mail server is briefly down, so the replies are still queued when the member changes them."""
    runtime, client = rt
    recorder, _ = smtp
    lead_id, _, posts = await new_lead(rt, fake)
    root = posts[f"brief:{lead_id}"]
    recorder.fail_with = ["451 4.3.0 try again later", "451 4.3.0 try again later"]

    await _thread_message(
        client, fake, root, event_id="EvR1", ts="1719209600.000001", text="Tuesday at 9 works"
    )
    await _thread_message(client, fake, root, event_id="EvR2", ts="1719209600.000002", text="Ignore that")
    await fake.settle()
    await _changed(client, fake, event_id="EvC1", ts="1719209600.000001", text="Tuesday at 10 works")
    await _deleted(client, fake, event_id="EvD1", ts="1719209600.000002")
    await fake.wait_for(lambda: len(recorder.messages) >= 1, timeout=15)
    await asyncio.sleep(2.5)
    bodies = [m.get_body(preferencelist=("plain",)).get_content().splitlines()[0] for m in recorder.messages]
    assert bodies == ["Tuesday at 10 works"]  # the edit went out, the deleted reply never did
    with runtime.services.db.session() as s:
        states = sorted(o.state for o in s.scalars(select(Outbox).where(Outbox.author.is_not(None))))
        assert states == ["cancelled", "sent"]

    # After it went out, an edit cannot change what the customer got: the author is told privately.
    before = len(fake.calls)
    await _changed(client, fake, event_id="EvC2", ts="1719209600.000001", text="Tuesday at 11 works")
    await fake.settle()
    told = [c for c in fake.calls[before:] if c.method == "chat.postEphemeral"]
    assert told and "already sent" in json.dumps(told[0].params)
    assert len(recorder.messages) == 1


async def test_a_note_edited_or_deleted_in_slack(rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any) -> None:
    runtime, client = rt
    lead_id, _, posts = await new_lead(rt, fake)
    root = posts[f"brief:{lead_id}"]
    await _thread_message(
        client, fake, root, event_id="EvN1", ts="1719209700.000001", text="note: gate code 4411"
    )
    await fake.settle()
    await _changed(client, fake, event_id="EvN2", ts="1719209700.000001", text="note: gate code 4412")

    def notes() -> list[Message]:
        with runtime.services.db.session() as s:
            return list(s.scalars(select(Message).where(Message.direction == "note")))

    await fake.wait_for(lambda: [n.text for n in notes()] == ["gate code 4412"])
    assert notes()[0].edits[0]["text"] == "gate code 4411"
    await _deleted(client, fake, event_id="EvN3", ts="1719209700.000001")
    await fake.wait_for(lambda: notes() == [])
    assert smtp[0].messages == [] or all("gate code" not in m.as_string() for m in smtp[0].messages)


async def test_a_restart_posts_the_cards_whose_sync_was_lost(make_settings: Any, fake: FakeSlack) -> None:
    """The in-process queue lives in memory: cards queued for Slack when the process died are
    posted after the restart, once."""
    from sheepdog.handlers.inbound import receive
    from tests.jobs.test_outbox_and_cadence import lead_message

    settings = slack_settings(make_settings, fake)
    before = build_services(settings, queue=InProcessQueue(periodic=False))  # never started: the job is lost
    await asyncio.to_thread(receive, before, lead_message())
    before.db.dispose()
    assert fake.made() == []

    after = build_services(settings, queue=InProcessQueue(periodic=True))
    after.queue.start()
    await fake.wait_for(lambda: len(fake.made()) >= 3)
    await fake.settle()
    assert [c.method for c in fake.made()] == ["chat.postMessage"] * 3  # brief, message, draft: once each
    await asyncio.to_thread(after.queue.stop)
    after.db.dispose()


async def test_a_mention_in_a_reply_reaches_the_customer_as_the_members_name(
    rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any
) -> None:
    """Slack sends a mention as <@U…>; the customer reads the member's name (users.info)."""
    _, client = rt
    recorder, _ = smtp
    fake.names["U024BE7LH"] = "Priya"
    lead_id, _, posts = await new_lead(rt, fake)
    await _thread_message(
        client,
        fake,
        posts[f"brief:{lead_id}"],
        event_id="EvM1",
        ts="1719209800.000001",
        text="<@U024BE7LH> will call you",
    )
    await fake.wait_for(lambda: len(recorder.messages) == 1)
    body = recorder.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert body.splitlines()[0].strip() == "@Priya will call you"  # then the unsubscribe line
    assert ("users.info", "U024BE7LH") in [(c.method, c.params.get("user")) for c in fake.calls]


@pytest.mark.parametrize("fixture", ["slash_command__pipeline.txt", "slash_command__metrics.txt"])
async def test_slash_commands_that_show_leads_are_for_members_only(
    rt: tuple[Runtime, Any], fake: FakeSlack, fixture: str
) -> None:
    runtime, client = rt
    await new_lead(rt, fake)
    await check(client, fake, fixture, expect=["response_url"], UDANA="USTRANGER")
    answer = fake.calls[-1].params
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Sorry, only members of the team channel can use /sheepdog")
    assert "Jordan" not in answer["text"] and "leads" not in answer["text"]
    verb = fixture.removeprefix("slash_command__").removesuffix(".txt")
    assert refusals(runtime) == [("USTRANGER", f"use /sheepdog {verb}")]
    # help stays open to anyone
    await check(client, fake, "slash_command__help.txt", expect=["response_url"], UDANA="USTRANGER")
    assert "won <lead>" in fake.calls[-1].params["text"]


async def test_a_claim_keeps_the_claimers_slack_id(
    rt: tuple[Runtime, Any], fake: FakeSlack, aiohttp_client: Any
) -> None:
    """The brief and the console show the name; an escalation mentions the claimer, and the
    claimer can release the lead after changing their display name (here, across a restart)."""
    from sheepdog.jobs import tasks

    runtime, client = rt
    lead_id, _, posts = await new_lead(rt, fake)
    root = posts[f"brief:{lead_id}"]
    await check(client, fake, "event_callback__reaction_added.json", ROOT_TS=root, expect=["chat.update"])
    await asyncio.to_thread(runtime.services.queue.wait_idle)  # the claim's syncs are done
    await fake.settle()
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).owner == "Dana"
        runtime.services.log(s, "handoff", lead_id, urgent=True, reasons=["complaint"])
    before = len(fake.calls)
    await asyncio.to_thread(tasks.sync_surfaces, runtime.services, lead_id)
    alert = next(c for c in fake.calls[before:] if c.method == "chat.postMessage")
    assert alert.params["thread_ts"] == root
    # Raw mentions (not escaped to &lt;@…&gt;), in the blocks and the notification text: they notify.
    said = "<@UDANA> needs a person now (<@UDANA> has it): complaint"
    assert said in alert.params["blocks"][0]["text"]["text"] and said in alert.params["text"]

    fake.names["UDANA"] = "Dana K"  # renamed in Slack; the bot restarts and looks her up again
    again = build_runtime(
        runtime.settings, services=build_services(runtime.settings, queue=InProcessQueue(periodic=False))
    )
    client2 = await aiohttp_client(again.app)
    try:
        # The brief and the alert (whose "has it" changes) are updated.
        await check(
            client2,
            fake,
            "event_callback__reaction_removed.json",
            ROOT_TS=root,
            expect=["chat.update", "chat.update"],
        )
        with again.services.db.session() as s:
            assert s.get(Lead, lead_id).owner is None
    finally:
        await client2.close()
        again.services.db.dispose()


async def test_someone_else_holding_the_lead_is_not_taken_for_the_slack_claimer(
    rt: tuple[Runtime, Any], fake: FakeSlack
) -> None:
    """The Slack id is trusted only while the lead is still held under the name it was claimed with."""
    from sheepdog.handlers import actions
    from sheepdog.jobs import tasks

    runtime, client = rt
    lead_id, _, posts = await new_lead(rt, fake)
    root = posts[f"brief:{lead_id}"]
    await check(client, fake, "event_callback__reaction_added.json", ROOT_TS=root, expect=["chat.update"])
    await asyncio.to_thread(actions.claim, runtime.services, lead_id, "Sam (console)")
    await check(client, fake, "event_callback__reaction_removed.json", ROOT_TS=root)
    # The claim's own card syncs run on the queue's threads: let them finish, so the alert below
    # is posted by the sync this test runs (not by one of theirs before `before` is taken).
    await asyncio.to_thread(runtime.services.queue.wait_idle)
    await fake.settle()
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).owner == "Sam (console)"  # Dana cannot release Sam's lead
        runtime.services.log(s, "handoff", lead_id, reasons=["pricing question"])
    before = len(fake.calls)
    await asyncio.to_thread(tasks.sync_surfaces, runtime.services, lead_id)
    alert = next(c for c in fake.calls[before:] if c.method == "chat.postMessage")
    assert "(Sam (console) has it): pricing question" in alert.params["blocks"][0]["text"]["text"]
    assert "<@UDANA> has it" not in json.dumps(alert.params)


async def test_edit_modal_of_a_long_draft_says_it_is_cut(rt: tuple[Runtime, Any], fake: FakeSlack) -> None:
    """Slack's text input holds 3,000 characters; the modal says so instead of cutting silently."""
    runtime, client = rt
    _, draft_id, posts = await new_lead(rt, fake)
    long = ("We can come on Tuesday. " * 200).strip()
    assert len(long) > 3000
    with runtime.services.db.session() as s:
        s.get(Draft, draft_id).body = long
    block = (await open_edit_modal(client, fake, draft_id, posts))["blocks"][0]
    assert block["element"]["initial_value"] == long[:3000] and block["element"]["max_length"] == 3000
    hint = block["hint"]["text"]
    assert f"{len(long):,} characters" in hint and "3,000" in hint and "Approve" in hint


async def test_edit_submitted_after_the_draft_was_decided_is_refused_in_the_modal(
    rt: tuple[Runtime, Any], fake: FakeSlack, smtp: Any
) -> None:
    runtime, client = rt
    _, draft_id, posts = await new_lead(rt, fake)
    view = await open_edit_modal(client, fake, draft_id, posts)
    # While the modal is open, Ali skips the draft.
    skip, ctype = payload_body(
        "block_actions__skip.json", fake, DRAFT_ID=str(draft_id), CARD_TS=posts[f"draft:{draft_id}"]
    )
    skip = skip.replace(b"UDANA", b"UALI")
    assert (
        await client.post("/slack/events", data=skip, headers={"Content-Type": ctype, **sign(skip)})
    ).status == 200
    await fake.settle()
    meta = json.dumps(view["private_metadata"])[1:-1]
    resp = await check(client, fake, "view_submission__edit.json", PRIVATE_METADATA=meta)
    assert await resp.json() == {
        "response_action": "errors",
        "errors": {"draft": "Not sent: this draft was already skipped by Ali."},
    }
    await asyncio.sleep(0.3)
    assert smtp[0].messages == []
    with runtime.services.db.session() as s:
        assert s.get(Draft, draft_id).state == "skipped"
