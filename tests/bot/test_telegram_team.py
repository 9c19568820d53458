"""The Telegram team surface driven end to end: python-telegram-bot talks real HTTP (base_url) to a
local Bot API server that records every call; stored Update payloads (tests/fixtures/telegram/team,
see SOURCES.md) are posted to /hooks/telegram/team with the secret token; mail to the customer
reaches the test SMTP server. Each test asserts the exact Bot API calls made."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.bot.telegram_team import ROUTE, send_team_photo
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import CardPost, Draft, Event, Lead, Message, TeamIdentity
from tests.bot.telegram_fake import FakeTelegram
from tests.conftest import FIXTURES, fixture_bytes

GROUP = -1001971186208
OWNER_CHAT = 12345678
DANA = 4242  # a member of the group
STRANGER = 9999
SECRET = "team-secret_token-123"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(members={DANA})
    await fake.start()
    yield fake
    await fake.stop()


def team_settings(make_settings: Any, tg: FakeTelegram, **team: Any) -> Any:
    return make_settings(
        policy={"first_reply": {"autonomy": "L3"}},
        telegram_team={
            "enabled": True,
            "bot_token": "123456:TEAM-token",
            "secret_token": SECRET,
            "group_chat_id": GROUP,
            "api_base_url": tg.base_url,
            **team,
        },
    )


async def start(settings: Any, aiohttp_client: Any) -> tuple[Runtime, Any]:
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers={"Authorization": "Bearer test-console-token"})
    return runtime, client


@pytest.fixture
async def rt(make_settings: Any, tg: FakeTelegram, aiohttp_client: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    runtime, client = await start(team_settings(make_settings, tg), aiohttp_client)
    yield runtime, client
    runtime.services.db.dispose()


_update_ids = iter(range(700000, 800000))


def update(name: str, **values: Any) -> bytes:
    """A stored Update with the test's values put in ("CHAT_ID" → -100…); a fresh update_id."""
    text = FIXTURES.joinpath("telegram", "team", name).read_text(encoding="utf-8")
    values.setdefault("UPDATE_ID", next(_update_ids))
    for key, value in values.items():
        text = text.replace(f'"{key}"', json.dumps(value, ensure_ascii=False))
    data = json.loads(text)
    assert '"' + "UPDATE_ID" + '"' not in text
    return json.dumps(data, ensure_ascii=False).encode()


async def post(client: Any, body: bytes, secret: str | None = SECRET, status: int = 200) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    resp = await client.post(ROUTE, data=body, headers=headers)
    assert resp.status == status, await resp.text()
    return resp


async def settle(runtime: Runtime) -> None:
    await asyncio.to_thread(runtime.services.queue.wait_idle, 30.0)  # type: ignore[attr-defined]


async def new_lead(rt: tuple[Runtime, Any], tg: FakeTelegram) -> tuple[int, int, dict[str, CardPost]]:
    """A web-form lead: lead id, draft id, and where each card lives in the group."""
    runtime, client = rt
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    await settle(runtime)
    with runtime.services.db.session() as s:
        lead = s.scalars(select(Lead)).one()
        draft_id = s.scalars(select(Draft)).one().id
        rows = {p.card_key: p for p in s.scalars(select(CardPost).where(CardPost.surface == "telegram"))}
        for row in rows.values():
            s.expunge(row)
        return lead.id, draft_id, rows


def press(data: str, card: CardPost, user: int = DANA, name: str = "Dana") -> bytes:
    return update(
        "callback_query.json",
        CALLBACK_ID=f"cb-{next(_update_ids)}",
        CHAT_ID=int(card.container or 0),
        MESSAGE_ID=int(card.ref or 0),
        THREAD_ID=int(card.thread_ref) if card.thread_ref else None,
        USER_ID=user,
        USER_NAME=name,
        DATA=data,
    )


def in_topic(text: str, root: CardPost, user: int = DANA, reply_to: int | None = None) -> bytes:
    return update(
        "forum_topic_message.json",
        MESSAGE_ID=next(_update_ids),
        USER_ID=user,
        USER_NAME="Dana",
        CHAT_ID=GROUP,
        THREAD_ID=int(root.thread_ref or 0),
        REPLY_TO_ID=reply_to or int(root.thread_ref or 0),
        TEXT=text,
    )


def keyboard(call: Any) -> list[list[tuple[str, str]]]:
    markup = call.params.get("reply_markup") or {}
    return [[(b["text"], b["callback_data"]) for b in row] for row in markup.get("inline_keyboard", [])]


