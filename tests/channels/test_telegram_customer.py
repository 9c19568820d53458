"""Telegram customer bot: real Update payloads, the secret token, handled vs ignored types, sending."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheepdog.channels.base import Outbound
from sheepdog.channels.telegram_customer import (
    HANDLED_UPDATES,
    IGNORED_UPDATES,
    TelegramCustomerParser,
    TelegramPoller,
    TelegramSender,
)
from sheepdog.domain.models import Channel, InboundMessage
from sheepdog.errors import PermanentSendError, TransientSendError
from tests.bot.telegram_fake import FakeTelegram
from tests.channels.helpers import check_event, expect_noop, expect_refused, load, parse_or_refuse, raw

SECRET = "tg-secret-token_123"
BOT_TOKEN = "123456:TEST-token"


def update(name: str, secret: str | None = SECRET, body: bytes | None = None) -> Any:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return raw(body if body is not None else load("telegram", name), headers=headers)


@pytest.fixture
def parser() -> TelegramCustomerParser:
    return TelegramCustomerParser(SECRET)


def test_text_message(parser: TelegramCustomerParser) -> None:
    msg = check_event(
        parser,
        update("message__text.json"),
        channel=Channel.TELEGRAM,
        text="Hi, world!",
        sender_name="FirstName LastName",
        sender_handle="12345678",
        provider_message_id="12345678:11223",
        source="telegram",
        edited=False,
        spam_reason=None,
    )
    assert msg.fields == {"telegram_username": "username"}
    assert msg.received_at.year == 2017


def test_edited_message_keeps_the_same_id(parser: TelegramCustomerParser) -> None:
    check_event(
        parser,
        update("edited_message.json"),
        text="hi there (edited)",
        edited=True,
        provider_message_id="12345678:12345",
        sender_handle="12345678",
    )


def test_photo_caption_and_largest_size(parser: TelegramCustomerParser) -> None:
    msg = check_event(parser, update("message__photo.json"), text="photo description")
    assert len(msg.attachments) == 1
    att = msg.attachments[0]
    assert (
        att.content_type == "image/jpeg"
        and att.url
        and att.url.startswith("tg-file:AgADBAAD")
        and att.size == 1101
    )


def test_document_as_attachment(parser: TelegramCustomerParser) -> None:
    msg = check_event(parser, update("message__document.json"), text="Read my document")
    (att,) = msg.attachments
    assert att.filename == "test.docx" and att.size == 21331
    assert att.content_type.startswith("application/vnd.openxmlformats")


def test_voice_without_text(parser: TelegramCustomerParser) -> None:
    msg = check_event(parser, update("message__voice.json"), text="")
    assert [a.content_type for a in msg.attachments] == ["audio/ogg"]


def test_reply_to_message(parser: TelegramCustomerParser) -> None:
    check_event(
        parser, update("message__reply.json"), text="Reply to quoted message", sender_handle="12345678"
    )


def test_start_deep_link_payload_is_the_source(parser: TelegramCustomerParser) -> None:
    check_event(parser, update("message__start_deep_link.json"), source="fb_spring_ad", triage_text="")


@pytest.mark.parametrize("name", ["shipping_query.json", "pre_checkout_query.json"])
def test_ignored_update_types_do_nothing(parser: TelegramCustomerParser, name: str) -> None:
    expect_noop(parser, update(name))


def test_unknown_update_type_is_logged_noop(parser: TelegramCustomerParser, caplog: Any) -> None:
    body = json.dumps({"update_id": 1, "brand_new_update": {"x": 1}}).encode()
    expect_noop(parser, update("", body=body))
    assert "unknown update type 'brand_new_update'" in caplog.text


def test_group_chat_message_is_noop(parser: TelegramCustomerParser) -> None:
    data = json.loads(load("telegram", "message__text.json"))
    data["message"]["chat"] = {"id": -100123, "title": "Some group", "type": "supergroup"}
    expect_noop(parser, update("", body=json.dumps(data).encode()))


def test_bot_sender_is_held_as_spam(parser: TelegramCustomerParser) -> None:
    data = json.loads(load("telegram", "message__text.json"))
    data["message"]["from"]["is_bot"] = True
    msg = check_event(parser, update("", body=json.dumps(data).encode()))
    assert msg.spam_reason


def test_handled_and_ignored_lists_are_disjoint() -> None:
    assert not set(HANDLED_UPDATES) & set(IGNORED_UPDATES)
    assert set(HANDLED_UPDATES) == {"message", "edited_message"}


# -- the webhook's secret token ----------------------------------------------------------------


def test_secret_token_wrong_and_missing(parser: TelegramCustomerParser) -> None:
    expect_refused(parser, update("message__text.json", secret="not-the-secret"), 401)
    expect_refused(parser, update("message__text.json", secret=None), 401)
    expect_refused(parser, update("message__text.json", secret=""), 401)


def test_replayed_update_dedups_by_chat_and_message_id(parser: TelegramCustomerParser) -> None:
    """Telegram signs no timestamp: a replay parses to the same provider id, which stores once."""
    first = parser.parse(update("message__text.json"))[0]
    again = parser.parse(update("message__text.json"))[0]
    assert first.provider_message_id == again.provider_message_id


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[]", 422), (b'{"update_id": "1"}', 422), (b'{"update_id": 5}', 422)],
)
def test_bad_bodies(parser: TelegramCustomerParser, body: bytes, status: int) -> None:
    expect_refused(parser, update("", body=body), status)


REAL = [
    load("telegram", n)
    for n in ("message__text.json", "edited_message.json", "message__photo.json", "message__document.json")
]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(body: bytes) -> None:
    parse_or_refuse(TelegramCustomerParser(SECRET), update("", body=body))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(base=st.sampled_from(REAL), path_choice=st.integers(0, 50), value=json_values, cut=st.integers(0, 400))
def test_mutated_real_updates_never_raise(base: bytes, path_choice: int, value: Any, cut: int) -> None:
    parser = TelegramCustomerParser(SECRET)
    data = json.loads(base)
    # replace one nested value of the real update with an arbitrary JSON value
    slots: list[tuple[dict[str, Any], str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                slots.append((node, k))
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    holder, key = slots[path_choice % len(slots)]
    holder[key] = value
    parse_or_refuse(parser, update("", body=json.dumps(data).encode()))
    parse_or_refuse(parser, update("", body=base[:cut]))


# -- sending and polling: python-telegram-bot against a local Bot API server ------------------


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeTelegram]:
    """The tests' one local Bot API server (tests/bot/telegram_fake.py), here for a customer's chat."""
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


def _out(handle: str | None = "12345678") -> Outbound:
    return Outbound(outbox_id=1, channel=Channel.TELEGRAM, body="Hi! Brightside here.", to_handle=handle)


async def test_send_message(bot_api: FakeTelegram) -> None:
    message_id = await TelegramSender(BOT_TOKEN, api_base_url=bot_api.base_url).send(_out())
    sends = [c.params for c in bot_api.made("sendMessage")]
    assert (
        len(sends) == 1
        and str(sends[0]["chat_id"]) == "12345678"
        and sends[0]["text"] == "Hi! Brightside here."
    )
    assert message_id.isdigit()


async def test_429_is_transient_with_retry_after(bot_api: FakeTelegram) -> None:
    bot_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(TransientSendError) as info:
        await TelegramSender(BOT_TOKEN, api_base_url=bot_api.base_url).send(_out())
    assert info.value.retry_after_s == 3


@pytest.mark.parametrize(
    ("status", "description", "error"),
    [
        (400, "Bad Request: chat not found", PermanentSendError),
        (403, "Forbidden: bot was blocked by the user", PermanentSendError),
        (502, "Bad Gateway", TransientSendError),
    ],
)
async def test_errors_are_classified(
    bot_api: FakeTelegram, status: int, description: str, error: type[Exception]
) -> None:
    bot_api.fail_next("sendMessage", status, description)
    with pytest.raises(error):
        await TelegramSender(BOT_TOKEN, api_base_url=bot_api.base_url).send(_out())


async def test_unreachable_is_transient() -> None:
    with pytest.raises(TransientSendError):
        await TelegramSender(BOT_TOKEN, api_base_url="http://127.0.0.1:9").send(_out())


async def test_no_chat_id_is_permanent() -> None:
    with pytest.raises(PermanentSendError):
        await TelegramSender(BOT_TOKEN, api_base_url="http://127.0.0.1:9").send(_out(handle=None))


async def test_polling_delivers_each_update_once(bot_api: FakeTelegram) -> None:
    bot_api.updates = [json.loads(load("telegram", n)) for n in ("message__text.json", "edited_message.json")]
    bot_api.updates.append(json.loads(load("telegram", "shipping_query.json")))
    got: list[InboundMessage] = []

    async def deliver(msg: InboundMessage) -> None:
        got.append(msg)

    poller = TelegramPoller(BOT_TOKEN, deliver, api_base_url=bot_api.base_url, timeout_s=0)
    async with poller.bot:
        assert await poller.poll_once() == 3
        assert await poller.poll_once() == 0  # confirmed offset: nothing fetched twice
    assert [m.text for m in got] == ["Hi, world!", "hi there (edited)"]
    assert [m.edited for m in got] == [False, True]
    offsets = [c.params.get("offset") for c in bot_api.made("getUpdates")]
    assert int(offsets[-1]) == max(u["update_id"] for u in bot_api.updates) + 1


async def test_an_update_that_keeps_failing_is_kept_and_skipped(bot_api: FakeTelegram) -> None:
    """One update our side cannot process must not block every update behind it forever."""
    bot_api.updates = [json.loads(load("telegram", n)) for n in ("message__text.json", "edited_message.json")]
    poison = bot_api.updates[0]["message"]["text"]
    got: list[str] = []
    kept: list[tuple[str, str]] = []

    async def deliver(msg: InboundMessage) -> None:
        if msg.text == poison:
            raise RuntimeError("storage refused this one")
        got.append(msg.text)

    async def reject(source: str, raw: bytes, reason: str) -> None:
        kept.append((source, reason))
        assert json.loads(raw)["message"]["text"] == poison  # the raw update is what is kept

    poller = TelegramPoller(BOT_TOKEN, deliver, api_base_url=bot_api.base_url, timeout_s=0, reject=reject)
    async with poller.bot:
        for _ in range(4):
            with pytest.raises(RuntimeError):
                await poller.poll_once()  # retried: the offset does not move past it yet
        assert got == [] and kept == []
        await poller.poll_once()  # fifth failure: kept, skipped, and the next update goes through
    assert kept and kept[0][0] == "telegram:polling" and "gave up after 5 attempts" in kept[0][1]
    assert got == ["hi there (edited)"]
