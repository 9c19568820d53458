"""Telegram DMs to the business's customer-facing bot: webhook or long polling in, Bot API out.

Telegram authenticates a webhook with the secret token given to setWebhook (sent back in
X-Telegram-Bot-Api-Secret-Token); it signs no timestamp, so a replayed update is caught by its
(chat id, message id), which the store de-duplicates. Every update type is either handled or
explicitly ignored; an unknown one is logged and answered 200 so Telegram does not retry it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from sheepdog import safejson
from sheepdog.channels.base import HttpReply, Outbound, PoisonGuard, Reject
from sheepdog.domain.models import Attachment, Channel, InboundMessage, RawRequest
from sheepdog.errors import (
    BadInputError,
    PermanentSendError,
    SignatureError,
    TransientSendError,
    UncertainSendError,
)

SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""Telegram's alphabet for setWebhook's secret_token."""

log = logging.getLogger(__name__)

# PTB 22 warns on every rate limit that RetryAfter.retry_after becomes a timedelta (it reads this
# variable when the error is built); opt in now, send() takes both types.
os.environ.setdefault("PTB_TIMEDELTA", "1")

Update = dict[str, Any]

# Update types that carry a customer's message to us.
HANDLED_UPDATES: dict[str, bool] = {"message": False, "edited_message": True}  # type -> is an edit
# Update types a customer-facing DM bot deliberately does nothing with.
IGNORED_UPDATES: tuple[str, ...] = (
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# Message fields that are files: (field, default content type).
_FILE_FIELDS: tuple[tuple[str, str], ...] = (
    ("document", "application/octet-stream"),
    ("audio", "audio/mpeg"),
    ("voice", "audio/ogg"),
    ("video", "video/mp4"),
    ("video_note", "video/mp4"),
    ("animation", "video/mp4"),
    ("sticker", "image/webp"),
)


def _attachments(msg: dict[str, Any]) -> tuple[Attachment, ...]:
    """Files as attachments; url is a tg-file: reference that getFile turns into a download."""
    out: list[Attachment] = []
    photos = msg.get("photo")
    if isinstance(photos, list) and photos:
        sizes = [p for p in photos if isinstance(p, dict) and p.get("file_id")]
        if sizes:
            best = max(
                sizes, key=lambda p: (_int(p.get("width")) * _int(p.get("height")), _int(p.get("file_size")))
            )
            out.append(
                Attachment(
                    "image/jpeg", f"tg-file:{best['file_id']}", None, _int(best.get("file_size")) or None
                )
            )
    for key, default_type in _FILE_FIELDS:
        item = msg.get(key)
        if isinstance(item, dict) and item.get("file_id"):
            out.append(
                Attachment(
                    str(item.get("mime_type") or default_type),
                    f"tg-file:{item['file_id']}",
                    str(item["file_name"]) if item.get("file_name") else None,
                    _int(item.get("file_size")) or None,
                )
            )
    return tuple(out)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _when(ts: object) -> datetime:
    if isinstance(ts, int) and not isinstance(ts, bool) and 0 < ts < 2**33:
        return datetime.fromtimestamp(ts, UTC)
    return datetime.now(UTC)


def parse_update(update: Update, raw: bytes) -> list[InboundMessage]:
    """One Bot API Update → zero or one InboundMessage. Ignored and unknown types give []."""
    kind = next((k for k in update if k != "update_id"), None)
    if kind is None:
        raise BadInputError("update has no content: expected e.g. a message or edited_message", status=422)
    if kind in IGNORED_UPDATES:
        log.info("telegram: ignoring %s update %s", kind, update.get("update_id"))
        return []
    if kind not in HANDLED_UPDATES:
        log.warning("telegram: unknown update type %r (update %s) ignored", kind, update.get("update_id"))
        return []
    msg = update[kind]
    if not isinstance(msg, dict):
        raise BadInputError(f"{kind} must be an object", status=422)
    chat, sender = msg.get("chat"), msg.get("from") or {}
    if (
        not isinstance(chat, dict)
        or not isinstance(chat.get("id"), int)
        or not isinstance(msg.get("message_id"), int)
    ):
        raise BadInputError(f"{kind} needs chat.id and message_id", status=422)
    if chat.get("type", "private") != "private":
        log.info("telegram: ignoring %s in a %s chat %s", kind, chat.get("type"), chat.get("id"))
        return []
    if not isinstance(sender, dict):
        sender = {}
    text = msg.get("text") if isinstance(msg.get("text"), str) else msg.get("caption")
    text = text if isinstance(text, str) else ""
    source: str | None = "telegram"
    triage_text: str | None = None
    if text == "/start" or text.startswith("/start "):
        payload = text[len("/start") :].strip()
        source = payload or "telegram"  # deep link t.me/<bot>?start=<payload>: where the lead came from
        triage_text = ""
    name = " ".join(str(sender[k]) for k in ("first_name", "last_name") if sender.get(k)) or None
    fields = {"telegram_username": str(sender["username"])} if sender.get("username") else {}
    edited = HANDLED_UPDATES[kind]
    return [
        InboundMessage(
            channel=Channel.TELEGRAM,
            text=text,
            received_at=_when(msg.get("edit_date") if edited else msg.get("date")),
            raw=raw,
            raw_content_type="application/json",
            sender_name=name,
            sender_handle=str(chat["id"]),
            provider_message_id=f"{chat['id']}:{msg['message_id']}",
            source=source,
            attachments=_attachments(msg),
            fields=fields,
            triage_text=triage_text,
            edited=edited,
            spam_reason="the sender is a bot account" if sender.get("is_bot") is True else None,
        )
    ]


class TelegramCustomerParser:
    """POST /hooks/telegram/customer: one Update per request, checked with the webhook's secret token."""

    channel = Channel.TELEGRAM

    def __init__(self, secret_token: str) -> None:
        if not secret_token:
            raise ValueError("a Telegram webhook needs channels.telegram.secret_token")
        if not SECRET_TOKEN_RE.fullmatch(secret_token):
            raise ValueError("channels.telegram.secret_token must be 1-256 of A-Z a-z 0-9 _ -")
        self.secret_token = secret_token

    def parse(self, request: RawRequest) -> list[InboundMessage]:
        given = request.header("x-telegram-bot-api-secret-token")
        if not given:
            raise SignatureError("missing X-Telegram-Bot-Api-Secret-Token header")
        # Exact bytes, constant time: no stripping, no case folding (" secret" is not "secret").
        # (On the wire HTTP itself drops spaces around a header value, RFC 9110 §5.5; what reaches
        # here is compared as it is, and a value outside Telegram's alphabet is refused outright.)
        if not SECRET_TOKEN_RE.fullmatch(given) or not hmac.compare_digest(
            given.encode(), self.secret_token.encode()
        ):
            raise SignatureError("wrong X-Telegram-Bot-Api-Secret-Token")
        update = safejson.loads(request.body)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise BadInputError(
                "not a Telegram Update: an object with an integer update_id is expected", status=422
            )
        return parse_update(update, request.body)

    def reply(self, instant_reply: str | None) -> HttpReply:
        return HttpReply(200, '{"ok": true}', "application/json")


def make_bot(token: str, api_base_url: str | None = None) -> Bot:
    """A python-telegram-bot Bot, optionally pointed at another Bot API server (tests, local server)."""
    if api_base_url:
        base = api_base_url.rstrip("/")
        return Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
    return Bot(token)


# httpx failures after the whole request was written: the Bot API may have sent the message and
# only its answer was lost. sendMessage has no idempotency key, so these are never retried blindly.
_ANSWER_LOST = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def _answer_lost(exc: BaseException) -> bool:
    """Whether PTB's TimedOut/NetworkError came from a request that reached the server."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _ANSWER_LOST):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class TelegramSender:
    """Sends a DM through the Bot API; classifies failures for the outbox's retry logic.

    429 (retry_after) and 5xx are retried: Telegram did not send. A connect timeout or a refused
    connection never reached it: retried. A read timeout or a dropped answer after the request went
    out is uncertain: sendMessage has no idempotency key, so resending could DM the customer twice."""

    channel = Channel.TELEGRAM

    def __init__(self, token: str, *, api_base_url: str | None = None, timeout_s: float = 15.0) -> None:
        self.token, self.api_base_url, self.timeout_s = token, api_base_url, timeout_s

    async def send(self, message: Outbound) -> str:
        if not message.to_handle:
            raise PermanentSendError("no Telegram chat id to send to")
        # A Bot of its own per send: jobs send from several threads, each on its own event loop,
        # and one shared Bot's `async with` shut its HTTP client under a send still in flight.
        bot = make_bot(self.token, self.api_base_url)
        sending = False  # getMe (in `async with`) failing this way sent nothing
        try:
            async with bot:
                sending = True
                sent = await bot.send_message(
                    chat_id=message.to_handle, text=message.body, read_timeout=self.timeout_s
                )
        except RetryAfter as exc:
            after = exc.retry_after  # a timedelta with PTB_TIMEDELTA, seconds on older PTB
            seconds = after.total_seconds() if hasattr(after, "total_seconds") else float(after)
            raise TransientSendError(f"Telegram rate limit: retry after {seconds:g}s", seconds) from exc
        except (BadRequest, Forbidden, InvalidToken) as exc:
            raise PermanentSendError(f"Telegram refused the message: {exc.message}") from exc
        except (TimedOut, NetworkError) as exc:
            if sending and _answer_lost(exc):
                raise UncertainSendError(
                    f"Telegram did not answer after taking the request: {exc.message}"
                ) from exc
            raise TransientSendError(f"Telegram unreachable or failing: {exc.message}") from exc
        except TelegramError as exc:
            raise PermanentSendError(f"Telegram error: {exc.message}") from exc
        return str(sent.message_id)


class TelegramPoller:
    """Long polling (getUpdates) for machines with no public URL; updates go through parse_update."""

    def __init__(
        self,
        token: str,
        deliver: Callable[[InboundMessage], Awaitable[object]],
        *,
        api_base_url: str | None = None,
        timeout_s: int = 30,
        error_backoff_s: float = 5.0,
        reject: Reject | None = None,
    ) -> None:
        self.bot = make_bot(token, api_base_url)
        self.deliver = deliver
        self.timeout_s = timeout_s
        self.error_backoff_s = error_backoff_s
        self.offset: int | None = None
        self.reject = reject or _log_only
        self.guard = PoisonGuard()

    async def poll_once(self) -> int:
        """One getUpdates round; returns how many updates were consumed."""
        updates = await self.bot.get_updates(
            offset=self.offset, timeout=self.timeout_s, allowed_updates=list(HANDLED_UPDATES)
        )
        for upd in updates:
            data = upd.to_dict()
            raw = json.dumps(data).encode()
            try:
                messages = parse_update(data, raw)
            except BadInputError as exc:
                log.warning("telegram: update %s refused: %s", upd.update_id, exc)
                await self.reject("telegram:polling", raw, str(exc))
                messages = []
            for i, msg in enumerate(messages):
                await self.guard.deliver(
                    f"{upd.update_id}:{i}",
                    raw,
                    "telegram:polling",
                    lambda m=msg: self.deliver(m),
                    self.reject,
                )
            self.offset = upd.update_id + 1  # confirmed only once delivered (or kept): never consumed twice
        return len(updates)

    async def run(self) -> None:
        async with self.bot:
            await self.bot.delete_webhook(drop_pending_updates=False)
            while True:
                try:
                    await self.poll_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the loop must outlive a bad update or a network blip
                    log.warning("telegram polling failed: %r; retrying in %ss", exc, self.error_backoff_s)
                    await asyncio.sleep(self.error_backoff_s)


async def _log_only(source: str, raw: bytes, reason: str) -> None:
    log.warning("%s: payload not used (%s); %d bytes", source, reason, len(raw))