async def test_group_topic_brief_draft_approve_sends_once_and_edits_in_place(
    rt: tuple[Runtime, Any], tg: FakeTelegram, smtp: Any
) -> None:
    runtime, client = rt
    await tg.wait_for(lambda: len(tg.made("setMyCommands")) == 2)  # at start-up, in the background
    commands = tg.made("setMyCommands")
    assert [c.params["scope"] for c in commands] == [
        {"type": "chat", "chat_id": GROUP},
        {"type": "all_private_chats"},
    ]
    assert [c["command"] for c in commands[0].params["commands"]] == [
        "pipeline", "metrics", "won", "lost", "quoted", "visit", "pause", "resume", "was", "help"
    ]  # fmt: skip

    lead_id, draft_id, cards = await new_lead(rt, tg)
    assert tg.methods() == ["createForumTopic", "sendMessage", "sendMessage", "sendMessage"]
    topic, brief, inbound, draft = tg.made()
    assert (
        topic.params["name"].startswith(f"#{lead_id} Jordan Ellis · ")
        and int(topic.params["chat_id"]) == GROUP
    )
    thread = int(cards[f"brief:{lead_id}"].thread_ref or 0)
    assert thread and all(int(c.params["message_thread_id"]) == thread for c in (brief, inbound, draft))
    assert all(c.params["parse_mode"] == "HTML" for c in (brief, inbound, draft))
    assert "<b>" in brief.params["text"] and "Jordan Ellis" in brief.params["text"]
    assert "furnace in a 3-bedroom house" in inbound.params["text"]
    assert keyboard(draft) == [
        [
            ("Approve", f"sd:approve:{draft_id}"),
            ("Edit", f"sd:edit:{draft_id}"),
            ("Pause", f"sd:pause:{lead_id}"),
            ("Skip", f"sd:skip:{draft_id}"),
        ],
        [("Quoted", f"sd:quoted:{lead_id}"), ("Won…", f"sd:won:{lead_id}"), ("Lost…", f"sd:lost:{lead_id}")],
    ]

    recorder, _ = smtp
    before = len(tg.calls)
    await post(client, press(f"sd:approve:{draft_id}", cards[f"draft:{draft_id}"]))
    await settle(runtime)
    assert len(recorder.messages) == 1
    (answered,) = tg.made("answerCallbackQuery", since=before)
    assert answered.params["text"] == "Approved."
    edits = [
        c
        for c in tg.made("editMessageText", since=before)
        if int(c.params["message_id"]) == int(cards[f"draft:{draft_id}"].ref or 0)
    ]
    assert (
        edits
        and "Approved by Dana · sent" in edits[-1].params["text"]
        and "by email" in edits[-1].params["text"]
    )
    assert "reply_markup" not in edits[-1].params  # the keyboard goes once decided
    assert "sendMessage" not in tg.methods(since=before)  # edited in place

    # Pressed again (or Telegram resending): nothing changes, nothing is sent, the press is answered.
    before = len(tg.calls)
    await post(client, press(f"sd:approve:{draft_id}", cards[f"draft:{draft_id}"]))
    await settle(runtime)
    assert tg.methods(since=before) == ["answerCallbackQuery"]
    assert tg.calls[-1].params["text"] == "Nothing changed: already sent by Dana."
    assert len(recorder.messages) == 1


async def test_a_topic_reply_reaches_the_customer_and_a_note_does_not(
    rt: tuple[Runtime, Any], tg: FakeTelegram, smtp: Any
) -> None:
    runtime, client = rt
    lead_id, _, cards = await new_lead(rt, tg)
    recorder, _ = smtp
    root = cards[f"brief:{lead_id}"]
    before = len(tg.calls)
    await post(client, in_topic("Yes, we install heat pumps & <ducts> — Tuesday works?", root))
    await settle(runtime)
    assert len(recorder.messages) == 1
    body = recorder.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "Yes, we install heat pumps & <ducts> — Tuesday works?" in body
    await post(client, in_topic("note: call them after 5pm", root))
    await settle(runtime)
    assert len(recorder.messages) == 1
    with runtime.services.db.session() as s:
        notes = s.scalars(select(Message).where(Message.direction == "note")).all()
        assert [(n.text, n.author) for n in notes] == [("call them after 5pm", "Dana LastName")]
    # Neither the member's reply nor their note is echoed back into the topic.
    assert "sendMessage" not in tg.methods(since=before)


async def test_claim_and_release_by_reaction(rt: tuple[Runtime, Any], tg: FakeTelegram) -> None:
    runtime, client = rt
    lead_id, _, cards = await new_lead(rt, tg)
    brief = cards[f"brief:{lead_id}"]
    claim = [{"type": "emoji", "emoji": "✍"}]

    def react(new: list[Any], old: list[Any]) -> bytes:
        return update(
            "message_reaction.json", CHAT_ID=GROUP, MESSAGE_ID=int(brief.ref or 0), USER_ID=DANA,
            USER_NAME="Dana", NEW_REACTION=new, OLD_REACTION=old,
        )  # fmt: skip

    await post(client, react(claim, []))
    await settle(runtime)
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).owner == "Dana"
        assert s.scalars(select(TeamIdentity.user_id).where(TeamIdentity.lead_id == lead_id)).all() == [
            str(DANA)
        ]
    edits = tg.made("editMessageText")
    assert any("Claimed by Dana" in c.params["text"] for c in edits)
    await post(client, react([], claim))
    await settle(runtime)
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).owner is None


