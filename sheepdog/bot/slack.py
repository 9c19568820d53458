"""Slack surface: a thread per lead in the team channel, worked with buttons, replies, reactions
and /sheepdog. An adapter only: slack-bolt's AsyncApp handles Slack's protocol (signatures with the
5-minute window, acks, url_verification); a listener turns what happened into a TeamAction for
handlers.team_actions, and cards become Block Kit (slack_blocks). What it remembers lives in the
surface repositories of bot.posts: card posts, seen event ids, members' thread messages, claimers.

Security: over HTTP every request is checked against the signing secret. In Socket Mode Slack's
payloads come over the app-token WebSocket and there is no HTTP route at all: an unsigned POST to
/slack/events must not reach the listeners.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from sheepdog.bot import posts
from sheepdog.bot.cards import Card, escalation_card, escalation_events, lead_cards
from sheepdog.bot.guard import listener_failed
from sheepdog.bot.slack_blocks import (
    ACTION_PREFIX,
    EDIT_CALLBACK,
    OUTCOME_CALLBACK,
    VISIT_CALLBACK,
    card_blocks,
    card_text,
    content_hash,
    escape,
    plain_text,
)
from sheepdog.bot.slack_modals import SlackModals
from sheepdog.config import SlackConfig
from sheepdog.errors import BadInputError, ConfigError, ForbiddenError, NotFoundError, TransientSendError
from sheepdog.handlers import commands
from sheepdog.handlers.context import Services
from sheepdog.handlers.team_actions import NEEDS_TEXT, TeamAction, perform
from sheepdog.storage.tables import Lead

log = logging.getLogger(__name__)

SURFACE = "slack"
COMMAND = "/sheepdog"  # the slash command in slack/manifest.yml

# Zulip-style: what Sheepdog does with each Events API type, and what it deliberately ignores.
HANDLED_EVENTS = {
    "message": "thread reply → customer reply or internal note; edits and deletes of those",
    "reaction_added": "claim emoji → claim the lead",
    "reaction_removed": "claim emoji removed → unclaim",
}
IGNORED_EVENTS = (
    "app_mention",
    "app_home_opened",
    "app_uninstalled",
    "channel_rename",
    "member_joined_channel",
    "member_left_channel",
    "pin_added",
    "pin_removed",
    "tokens_revoked",
)
BUTTON_ACTIONS = (
    *("approve", "edit", "pause", "resume", "skip", "refund", "went_out", "send_again"),
    *("visit_scheduled", "quoted", "won", "lost"),
)


class SlackSurface(SlackModals):
    """The Slack surface: posts and updates cards, and serves /slack/events with slack-bolt."""

    name = SURFACE

    def __init__(self, config: SlackConfig) -> None:
        if not config.bot_token or not config.channel:
            raise ConfigError("[slack] enabled needs bot_token and channel (see docs/slack.md)")
        if not config.socket_mode and not config.signing_secret:
            raise ConfigError("[slack] needs signing_secret (or socket_mode = true with app_token)")
        if config.socket_mode and not config.app_token:
            raise ConfigError("[slack] socket_mode = true needs app_token (xapp-…)")
        super().__init__(config)
        self.bolt: AsyncApp | None = None
        self.cards = posts.CardPosts(SURFACE)
        self.thread = posts.ThreadMessages(SURFACE)
        self.claimers = posts.TeamIdentities(SURFACE)

    # ---- cards: post once, then update in place --------------------------------------------

    async def sync_lead(self, services: Services, lead_id: int) -> None:
        """Post every card of the lead not yet in Slack and update the changed ones.
        Raises on a Slack outage so the queue retries the job: a card is never lost."""
        cards, escalations = await asyncio.to_thread(self._load, services, lead_id)
        if not cards:
            return
        client = self.client()
        root = await self._place(services, client, cards[0], None)
        if root is None:
            raise TransientSendError(f"thread root of lead {lead_id} is being posted elsewhere; retry")
        for card in cards[1:]:
            if await asyncio.to_thread(self.thread.typed_here, services, card):
                continue  # typed in the thread by a member: already there
            await self._place(services, client, card, root)
        for card in escalations:
            await self._place(services, client, card, root)

    def _load(self, services: Services, lead_id: int) -> tuple[list[Card], list[Card]]:
        with services.db.session() as s:
            cards = lead_cards(s, lead_id, services.business.timezone, services.settings)
            lead = s.get(Lead, lead_id)
            if not cards or lead is None:
                return cards, []
            owner_id = self.claimers.holder(s, lead)
            holder = f"<@{owner_id}>" if owner_id else escape(lead.owner) if lead.owner else None
            alerts = []
            for event in escalation_events(s, lead_id):
                who = self.config.owner_user_id
                on_call = (event.data or {}).get("on_call")
                if isinstance(on_call, str) and re.fullmatch(r"[UW][A-Z0-9]{2,}", on_call):
                    who = on_call
                hint = f"React with :{self.config.claim_emoji}: to take it."
                mention = f"<@{who}> " if who else ""
                alerts.append(
                    escalation_card(event, mention=mention, holder=holder, claim_hint=hint, esc=escape)
                )
            return cards, alerts

    async def _place(
        self, services: Services, client: AsyncWebClient, card: Card, root: posts.CardPost | None
    ) -> posts.CardPost | None:
        blocks, text = card_blocks(card), card_text(card)
        root_ts = root.ref if root is not None else None

        async def post(card: Card, _: Any) -> posts.Placed:
            resp = await client.chat_postMessage(
                channel=self.channel, text=text, blocks=blocks, thread_ts=root_ts, unfurl_links=False
            )
            return posts.Placed(str(resp.get("channel") or self.channel), str(resp["ts"]), root_ts)

        async def edit(card: Card, row: posts.CardPost) -> None:
            await client.chat_update(
                channel=row.container or self.channel, ts=row.ref, text=text, blocks=blocks
            )

        return await posts.place(
            services, self.cards, card, self.channel, content_hash(blocks, text), post, edit, root
        )

    # ---- the bolt app ----------------------------------------------------------------------

    def build_app(self, services: Services) -> AsyncApp:
        """slack-bolt's AsyncApp with Sheepdog's listeners; the same app serves HTTP and Socket Mode."""
        app = AsyncApp(
            client=self.client(),
            # Always verified: bolt skips the check only for Socket Mode envelopes; anything else
            # without the real secret's signature is a 401. No secret (Socket Mode only): a random one.
            signing_secret=self.config.signing_secret or secrets.token_hex(32),
            request_verification_enabled=True,
            raise_error_for_unhandled_request=False,
        )
        app.error(listener_failed(services))  # a payload a listener cannot take: kept, 400, no traceback
        me = self

        @app.middleware
        async def skip_retries(body: dict[str, Any], request: Any, next: Callable[[], Awaitable[Any]]) -> Any:
            event_id = body.get("event_id")
            if body.get("type") == "event_callback" and isinstance(event_id, str):
                retry = (request.headers.get("x-slack-retry-num") or [None])[0]
                if not await asyncio.to_thread(
                    posts.first_time, services, SURFACE, event_id, event_id=event_id, retry=retry
                ):
                    log.info("Slack retry %s of %s ignored: already handled", retry, event_id)
                    return BoltResponse(status=200, body="")
            return await next()

        @app.event("message")
        async def on_message(body: dict[str, Any], client: AsyncWebClient) -> None:
            await me.on_message(services, client, body["event"])

        @app.event("reaction_added")
        async def on_reaction_added(body: dict[str, Any], client: AsyncWebClient) -> None:
            await me.on_reaction(services, client, body["event"], added=True)

        @app.event("reaction_removed")
        async def on_reaction_removed(body: dict[str, Any], client: AsyncWebClient) -> None:
            await me.on_reaction(services, client, body["event"], added=False)

        for kind in IGNORED_EVENTS:
            app.event(kind)(_ignore)

        @app.action(re.compile(f"^{ACTION_PREFIX}({'|'.join(BUTTON_ACTIONS)})$"))
        async def on_button(
            ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
        ) -> None:
            await ack()
            await me.on_button(services, client, respond, body)

        @app.view(EDIT_CALLBACK)
        async def on_edit_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await me.on_edit_submit(services, client, ack, body)

        @app.view(OUTCOME_CALLBACK)
        async def on_outcome_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await me.on_outcome_submit(services, client, ack, body)

        @app.view(VISIT_CALLBACK)
        async def on_visit_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await me.on_visit_submit(services, client, ack, body)

        @app.view_closed(re.compile(f"^({EDIT_CALLBACK}|{OUTCOME_CALLBACK}|{VISIT_CALLBACK})$"))
        async def on_modal_closed(ack: AsyncAck) -> None:
            await ack()

        @app.command(COMMAND)
        async def on_command(
            ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
        ) -> None:
            await ack()  # within Slack's 3 seconds; the answer follows on response_url
            await me.on_command(services, client, respond, body)

        return app

    def install_routes(self, app: web.Application, services: Services) -> None:
        """POST /slack/events on the bot's aiohttp app (the Slack route); in Socket Mode no HTTP
        route at all (it must not be a way in): the WebSocket starts with the app."""
        self.bolt = bolt = self.build_app(services)
        if self.config.socket_mode:
            from sheepdog.bot.slack_socket import install_socket_mode

            install_socket_mode(app, bolt, str(self.config.app_token), _payload_kind)
            return

        async def slack_events(request: web.Request) -> web.StreamResponse:
            bolt_req = await to_bolt_request(request)
            bolt_resp = await bolt.async_dispatch(bolt_req)
            if bolt_resp.status == 404:
                log.info(
                    "Slack payload Sheepdog does not handle (%s); answered 200", _payload_kind(bolt_req.body)
                )
                return web.Response(status=200, text="")
            return await to_aiohttp_response(bolt_resp)

        app.router.add_post("/slack/events", slack_events)

    # ---- listeners: Slack → TeamAction -----------------------------------------------------

    async def on_button(
        self, services: Services, client: AsyncWebClient, respond: AsyncRespond, body: dict[str, Any]
    ) -> None:
        action = body["actions"][0]
        name = str(action["action_id"]).removeprefix(ACTION_PREFIX)
        user_id = body["user"]["id"]
        if not await self.may_act(client, user_id):
            await self.refuse(services, client, user_id, f"{name} drafts", respond)
            return
        try:
            target = int(action.get("value") or "")
        except ValueError:
            log.warning("Slack button %s with a value that is not an id: %r", name, action.get("value"))
            return
        if name in NEEDS_TEXT:  # Edit, Won, Lost, Visit scheduled: a modal asks first
            await self.open_modal(services, client, respond, body, name, target)
            return
        result = await self.act(services, client, user_id, name, target)
        if not result.ok:
            await self.tell(client, user_id, f"Nothing changed: {result.message}.", respond)

    async def on_reaction(
        self, services: Services, client: AsyncWebClient, event: dict[str, Any], *, added: bool
    ) -> None:
        item = event.get("item") or {}
        if (
            event.get("reaction") != self.config.claim_emoji
            or item.get("type") != "message"
            or item.get("channel") != self.channel
        ):
            return
        lead_id = await asyncio.to_thread(self.cards.lead_for, services, str(item.get("ts")))
        if lead_id is None:
            return
        user_id = str(event.get("user"))
        if not await self.may_act(client, user_id):
            await self.refuse(services, client, user_id, "claim leads")
            return
        actor = await self.display_name(client, user_id)
        if added:
            result = await perform(services, TeamAction("claim", lead_id, actor, surface=SURFACE))
            if result.ok:
                await asyncio.to_thread(self.claimers.remember, services, lead_id, user_id)
            return
        # Released by whoever claimed it here: under the name it was claimed with, even if renamed since.
        held_as = await asyncio.to_thread(self.claimers.held_as, services, lead_id, user_id)
        await perform(services, TeamAction("unclaim", lead_id, held_as or actor, surface=SURFACE))

    async def on_message(self, services: Services, client: AsyncWebClient, event: dict[str, Any]) -> None:
        if event.get("channel") != self.channel:
            return
        subtype = event.get("subtype")
        if subtype == "message_changed":
            await self.on_message_changed(services, client, event)
        elif subtype == "message_deleted":
            await self.on_message_deleted(services, event)
        elif subtype in (None, "thread_broadcast", "file_share"):
            await self.on_thread_reply(services, client, event)
        else:
            log.debug("Slack message subtype %s ignored", subtype)

    async def on_thread_reply(
        self, services: Services, client: AsyncWebClient, event: dict[str, Any]
    ) -> None:
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if not thread_ts or thread_ts == ts or event.get("bot_id") or not event.get("user"):
            return
        lead_id = await asyncio.to_thread(self.cards.lead_for, services, str(thread_ts), root_only=True)
        if lead_id is None:
            return
        user_id = str(event["user"])
        if not await self.may_act(client, user_id):
            await self.refuse(services, client, user_id, "answer customers")
            return
        actor = await self.display_name(client, user_id)
        typed = str(event.get("text") or "")
        is_note, text = _split_note(
            plain_text(typed, await self.mention_names(client, typed)), self.config.note_marker
        )
        if not text:
            return
        key, kind = f"{event['channel']}:{ts}", "note" if is_note else "reply"
        digest = posts.text_hash(actor, text)
        await asyncio.to_thread(self.thread.remember, services, key, lead_id, kind, content_hash=digest)
        result = await perform(services, TeamAction(kind, lead_id, actor, text, SURFACE))
        if not result.ok:
            await self.tell(client, user_id, f"Not sent to the customer: {result.message}.")
        elif result.ref is not None:
            await asyncio.to_thread(self.thread.link, services, key, result.ref)

    async def on_message_changed(
        self, services: Services, client: AsyncWebClient, event: dict[str, Any]
    ) -> None:
        """An edit before the reply went out changes what is sent; after, the author is told."""
        msg = event.get("message") or {}
        row = await asyncio.to_thread(self.thread.get, services, f"{event['channel']}:{msg.get('ts')}")
        if row is None or not row.ref:
            return  # not a reply or note of ours: no look-ups for every edit in the channel
        typed = str(msg.get("text") or "")
        text = plain_text(typed, await self.mention_names(client, typed))
        if row.kind == "note":
            kind, text = "edit_note", _split_note(text, self.config.note_marker)[1] or text
        else:
            kind = "edit_reply"
        result = await perform(services, TeamAction(kind, int(row.ref), "Slack", text, SURFACE))
        if not result.ok and msg.get("user"):
            await self.tell(
                client,
                str(msg["user"]),
                "That reply was already sent; the customer has the first version. Reply again to correct it.",
            )

    async def on_message_deleted(self, services: Services, event: dict[str, Any]) -> None:
        """Deleting a reply before it went out cancels it; deleting a note removes it."""
        ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        row = await asyncio.to_thread(self.thread.get, services, f"{event['channel']}:{ts}")
        if row is not None and row.ref:
            kind = "delete_note" if row.kind == "note" else "cancel_reply"
            await perform(services, TeamAction(kind, int(row.ref), "Slack", surface=SURFACE))

    async def on_command(
        self, services: Services, client: AsyncWebClient, respond: AsyncRespond, body: dict[str, Any]
    ) -> None:
        user_id = str(body.get("user_id"))
        words = str(body.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        # Every subcommand but help shows or changes leads (names, revenue): members only.
        if verb not in commands.PUBLIC and not await self.may_act(client, user_id):
            await self.refuse(services, client, user_id, f"use {COMMAND} {verb}", respond)
            return
        actor = await self.display_name(client, user_id)
        try:
            answer = await asyncio.to_thread(
                commands.run,
                services,
                str(body.get("text") or ""),
                actor,
                str(body.get("command") or COMMAND),
                SURFACE,
                is_owner=self.is_owner(user_id),
            )
        except ForbiddenError as exc:
            answer = f"Nothing changed: {exc}."
        except (BadInputError, NotFoundError) as exc:
            answer = f"{exc} — try `{COMMAND} help`."
        await respond(response_type="ephemeral", text=answer)


def _split_note(text: str, marker: str) -> tuple[bool, str]:
    """(is a note, the text without the marker): a reply starting with the marker stays internal."""
    text = text.strip()
    if text.lower().startswith(marker.lower()):
        return True, text[len(marker) :].strip()
    return False, text


async def _ignore(body: dict[str, Any]) -> None:
    """An event type Sheepdog subscribes to or may receive but deliberately does nothing with."""
    log.info("Slack event %s ignored", (body.get("event") or {}).get("type"))


def _payload_kind(data: dict[str, Any]) -> str:
    """A short description of an unhandled payload for the log line."""
    if data.get("command"):
        return f"command {data['command']}"
    event = data.get("event") or {}
    kind = "/".join(str(x) for x in (data.get("type"), event.get("type")) if x) or "untyped"
    return f"{kind} {data.get('callback_id') or ''}".strip()
