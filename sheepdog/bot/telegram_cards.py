"""Telegram team surface, its cards: a forum topic per lead in the team group ("#12 Jordan Ellis ·
heat pump", opened by the brief), the customer's messages mirrored, each waiting draft with its
keyboard, edited in place once decided; and the owner's private chat as the approval queue.

Posting goes through the card repository (bot.posts.place: post once, then edit in place);
Telegram's 429 retry_after is honoured; a deleted topic or a removed bot is reported, not retried.
A Won or Lost lead's topic is closed once its cards say so, and reopened when the customer writes
again or the lead goes back to an open stage (events telegram_topic_closed / _reopened).
The updates (buttons, replies, reactions, commands) are handled in bot.telegram_team.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from telegram import Bot, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from sheepdog.bot import posts
from sheepdog.bot import telegram_render as render
from sheepdog.bot.cards import Card, escalation_card, escalation_events, lead_cards, lead_title
from sheepdog.channels.telegram_customer import make_bot
from sheepdog.config import TelegramCustomerConfig, TelegramTeamConfig
from sheepdog.errors import ConfigError, TransientSendError
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import Event, Lead, customer_messages

log = logging.getLogger("sheepdog.bot.telegram_team")
T = TypeVar("T")

SURFACE = "telegram"
OWNER_SURFACE = "telegram:owner"
RETRY_INLINE_MAX_S = 5.0  # a 429 asking to wait this long or less is waited out; longer: the queue retries
RETRIES_INLINE = 3
PROBLEM = "telegram_team_problem"  # shown on the console until RESTORED (bot.posts.open_problems)
RESTORED = "telegram_team_restored"
TOPIC_CLOSED, TOPIC_REOPENED = "telegram_topic_closed", "telegram_topic_reopened"
CLOSED_STAGES = ("won", "lost")
TOPIC_GONE = ("thread not found", "topic_id_invalid", "topic_deleted")
"""What Telegram says when the topic no longer exists (a member deleted it): nothing to close."""


class TelegramCards:
    """The Bot API client, and the cards in the group and the owner's chat."""

    def __init__(self, config: TelegramTeamConfig, customer: TelegramCustomerConfig | None = None) -> None:
        customer = customer or TelegramCustomerConfig()
        token = config.bot_token or (customer.bot_token if customer.enabled else None)
        if not token:
            raise ConfigError("[telegram_team] needs bot_token (or channels.telegram's bot to share)")
        if config.group_chat_id is None and config.owner_chat_id is None:
            raise ConfigError(
                "[telegram_team] needs group_chat_id and/or owner_chat_id (see docs/telegram.md)"
            )
        self.shared = customer.enabled and token == customer.bot_token
        self.secret = config.secret_token or (customer.secret_token if self.shared else None) or ""
        if config.mode == "webhook" and not self.secret:
            raise ConfigError("[telegram_team] mode = 'webhook' needs secret_token (or mode = 'polling')")
        if self.shared and (config.mode != "webhook" or customer.mode != "webhook"):
            raise ConfigError(
                "[telegram_team] shares channels.telegram's bot: that works in webhook mode only (Telegram "
                "gives a bot's updates to one consumer, which routes them by chat); for polling, give the "
                "team its own bot_token"
            )
        self.config, self.customer, self.token = config, customer, token
        self.group, self.owner_chat = config.group_chat_id, config.owner_chat_id
        self.cards = posts.CardPosts(SURFACE)
        self.owner_cards = posts.CardPosts(OWNER_SURFACE)
        self.thread = posts.ThreadMessages(SURFACE)
        self.claimers = posts.TeamIdentities(SURFACE)
        self._bots: dict[int, Bot] = {}
        self._members: dict[int, tuple[float, bool]] = {}
        self._gone: set[int] = set()  # chats the bot was removed from (until it is added back)

    # ---- the Bot API ----------------------------------------------------------------------

    def bot(self) -> Bot:
        """One Bot per event loop (httpx's client belongs to the loop that first used it)."""
        loop = id(asyncio.get_running_loop())
        bot = self._bots.get(loop)
        if bot is None:
            bot = self._bots[loop] = make_bot(self.token, self.config.api_base_url)
        return bot

    async def call(self, method: Callable[..., Awaitable[T]], **kwargs: Any) -> T:
        """A Bot API call that honours 429: a short retry_after is waited out here, a long one
        becomes TransientSendError(retry_after) so the queue retries the whole job later."""
        for attempt in range(RETRIES_INLINE + 1):
            try:
                return await method(**kwargs)
            except RetryAfter as exc:
                after = exc.retry_after
                seconds = after.total_seconds() if hasattr(after, "total_seconds") else float(after)
                if seconds > RETRY_INLINE_MAX_S or attempt == RETRIES_INLINE:
                    raise TransientSendError(
                        f"Telegram rate limit: retry after {seconds:g}s", seconds
                    ) from exc
                log.info("Telegram asked to wait %gs (429); waiting", seconds)
                await asyncio.sleep(seconds)
        raise AssertionError("unreachable")

    async def send_photo(self, png: bytes, caption: str = "", *, chat_id: int | None = None) -> str:
        """A picture (the weekly report's chart) in the team group, or the owner's chat when there
        is no group; returns the message id."""
        chat = chat_id or self.group or self.owner_chat
        msg = await self.call(self.bot().send_photo, chat_id=chat, photo=png, caption=caption[:1024] or None)
        return str(msg.message_id)

    # ---- cards: post once, then edit in place ----------------------------------------------

    async def sync_lead(self, services: Services, lead_id: int) -> None:
        """Bring the lead's topic (and the owner's approval queue) up to date. A Telegram outage
        raises so the queue retries; a deleted topic or a removed bot is reported, not retried."""
        loaded = await asyncio.to_thread(self._load, services, lead_id)
        if loaded is None:
            return
        cards, alerts, topic, gone, state = loaded
        for chat, run in ((self.group, self._sync_group), (self.owner_chat, self._sync_owner)):
            if chat is None or chat in self._gone or (chat == self.group and gone):
                continue
            try:
                if chat == self.group and state.reopen:  # before posting: members can answer again
                    await self._set_topic(services, lead_id, state.thread, close=False)
                await run(services, cards, alerts, topic)
                if chat == self.group and state.close:  # after: the cards already say Won / Lost
                    await self._set_topic(services, lead_id, state.thread, close=True)
            except Forbidden as exc:
                self._gone.add(chat)
                await asyncio.to_thread(
                    self.problem, services, None, f"cannot post in chat {chat}: {exc.message}"
                )
            except BadRequest as exc:
                if "thread" in exc.message.lower() or "topic" in exc.message.lower():
                    why = f"the lead's Telegram topic is gone ({exc.message})"
                    await asyncio.to_thread(
                        self.problem, services, lead_id, why, attention="its Telegram topic was deleted"
                    )
                else:
                    await asyncio.to_thread(
                        self.problem, services, lead_id, f"Telegram refused a card: {exc.message}"
                    )

    def _load(
        self, services: Services, lead_id: int
    ) -> tuple[list[Card], list[Card], str, bool, TopicState] | None:
        with services.db.session() as s:
            cards = lead_cards(s, lead_id, services.business.timezone, services.settings)
            lead = s.get(Lead, lead_id)
            if not cards or lead is None:
                return None
            holder_id = self.claimers.holder(s, lead)
            holder = (
                render.mention(int(holder_id), lead.owner or "")
                if holder_id
                else render.esc(lead.owner or "") or None
            )
            who = self.config.on_call_user_id or self.config.owner_user_id
            tag = render.mention(who, "on call") + " " if who else ""
            hint = f"React with {self.config.claim_emoji} on the brief to take it."
            alerts = [
                escalation_card(e, mention=tag, holder=holder, claim_hint=hint, esc=render.esc)
                for e in escalation_events(s, lead_id)
            ]
            first = s.scalar(customer_messages(lead, newest_first=False).limit(1))
            fields = ((first.triage or {}).get("fields") or {}) if first is not None else {}
            service = fields.get("service") or str((lead.brief or {}).get("category", "")).replace("_", " ")
            topic = render.topic_name(lead_id, lead_title(lead), str(service) or None)
            problems = s.scalars(select(Event).where(Event.lead_id == lead_id, Event.kind == PROBLEM)).all()
            gone = any((e.data or {}).get("topic_gone") for e in problems)
            return cards, alerts, topic, gone, self._topic_state(s, lead, cards[0].key)

    def _topic_state(self, s: Any, lead: Lead, root_key: str) -> TopicState:
        """Whether the lead's topic should be closed (Won or Lost, and the customer has not
        written since) and whether it is (the last close or reopen that Telegram accepted)."""
        root = self.cards.row(s, root_key)
        thread = root.thread_ref if root is not None and self.config.topics else None
        if not thread:
            return TopicState(None, False, False)
        last = s.scalar(
            select(Event.kind)
            .where(Event.lead_id == lead.id, Event.kind.in_((TOPIC_CLOSED, TOPIC_REOPENED)))
            .order_by(Event.id.desc())
            .limit(1)
        )
        want = False
        if lead.stage in CLOSED_STAGES:
            decided, wrote = (
                s.scalar(select(func.max(Event.id)).where(Event.lead_id == lead.id, Event.kind == kind))
                for kind in ("stage_changed", "message_received")
            )
            want = decided is not None and (wrote is None or wrote < decided)
        return TopicState(thread, want, last == TOPIC_CLOSED)

    async def _sync_group(
        self, services: Services, cards: list[Card], alerts: list[Card], topic: str
    ) -> None:
        assert self.group is not None
        stages = cards[0].stage_buttons
        root = await self._place(services, self.cards, self.group, cards[0], None, topic=topic)
        if root is None:
            raise TransientSendError(f"the topic of lead {cards[0].lead_id} is being opened elsewhere; retry")
        for card in cards[1:]:
            if await asyncio.to_thread(self.thread.typed_here, services, card):
                continue  # typed in the topic by a member: already there
            await self._place(services, self.cards, self.group, card, root, stages=stages)
        for card in alerts:
            await self._place(services, self.cards, self.group, card, root)

    async def _sync_owner(
        self, services: Services, cards: list[Card], alerts: list[Card], topic: str
    ) -> None:
        """The approval queue: every waiting draft, and every draft already shown there (so its
        card says what became of it)."""
        assert self.owner_chat is not None
        shown = await asyncio.to_thread(self.owner_cards.of_lead, services, cards[0].lead_id)
        for card in cards:
            if card.kind == "draft" and (card.extra.get("state") == "pending" or card.key in shown):
                await self._place(
                    services,
                    self.owner_cards,
                    self.owner_chat,
                    card,
                    None,
                    header=topic,
                    stages=cards[0].stage_buttons,
                )

    async def _place(
        self,
        services: Services,
        where: posts.CardPosts,
        chat: int,
        card: Card,
        root: posts.CardPost | None,
        *,
        topic: str | None = None,
        header: str | None = None,
        stages: tuple[Any, ...] = (),
    ) -> posts.CardPost | None:
        bot = self.bot()
        parts = render.split(render.card_html(card, header))
        markup = render.keyboard(card, stages)

        async def post(card: Card, root: posts.CardPost | None) -> posts.Placed:
            thread_id: int | None = None
            reply_to: int | None = None
            if root is None and topic is not None and self.config.topics:
                thread_id = await self._open_topic(chat, topic)
            elif root is not None:
                thread_id = int(root.thread_ref) if root.thread_ref else None
                reply_to = None if thread_id else int(root.ref or 0)
            sent = await self._send(chat, parts[0], markup, thread_id, reply_to)
            for more in parts[1:]:
                await self._send(chat, more, None, thread_id, sent.message_id)
            return posts.Placed(str(chat), str(sent.message_id), str(thread_id) if thread_id else None)

        async def edit(card: Card, row: posts.CardPost) -> None:
            try:
                await self.call(
                    bot.edit_message_text,
                    chat_id=int(row.container or chat),
                    message_id=int(row.ref or 0),
                    text=parts[0],
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    raise

        return await posts.place(
            services, where, card, str(chat), render.digest(parts[0], markup), post, edit, root
        )

    async def _set_topic(self, services: Services, lead_id: int, thread: str | None, *, close: bool) -> None:
        """closeForumTopic / reopenForumTopic in the group. Never raises: the stage change is
        recorded already and stands whatever Telegram answers. A failure is logged and the topic
        is tried again at the lead's next sync; a topic that is gone (or already so, closed or
        reopened by a member) counts as done."""
        assert self.group is not None and thread is not None
        what = "close" if close else "reopen"
        method = self.bot().close_forum_topic if close else self.bot().reopen_forum_topic
        done = True
        try:
            await self.call(method, chat_id=self.group, message_thread_id=int(thread))
        except BadRequest as exc:
            said = exc.message.lower()
            if "topic_not_modified" not in said:
                log.warning(
                    "Telegram team: could not %s the topic of lead %s: %s", what, lead_id, exc.message
                )
                done = any(words in said for words in TOPIC_GONE)
        except (TelegramError, TransientSendError) as exc:  # 403, a long 429, no answer
            log.warning(
                "Telegram team: could not %s the topic of lead %s: %s; tried again later", what, lead_id, exc
            )
            done = False
        if done:
            kind = TOPIC_CLOSED if close else TOPIC_REOPENED
            await asyncio.to_thread(_log_topic, services, kind, lead_id, thread)

    async def _open_topic(self, chat: int, name: str) -> int | None:
        """A forum topic for the lead; None in a group without topics (a reply chain instead)."""
        try:
            opened = await self.call(self.bot().create_forum_topic, chat_id=chat, name=name)
        except BadRequest as exc:
            if "forum" not in exc.message.lower():
                raise
            log.warning(
                "Telegram group %s has no topics (%s): a reply chain per lead instead", chat, exc.message
            )
            return None
        return int(opened.message_thread_id)

    async def _send(
        self,
        chat: int,
        text: str,
        markup: Any,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> Any:
        return await self.call(
            self.bot().send_message,
            chat_id=chat,
            text=text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            message_thread_id=thread_id,
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to
            else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )

    def problem(
        self, services: Services, lead_id: int | None, why: str, *, attention: str | None = None
    ) -> None:
        """A deleted topic, a removed bot: a warning in the log and once in the event log (the
        console shows it); with `attention`, on the lead's card too. Not retried."""
        log.warning("Telegram team surface: %s (lead %s)", why, lead_id)
        with services.db.session() as s:
            seen = s.scalars(select(Event).where(Event.kind == PROBLEM, Event.lead_id == lead_id)).all()
            if any((e.data or {}).get("why") == why for e in seen):
                return
            services.log(s, PROBLEM, lead_id, "Telegram", why=why, topic_gone=attention is not None)
            lead = s.get(Lead, lead_id) if lead_id else None
            if lead is not None and attention and attention not in (lead.needs_attention or ""):
                lead.needs_attention = " · ".join(x for x in (lead.needs_attention, attention) if x)[-200:]


@dataclass(frozen=True)
class TopicState:
    """The lead's forum topic: its id, whether it should be closed, whether it is."""

    thread: str | None
    want_closed: bool
    closed: bool

    @property
    def close(self) -> bool:
        return self.thread is not None and self.want_closed and not self.closed

    @property
    def reopen(self) -> bool:
        return self.thread is not None and self.closed and not self.want_closed


def _log_topic(services: Services, kind: str, lead_id: int, thread: str) -> None:
    with services.db.session() as s:
        services.log(s, kind, lead_id, "Telegram", topic=thread)