async def test_a_strangers_button_is_refused_and_logged(
    rt: tuple[Runtime, Any], tg: FakeTelegram, smtp: Any, caplog: Any
) -> None:
    runtime, client = rt
    _, draft_id, cards = await new_lead(rt, tg)
    before = len(tg.calls)
    with caplog.at_level(logging.INFO, logger="sheepdog.bot.telegram_team"):
        await post(
            client, press(f"sd:approve:{draft_id}", cards[f"draft:{draft_id}"], user=STRANGER, name="Mallory")
        )
        await settle(runtime)
    assert [c.method for c in tg.calls[before:]] == ["getChatMember", "answerCallbackQuery"]
    answered = tg.calls[-1].params
    assert answered["text"].startswith("Sorry, only members of the team group") and answered[
        "show_alert"
    ] in (True, "true", "True")
    assert f"refused Telegram user {STRANGER}" in caplog.text
    assert smtp[0].messages == []
    with runtime.services.db.session() as s:
        refused = s.scalars(select(Event).where(Event.kind == "telegram_refused")).one()
        assert refused.actor == "Mallory" and refused.data["user_id"] == STRANGER


async def test_pipeline_answers_in_the_topic_and_help_lists_the_commands(
    rt: tuple[Runtime, Any], tg: FakeTelegram
) -> None:
    _, client = rt
    lead_id, _, cards = await new_lead(rt, tg)
    root = cards[f"brief:{lead_id}"]
    before = len(tg.calls)
    await post(client, in_topic("/pipeline@brightside_team_bot", root))
    (said,) = tg.made("sendMessage", since=before)
    assert "<b>Pipeline</b>" in said.params["text"] and "new: 1 (unclaimed 1)" in said.params["text"]
    assert int(said.params["message_thread_id"]) == int(root.thread_ref or 0)
    before = len(tg.calls)
    await post(client, in_topic("/help", root))
    (said,) = tg.made("sendMessage", since=before)
    assert "/won &lt;lead&gt; [amount]" in said.params["text"]


async def test_edit_asks_with_force_reply_shows_the_text_back_then_sends_it(
    rt: tuple[Runtime, Any], tg: FakeTelegram, smtp: Any
) -> None:
    runtime, client = rt
    lead_id, draft_id, cards = await new_lead(rt, tg)
    root = cards[f"brief:{lead_id}"]
    before = len(tg.calls)
    await post(client, press(f"sd:edit:{draft_id}", cards[f"draft:{draft_id}"]))
    (prompt,) = tg.made("sendMessage", since=before)
    assert (
        prompt.params["reply_markup"]["force_reply"] is True
        and prompt.params["reply_markup"]["selective"] is True
    )
    assert f'<a href="tg://user?id={DANA}">Dana</a>' in prompt.params["text"]
    prompt_id = _sent_id(prompt)
    before = len(tg.calls)
    await post(
        client,
        in_topic("Hi Jordan, yes: we install heat pumps. Free visit Tuesday?", root, reply_to=prompt_id),
    )
    (preview,) = tg.made("sendMessage", since=before)
    assert "Hi Jordan, yes: we install heat pumps" in preview.params["text"]
    assert keyboard(preview) == [
        [("Send", f"sd:send_edit:{draft_id}"), ("Cancel", f"sd:cancel_edit:{draft_id}")]
    ]
    assert smtp[0].messages == []  # shown back, not sent yet
    preview_card = CardPost(container=str(GROUP), ref=str(_sent_id(preview)), thread_ref=root.thread_ref)
    await post(client, press(f"sd:send_edit:{draft_id}", preview_card))
    await settle(runtime)
    (mail,) = smtp[0].messages
    assert "Free visit Tuesday?" in mail.get_body(preferencelist=("plain",)).get_content()
    assert any("Edited and approved by Dana" in c.params["text"] for c in tg.made("editMessageText"))


def _sent_id(call: Any) -> int:
    """The message id the fake Bot API gave a sent message."""
    return int(call.result["message_id"])


async def test_won_asks_for_the_amount(rt: tuple[Runtime, Any], tg: FakeTelegram) -> None:
    runtime, client = rt
    lead_id, draft_id, cards = await new_lead(rt, tg)
    root = cards[f"brief:{lead_id}"]
    before = len(tg.calls)
    await post(client, press(f"sd:won:{lead_id}", cards[f"draft:{draft_id}"]))
    (prompt,) = tg.made("sendMessage", since=before)
    assert "the amount (or 'none')" in prompt.params["text"]
    await post(client, in_topic("lots", root, reply_to=_sent_id(prompt)))
    assert "not an amount" in tg.made("sendMessage")[-1].params["text"]
    await post(client, in_topic("$4,500", root, reply_to=_sent_id(prompt)))
    await settle(runtime)
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.stage, str(lead.outcome_value)) == ("won", "4500.00")
    assert "won" in tg.made("sendMessage")[-1].params["text"]


async def test_secret_token_malformed_unknown_and_replayed_updates(
    rt: tuple[Runtime, Any], tg: FakeTelegram, caplog: Any
) -> None:
    _, client = rt
    body = update(
        "supergroup_message.json", MESSAGE_ID=1, USER_ID=DANA, USER_NAME="Dana", CHAT_ID=GROUP, REPLY_TO_ID=1,
        TEXT="/help",
    )  # fmt: skip
    await post(client, body, secret="wrong", status=401)
    await post(client, body, secret=None, status=401)
    await post(client, body, secret=SECRET[:-1] + "X", status=401)
    assert tg.made("sendMessage") == []
    with caplog.at_level(logging.INFO):
        await post(client, b"{not json")
        await post(client, b'{"update_id": 5, "brand_new_update": {"x": 1}}')
        await post(client, b"[1, 2]")
    assert (
        "malformed update" in caplog.text
        and "unknown or malformed update 5 (brand_new_update)" in caplog.text
    )
    await post(client, body)
    await post(client, body)  # the same update_id again: handled once
    assert len(tg.made("sendMessage")) == 1


async def test_the_owners_private_chat_gets_the_waiting_draft_and_approves_it_once(
    make_settings: Any, tg: FakeTelegram, aiohttp_client: Any, smtp: Any
) -> None:
    settings = team_settings(
        make_settings, tg, group_chat_id=None, owner_chat_id=OWNER_CHAT, owner_user_id=OWNER_CHAT
    )
    runtime, client = await start(settings, aiohttp_client)
    try:
        await tg.wait_for(lambda: len(tg.made("setMyCommands")) == 1)
        assert [c.params["scope"] for c in tg.made("setMyCommands")] == [{"type": "all_private_chats"}]
        _, draft_id, _ = await new_lead((runtime, client), tg)
        (card,) = tg.made()
        assert card.method == "sendMessage" and int(card.params["chat_id"]) == OWNER_CHAT
        assert "Jordan Ellis" in card.params["text"] and "Waiting for approval" in card.params["text"]
        assert keyboard(card)[0][0] == ("Approve", f"sd:approve:{draft_id}")
        with runtime.services.db.session() as s:
            row = s.scalars(select(CardPost).where(CardPost.surface == "telegram:owner")).one()
            s.expunge(row)
        for _ in range(2):
            await post(client, press(f"sd:approve:{draft_id}", row, user=OWNER_CHAT, name="Sam"))
            await settle(runtime)
        assert len(smtp[0].messages) == 1
        edit = tg.made("editMessageText")[-1]
        assert int(edit.params["chat_id"]) == OWNER_CHAT and "Approved by Sam · sent" in edit.params["text"]
        # A command in the private chat is answered there.
        before = len(tg.calls)
        command = update(
            "private_text.json", MESSAGE_ID=5, USER_ID=OWNER_CHAT, USER_NAME="Sam", CHAT_ID=OWNER_CHAT,
            TEXT="/pipeline",
        )  # fmt: skip
        await post(client, command)
        (said,) = tg.made("sendMessage", since=before)
        assert int(said.params["chat_id"]) == OWNER_CHAT and "<b>Pipeline</b>" in said.params["text"]
    finally:
        runtime.services.db.dispose()


async def test_without_topics_a_reply_chain_under_the_brief(
    make_settings: Any, tg: FakeTelegram, aiohttp_client: Any, smtp: Any
) -> None:
    runtime, client = await start(team_settings(make_settings, tg, topics=False), aiohttp_client)
    try:
        lead_id, _, cards = await new_lead((runtime, client), tg)
        brief, *rest = tg.made()
        assert tg.methods() == ["sendMessage"] * 3 and "reply_parameters" not in brief.params
        root = int(cards[f"brief:{lead_id}"].ref or 0)
        assert all(c.params["reply_parameters"]["message_id"] == root for c in rest)
        reply = update(
            "supergroup_message.json", MESSAGE_ID=77, USER_ID=DANA, USER_NAME="Dana", CHAT_ID=GROUP,
            REPLY_TO_ID=root, TEXT="We can come Tuesday at 10.",
        )  # fmt: skip
        await post(client, reply)
        await settle(runtime)
        assert len(smtp[0].messages) == 1
    finally:
        runtime.services.db.dispose()


async def test_a_deleted_topic_or_a_removed_bot_is_reported_not_retried(
    rt: tuple[Runtime, Any], tg: FakeTelegram, caplog: Any
) -> None:
    runtime, client = rt
    tg.fail_next("sendMessage", 400, "Bad Request: message thread not found")
    with caplog.at_level(logging.WARNING):
        lead_id, _, _ = await new_lead(rt, tg)
    assert "the lead's Telegram topic is gone" in caplog.text
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).needs_attention.endswith("its Telegram topic was deleted")
        assert len(s.scalars(select(Event).where(Event.kind == "telegram_team_problem")).all()) == 1
    failed = [c.method for c in tg.calls if c.method.endswith("!400")]
    assert failed == ["sendMessage!400"]  # once: the sync job did not fail and retry

    kicked = update("my_chat_member.json", CHAT_ID=GROUP, USER_ID=DANA, USER_NAME="Dana", NEW_STATUS="kicked")
    await post(client, kicked)
    with runtime.services.db.session() as s:
        problems = [
            e.data["why"] for e in s.scalars(select(Event).where(Event.kind == "telegram_team_problem"))
        ]
        assert f"the bot was removed from chat {GROUP} (kicked)" in problems
    health = (await (await client.get("/api/jobs")).json())["health"]  # the console's banner
    assert f"Telegram: the bot was removed from chat {GROUP} (kicked)" in health["problem"]
    back = update(
        "my_chat_member.json", CHAT_ID=GROUP, USER_ID=DANA, USER_NAME="Dana", NEW_STATUS="administrator"
    )
    await post(client, back)
    health = (await (await client.get("/api/jobs")).json())["health"]
    assert "Telegram" not in (health["problem"] or "")


async def test_429_retry_after_is_honoured(rt: tuple[Runtime, Any], tg: FakeTelegram) -> None:
    tg.fail_next("createForumTopic", 429, "Too Many Requests: retry after 1", retry_after=1)
    await new_lead(rt, tg)
    assert [c.method for c in tg.calls if c.method.startswith("createForumTopic")] == [
        "createForumTopic!429",
        "createForumTopic",
    ]
    assert [m for m in tg.methods() if "!" not in m] == [
        "createForumTopic",
        "sendMessage",
        "sendMessage",
        "sendMessage",
    ]


async def test_send_photo_to_the_team_chat(rt: tuple[Runtime, Any], tg: FakeTelegram) -> None:
    runtime, _ = rt
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    message_id = await asyncio.to_thread(send_team_photo, runtime.services, png, "Week 48: 12 leads, 3 won")
    (sent,) = tg.made("sendPhoto")
    assert int(sent.params["chat_id"]) == GROUP and sent.params["caption"] == "Week 48: 12 leads, 3 won"
    assert sent.params["photo"] == png and message_id


async def test_slack_and_telegram_together_update_each_other_and_send_once(
    make_settings: Any, tg: FakeTelegram, aiohttp_client: Any, smtp: Any
) -> None:
    from tests.bot.slack_fake import FakeSlack
    from tests.bot.test_slack import check

    slack = FakeSlack()
    await slack.start()
    settings = team_settings(make_settings, tg)
    both = settings.model_copy(
        update={
            "slack": settings.slack.model_copy(
                update={
                    "enabled": True, "bot_token": "xoxb-test", "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
                    "channel": "C0LEADS", "owner_user_id": "UDANA", "api_base_url": slack.base_url + "/api",
                }
            )
        }
    )  # fmt: skip
    runtime, client = await start(both, aiohttp_client)
    try:
        _, draft_id, cards = await new_lead((runtime, client), tg)
        with runtime.services.db.session() as s:
            slack_ts = s.scalars(
                select(CardPost.ref).where(
                    CardPost.surface == "slack", CardPost.card_key == f"draft:{draft_id}"
                )
            ).one()
        before_slack = len(slack.calls)
        await post(client, press(f"sd:approve:{draft_id}", cards[f"draft:{draft_id}"]))
        await settle(runtime)
        assert len(smtp[0].messages) == 1
        slack_updates = [
            c for c in slack.calls[before_slack:] if c.method == "chat.update" and c.params["ts"] == slack_ts
        ]
        assert slack_updates and "Approved by Dana · sent" in slack_updates[-1].params["text"]
        # Approve pressed in Slack afterwards: nothing changes and nothing is sent twice.
        await check(client, slack, "block_actions__approve.json", DRAFT_ID=str(draft_id), CARD_TS=slack_ts)
        await settle(runtime)
        assert len(smtp[0].messages) == 1
    finally:
        runtime.services.db.dispose()
        await slack.stop()


async def test_an_escalation_mentions_the_on_call_member_in_the_topic(
    make_settings: Any, tg: FakeTelegram, aiohttp_client: Any
) -> None:
    runtime, client = await start(team_settings(make_settings, tg, on_call_user_id=DANA), aiohttp_client)
    try:
        lead_id, _, _ = await new_lead((runtime, client), tg)
        services = runtime.services
        with services.db.session() as s:
            services.log(s, "sla_escalated", lead_id, reason="unclaimed", on_call="U0SLACK")
        services.lead_changed(lead_id)
        await settle(runtime)
        (alert,) = [c for c in tg.made("sendMessage") if "nobody has claimed" in c.params["text"]]
        assert (
            f'<a href="tg://user?id={DANA}">on call</a> nobody has claimed this lead yet'
            in alert.params["text"]
        )
        assert "React with ✍ on the brief to take it." in alert.params["text"]
    finally:
        runtime.services.db.dispose()


async def test_a_note_edited_in_the_topic_changes_the_note(rt: tuple[Runtime, Any], tg: FakeTelegram) -> None:
    runtime, client = rt
    lead_id, _, cards = await new_lead(rt, tg)
    root = cards[f"brief:{lead_id}"]
    note = in_topic("note: gate code 1234", root)
    await post(client, note)
    message_id = json.loads(note)["message"]["message_id"]
    edited = update(
        "edited_message.json", MESSAGE_ID=message_id, USER_ID=DANA, USER_NAME="Dana", CHAT_ID=GROUP,
        THREAD_ID=int(root.thread_ref or 0), TEXT="note: gate code 4321",
    )  # fmt: skip
    await post(client, edited)
    await settle(runtime)
    with runtime.services.db.session() as s:
        (row,) = s.scalars(select(Message).where(Message.direction == "note")).all()
        assert row.text == "gate code 4321" and row.edits[0]["text"] == "gate code 1234"


async def test_long_polling_takes_the_same_updates(
    make_settings: Any, tg: FakeTelegram, aiohttp_client: Any, smtp: Any
) -> None:
    settings = team_settings(make_settings, tg, mode="polling", secret_token=None, poll_timeout_s=0)
    runtime, client = await start(settings, aiohttp_client)
    try:
        assert ROUTE not in {r.resource.canonical for r in runtime.app.router.routes() if r.resource}
        _, draft_id, cards = await new_lead((runtime, client), tg)
        tg.updates.append(json.loads(press(f"sd:approve:{draft_id}", cards[f"draft:{draft_id}"])))
        await tg.wait_for(lambda: len(tg.made("answerCallbackQuery")) == 1)
        await settle(runtime)
        assert len(smtp[0].messages) == 1
        polls = tg.made("getUpdates")
        assert json.loads(json.dumps(polls[0].params["allowed_updates"])) == [
            "message", "edited_message", "callback_query", "message_reaction", "my_chat_member"
        ]  # fmt: skip
        assert tg.made("deleteWebhook")
    finally:
        runtime.services.db.dispose()


async def test_one_shared_bot_routes_customer_dms_to_the_customer_channel(
    make_settings: Any, tg: FakeTelegram, aiohttp_client: Any
) -> None:
    settings = make_settings(
        policy={"first_reply": {"autonomy": "L3"}},
        channels={"telegram": {"enabled": True, "bot_token": "123456:SHARED", "secret_token": SECRET, "api_base_url": tg.base_url}},
        telegram_team={"enabled": True, "group_chat_id": GROUP, "api_base_url": tg.base_url},
    )  # fmt: skip
    runtime, client = await start(settings, aiohttp_client)
    try:
        dm = update(
            "private_text.json",
            MESSAGE_ID=11223,
            USER_ID=555,
            USER_NAME="Jordan",
            CHAT_ID=555,
            TEXT="Do you install heat pumps?",
        )
        await post(client, dm)
        await settle(runtime)
        with runtime.services.db.session() as s:
            lead = s.scalars(select(Lead)).one()
            assert lead.channel == "telegram"
        assert tg.methods()[:2] == ["createForumTopic", "sendMessage"]  # its topic opened in the team group
    finally:
        runtime.services.db.dispose()


async def test_the_weekly_report_goes_to_the_team_group_without_a_bot_of_its_own(
    rt: tuple[Runtime, Any], tg: FakeTelegram
) -> None:
    from datetime import UTC, datetime

    from sheepdog.reports import job, weekly

    runtime, _ = rt
    services = runtime.services
    assert job.telegram_target(services.settings) == ("123456:TEAM-token", str(GROUP), tg.base_url)
    now = datetime(2026, 11, 30, 14, tzinfo=UTC)
    _, period = weekly.due(now, services.business.timezone)
    report = weekly.build(services.db, now, services.business.timezone, services.business.currency, period)
    await asyncio.to_thread(job.destinations(services)["telegram"], report)
    (photo,) = tg.made("sendPhoto")
    assert int(photo.params["chat_id"]) == GROUP and photo.params["photo"].startswith(b"\x89PNG")


async def test_a_group_without_topics_falls_back_to_a_reply_chain(
    rt: tuple[Runtime, Any], tg: FakeTelegram
) -> None:
    tg.fail_next("createForumTopic", 400, "Bad Request: the chat is not a forum")
    lead_id, _, cards = await new_lead(rt, tg)
    assert tg.methods() == ["createForumTopic!400", "sendMessage", "sendMessage", "sendMessage"]
    root = cards[f"brief:{lead_id}"]
    assert root.thread_ref is None
    assert all(
        c.params["reply_parameters"]["message_id"] == int(root.ref or 0) for c in tg.made("sendMessage")[1:]
    )


def topic_calls(tg: FakeTelegram, since: int = 0) -> list[tuple[str, int, int]]:
    """(method, chat, topic) of every closeForumTopic / reopenForumTopic, failed ones included."""
    return [
        (c.method, int(c.params["chat_id"]), int(c.params["message_thread_id"]))
        for c in tg.calls[since:]
        if c.method.split("!")[0] in ("closeForumTopic", "reopenForumTopic")
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def on_both(request: pytest.FixtureRequest, make_settings: Any) -> Any:
    """make_settings on SQLite, then on PostgreSQL: what the topic's state is read from."""
    if request.param == "sqlite":
        return make_settings
    storage = {"url": request.getfixturevalue("pg_url")}
    return lambda **overrides: make_settings(**({"storage": storage} | overrides))


async def test_won_or_lost_closes_the_topic_and_an_open_stage_reopens_it(
    on_both: Any, tg: FakeTelegram, aiohttp_client: Any
) -> None:
    runtime, client = await start(team_settings(on_both, tg), aiohttp_client)
    rt = (runtime, client)
    try:
        lead_id, _, cards = await new_lead(rt, tg)
        root = cards[f"brief:{lead_id}"]
        thread = int(root.thread_ref or 0)
        assert topic_calls(tg) == []  # a new lead's topic stays open

        before = len(tg.calls)
        await post(client, in_topic(f"/won {lead_id} 4500", root))
        await settle(runtime)
        assert topic_calls(tg, before) == [("closeForumTopic", GROUP, thread)]
        # closed after the cards were brought up to date: the brief already says Won
        methods = tg.methods(since=before)
        assert methods[-1] == "closeForumTopic" and "editMessageText" in methods[:-1]
        assert tg.closed_topics == {thread}

        before = len(tg.calls)
        await post(client, in_topic(f"/quoted {lead_id}", root))
        await settle(runtime)
        assert topic_calls(tg, before) == [("reopenForumTopic", GROUP, thread)]
        # the command's answer and the sync that reopens the topic (a queued job: under load it can
        # come first, and an admin bot may write in a closed topic, so either order is right)
        assert sorted(tg.methods(since=before)[:2]) == ["reopenForumTopic", "sendMessage"]
        assert tg.closed_topics == set()

        before = len(tg.calls)
        await post(client, in_topic(f"/lost {lead_id} went with a competitor", root))
        await settle(runtime)
        assert topic_calls(tg, before) == [("closeForumTopic", GROUP, thread)]

        before = len(tg.calls)
        runtime.services.lead_changed(lead_id)  # another sync of a closed lead: nothing more to do
        await settle(runtime)
        assert topic_calls(tg, before) == []
        with runtime.services.db.session() as s:
            kinds = s.scalars(
                select(Event.kind)
                .where(Event.lead_id == lead_id, Event.kind.like("telegram_topic_%"))
                .order_by(Event.id)
            ).all()
            assert kinds == ["telegram_topic_closed", "telegram_topic_reopened", "telegram_topic_closed"]
            assert s.get(Lead, lead_id).stage == "lost"
    finally:
        runtime.services.db.dispose()


async def test_the_customer_writing_again_reopens_a_closed_topic(
    on_both: Any, tg: FakeTelegram, aiohttp_client: Any
) -> None:
    settings = on_both(
        policy={"first_reply": {"autonomy": "L3"}},
        channels={"telegram": {"enabled": True, "bot_token": "123456:SHARED", "secret_token": SECRET, "api_base_url": tg.base_url}},
        telegram_team={"enabled": True, "group_chat_id": GROUP, "api_base_url": tg.base_url},
    )  # fmt: skip
    runtime, client = await start(settings, aiohttp_client)

    def dm(text: str) -> bytes:
        return update(
            "private_text.json", MESSAGE_ID=next(_update_ids), USER_ID=555, USER_NAME="Jordan", CHAT_ID=555, TEXT=text
        )  # fmt: skip

    try:
        await post(client, dm("Do you install heat pumps?"))
        await settle(runtime)
        with runtime.services.db.session() as s:
            lead_id = s.scalars(select(Lead.id)).one()
            root = s.scalars(select(CardPost).where(CardPost.card_key == f"brief:{lead_id}")).one()
            s.expunge(root)
        thread = int(root.thread_ref or 0)
        await post(client, in_topic(f"/won {lead_id} none", root))
        await settle(runtime)
        assert topic_calls(tg) == [("closeForumTopic", GROUP, thread)]

        before = len(tg.calls)
        await post(client, dm("One more thing: can you also look at the thermostat?"))
        await settle(runtime)
        with runtime.services.db.session() as s:
            assert s.get(Lead, lead_id).stage == "won"  # the stage stays; the conversation goes on
        assert topic_calls(tg, before) == [("reopenForumTopic", GROUP, thread)]
        methods = tg.methods(since=before)
        mirrored = [
            i
            for i, c in enumerate(tg.made(since=before))
            if c.method == "sendMessage" and "thermostat" in c.params["text"]
        ]
        assert mirrored and methods.index("reopenForumTopic") < mirrored[0]  # reopened, then mirrored
        assert tg.closed_topics == set()
    finally:
        runtime.services.db.dispose()


@pytest.mark.parametrize(
    ("status", "description", "extra", "again"),
    [
        (400, "Bad Request: message thread not found", {}, False),  # deleted by a member: nothing to close
        (400, "Bad Request: CHAT_NOT_MODIFIED", {}, True),
        (429, "Too Many Requests: retry after 30", {"retry_after": 30}, True),  # too long to wait in a job
    ],
    ids=["topic-deleted", "400", "429-long"],
)
async def test_a_topic_that_cannot_be_closed_is_logged_and_the_stage_stands(
    rt: tuple[Runtime, Any],
    tg: FakeTelegram,
    caplog: Any,
    status: int,
    description: str,
    extra: dict[str, Any],
    again: bool,
) -> None:
    runtime, client = rt
    lead_id, _, cards = await new_lead(rt, tg)
    root = cards[f"brief:{lead_id}"]
    thread = int(root.thread_ref or 0)
    tg.fail_next("closeForumTopic", status, description, **extra)
    before = len(tg.calls)
    with caplog.at_level(logging.INFO):
        await post(client, in_topic(f"/won {lead_id} 4500", root))
        await settle(runtime)
    assert topic_calls(tg, before) == [(f"closeForumTopic!{status}", GROUP, thread)]  # once: no job retry
    assert f"could not close the topic of lead {lead_id}" in caplog.text
    assert "job sync_surfaces" not in caplog.text  # the sync job itself did not fail
    said = tg.made("sendMessage", since=before)[0].params["text"]
    assert f"Lead #{lead_id}" in said and "won" in said
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).stage == "won"
    # The lead's next sync tries again unless the topic is gone.
    before = len(tg.calls)
    runtime.services.lead_changed(lead_id)
    await settle(runtime)
    assert topic_calls(tg, before) == ([("closeForumTopic", GROUP, thread)] if again else [])


async def test_a_short_429_on_close_is_waited_out(rt: tuple[Runtime, Any], tg: FakeTelegram) -> None:
    runtime, client = rt
    lead_id, _, cards = await new_lead(rt, tg)
    root = cards[f"brief:{lead_id}"]
    tg.fail_next("closeForumTopic", 429, "Too Many Requests: retry after 1", retry_after=1)
    await post(client, in_topic(f"/lost {lead_id} no budget", root))
    await settle(runtime)
    thread = int(root.thread_ref or 0)
    assert topic_calls(tg) == [("closeForumTopic!429", GROUP, thread), ("closeForumTopic", GROUP, thread)]


async def test_visit_scheduled_asks_when_and_asks_again_rather_than_guess(
    on_both: Any, tg: FakeTelegram, aiohttp_client: Any
) -> None:
    """The button asks "When is the visit?" with a ForceReply; an hour that could be morning or
    evening and a time already gone are asked again (nothing recorded); a clear time books the
    visit through the same team action as /visit, by the member, and the brief says so in place."""
    runtime, client = await start(team_settings(on_both, tg), aiohttp_client)
    try:
        lead_id, draft_id, cards = await new_lead((runtime, client), tg)
        root = cards[f"brief:{lead_id}"]
        chicago = ZoneInfo("America/Chicago")
        today = runtime.services.now().astimezone(chicago).date()
        yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)

        before = len(tg.calls)
        await post(client, press(f"sd:visit_scheduled:{lead_id}", cards[f"draft:{draft_id}"]))
        assert tg.methods(since=before) == ["sendMessage", "answerCallbackQuery"]
        ((prompt,), (answered,)) = (
            tg.made("sendMessage", since=before),
            tg.made("answerCallbackQuery", since=before),
        )
        assert answered.params["text"] == "Reply to my message."
        assert prompt.params["reply_markup"] == {
            "force_reply": True,
            "selective": True,
            "input_field_placeholder": "thu 9am",
        }
        assert int(prompt.params["message_thread_id"]) == int(root.thread_ref or 0)
        assert prompt.params["text"] == (
            f'<a href="tg://user?id={DANA}">Dana</a>, when is the visit for lead #{lead_id}? Reply to '
            "this message with the day and time, e.g. <code>thu 9am</code>, <code>tomorrow 14:30</code> "
            "or <code>2026-12-03 9:00</code> (America/Chicago time). The customer is reminded before it."
        )

        async def answer(text: str, to: Any) -> Any:
            """Reply to a prompt; the one message Sheepdog sends back."""
            before = len(tg.calls)
            await post(client, in_topic(text, root, reply_to=_sent_id(to)))
            await settle(runtime)
            said = tg.made("sendMessage", since=before)
            assert len(said) == 1, [c.params["text"] for c in said]
            return said[0]

        again = await answer("thu 9", prompt)
        assert again.params["reply_markup"]["force_reply"] is True
        assert again.params["text"].startswith(
            "Not recorded: '9' could be morning or evening: say 9am or 9pm (or 09:00); "
            "e.g. 'thu 9am' or 'tomorrow 14:30'.\n"
        ), again.params["text"]
        assert f"when is the visit for lead #{lead_id}?" in again.params["text"]
        gone = await answer(f"{yesterday:%Y-%m-%d} 10:00", again)
        assert f"Not recorded: {yesterday:%a %d %b} 10:00 has already passed" in gone.params["text"]
        with runtime.services.db.session() as s:
            lead = s.get(Lead, lead_id)
            assert lead.stage != "visit_scheduled" and lead.visit_at is None
            assert not s.scalars(select(Event).where(Event.kind == "visit_scheduled")).all()

        before = len(tg.calls)
        done = await answer("tomorrow 2:30pm", gone)
        booked = datetime.combine(tomorrow, time(14, 30), chicago)
        assert done.params["text"].startswith(f"Lead #{lead_id}: visit {booked:%a %d %b} 14:30")
        with runtime.services.db.session() as s:
            lead = s.get(Lead, lead_id)
            assert (lead.stage, lead.visit_at) == ("visit_scheduled", booked.astimezone(UTC))
            (event,) = s.scalars(select(Event).where(Event.kind == "visit_scheduled")).all()
            assert event.actor == "Dana LastName"  # who answered, as the fixture names them
        brief = [
            c
            for c in tg.made("editMessageText", since=before)
            if int(c.params["message_id"]) == int(root.ref or 0)
        ]
        assert brief and "visit scheduled" in brief[-1].params["text"] and "14:30" in brief[-1].params["text"]
    finally:
        runtime.services.db.dispose()
