"""Slack surface: a thread per lead in the team channel, worked with buttons, replies,
reactions and /sheepdog. slack-bolt's AsyncApp handles Slack's protocol (signatures with the
5-minute window, acks, url_verification); every team action goes through handlers.actions.

Where things are stored (no tables of our own):
- SurfacePost(surface="slack", card_key="brief:12" | "draft:40" | "message:77" | "event:9"): the
  Slack message of each card (container = channel, ref = ts, thread_ref = root ts).
- SurfacePost(surface="slack:event", card_key=<event_id>): Events API deliveries already handled,
  so Slack's retries (X-Slack-Retry-Num) never act twice. The unique key makes it atomic.
- SurfacePost(surface="slack:thread", card_key="<channel>:<ts>"): a team member's own thread
  message that became a reply or a note (container = "reply" | "note", ref = outbox or message
  id, content_hash = hash of author and text), so it is not echoed back by the bot.
- SurfacePost(surface="slack:owner", card_key="lead:<id>"): who claimed the lead in Slack (ref =
  Slack user id, container = the name stored in Lead.owner then). Lead.owner stays a name for the
  console and the cards; the id lets an escalation mention the claimer and lets the claimer
  release the lead after changing their display name. Valid only while Lead.owner is that name.

Security: over HTTP every request is checked against the signing secret. In Socket Mode Slack's
payloads come over the app-token WebSocket and there is no HTTP route at all: an unsigned POST to
/slack/events must not reach the listeners.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sheepdog.bot.cards import Card, lead_cards
from sheepdog.bot.slack_blocks import (
    ACTION_PREFIX,
    EDIT_ACTION,
    EDIT_BLOCK,
    EDIT_CALLBACK,
    card_blocks,
    card_text,
    content_hash,
    edit_modal,
    escape,
    plain_text,
)
from sheepdog.config import SlackConfig
from sheepdog.errors import BadInputError, ConfigError, ForbiddenError, NotFoundError, TransientSendError
from sheepdog.handlers import actions, commands
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import Draft, Event, Lead, SurfacePost

log = logging.getLogger(__name__)

SURFACE = "slack"
COMMAND = "/sheepdog"  # the slash command in slack/manifest.yml
EVENTS_SEEN = "slack:event"
THREAD_MESSAGES = "slack:thread"
OWNERS = "slack:owner"
STALE_CLAIM_S = 120  # a claimed card with no ts this old is assumed lost (crash) and posted again
MEMBERS_TTL_S = 300  # how long the channel's member list is trusted
NAMES_TTL_S = 3600  # how long a display name from users.info is trusted (people rename themselves)
ESCALATION_KINDS = ("sla_escalated", "handoff")

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
BUTTON_ACTIONS = ("approve", "edit", "pause", "resume", "skip")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
DECIDED_WORDS = {  # Draft.state of a draft no longer waiting → how the Edit refusal says it
    "approved": "approved",
    "edited": "edited and approved",
    "sent": "approved and sent",
    "failed": "approved (sending failed)",
    "skipped": "skipped",
}


def _hash(author: str | None, text: str) -> str:
    return hashlib.sha256(f"{author or ''}\n{text.strip()}".encode()).hexdigest()


class SlackSurface:
    """The Slack surface: posts and updates cards, and serves /slack/events with slack-bolt."""

    name = SURFACE

    def __init__(self, config: SlackConfig) -> None:
        if not config.bot_token or not config.channel:
            raise ConfigError("[slack] enabled needs bot_token and channel (see docs/slack.md)")
        if not config.socket_mode and not config.signing_secret:
            raise ConfigError("[slack] needs signing_secret (or socket_mode = true with app_token)")
        if config.socket_mode and not config.app_token:
            raise ConfigError("[slack] socket_mode = true needs app_token (xapp-…)")
        self.config = config
        self._names: dict[str, tuple[float, str]] = {}
        self._members: tuple[float, frozenset[str]] = (0.0, frozenset())
        self.bolt: AsyncApp | None = None

    # ---- Web API ---------------------------------------------------------------------------

    def client(self) -> AsyncWebClient:
        """A client per event loop (the job thread runs its own); 429/5xx/resets are retried."""
        base = (self.config.api_base_url or "https://slack.com/api").rstrip("/") + "/"
        return AsyncWebClient(
            token=self.config.bot_token,
            base_url=base,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                AsyncServerErrorRetryHandler(max_retry_count=2),
            ],
        )

    async def display_name(self, client: AsyncWebClient, user_id: str) -> str:
        """Cards say "Approved by Dana", not by U024BE7LH: users.info, cached; the id if it fails."""
        at, cached = self._names.get(user_id, (0.0, ""))
        if cached and time.monotonic() - at <= NAMES_TTL_S:
            return cached
        name = user_id
        try:
            resp = await client.users_info(user=user_id)
            user = resp.get("user") or {}
            profile = user.get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user_id
        except SlackApiError as exc:
            log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
            return name
        self._names[user_id] = (time.monotonic(), name)
        return name

    async def mention_names(self, client: AsyncWebClient, text: str) -> dict[str, str]:
        """The display names of the members mentioned in a message (users.info, cached); one
        that cannot be looked up is left out, so the customer reads "@someone", never an id."""
        names: dict[str, str] = {}
        for user_id in dict.fromkeys(_MENTION.findall(text)):
            name = await self.display_name(client, user_id)
            if name != user_id:
                names[user_id] = name
        return names

    async def may_act(self, client: AsyncWebClient, user_id: str) -> bool:
        """Members of the lead channel, the allowlist and the owner may approve, edit and send."""
        if user_id in self.config.allowlist or user_id == self.config.owner_user_id:
            return True
        at, members = self._members
        if time.monotonic() - at > MEMBERS_TTL_S:
            found: set[str] = set()
            cursor = None
            while True:
                resp = await client.conversations_members(
                    channel=self.config.channel, cursor=cursor, limit=500
                )
                found.update(resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            members = frozenset(found)
            self._members = (time.monotonic(), members)
        return user_id in members

    def is_owner(self, user_id: str) -> bool:
        """Policy changes are the owner's alone (config [slack] owner_user_id)."""
        return bool(self.config.owner_user_id) and user_id == self.config.owner_user_id

    async def refuse(
        self,
        services: Services,
        client: AsyncWebClient,
        user_id: str,
        what: str,
        respond: AsyncRespond | None = None,
    ) -> None:
        """A stranger's click, reaction, reply or command: a line in the event log first, then a
        polite note only they see (through `respond` when Slack gave a response_url: a stranger
        is not in the lead channel, so chat.postEphemeral there fails with user_not_in_channel)."""
        log.info("refused Slack user %s: %s", user_id, what)
        await asyncio.to_thread(self._log, services, "slack_refused", None, user_id, what=what)
        await self.tell(
            client,
            user_id,
            f"Sorry, only members of the team channel can {what}. Ask the owner to add you.",
            respond,
        )

    async def tell(
        self, client: AsyncWebClient, user_id: str, text: str, respond: AsyncRespond | None = None
    ) -> None:
        """A private answer to one user; never raises (the action itself is already decided).

        Through the response_url when there is one (a button or a command: it reaches whoever
        clicked, member or not), else chat.postEphemeral in the lead channel (members only)."""
        try:
            if respond is not None and respond.response_url:
                resp = await respond(text=text, response_type="ephemeral", replace_original=False)
                if resp.status_code != 200:
                    log.warning("Slack response_url answered %s for %s: %r", resp.status_code, user_id, text)
                return
            await client.chat_postEphemeral(channel=self.config.channel, user=user_id, text=text)
        except SlackApiError as exc:
            log.warning("could not tell Slack user %s (%s): %r", user_id, exc.response.get("error"), text)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("could not tell Slack user %s (%s): %r", user_id, exc, text)

    @staticmethod
    def _log(services: Services, kind: str, lead_id: int | None, actor: str | None, **data: Any) -> None:
        with services.db.session() as s:
            services.log(s, kind, lead_id, actor, **data)

    # ---- cards: post once, then update in place --------------------------------------------

    async def sync_lead(self, services: Services, lead_id: int) -> None:
        """Post every card of the lead not yet in Slack and update the changed ones.

        Raises on a Slack outage so the queue retries the job: a card is never lost.
        """
        cards, escalations = await asyncio.to_thread(self._load, services, lead_id)
        if not cards:
            return
        client = self.client()
        root = cards[0]
        root_ts = await self._post_or_update(services, client, root, None)
        if root_ts is None:
            raise TransientSendError(f"thread root of lead {lead_id} is being posted elsewhere; retry")
        for card in cards[1:]:
            if card.kind in ("note", "outbound") and await asyncio.to_thread(
                self._written_in_slack, services, card
            ):
                continue
            await self._post_or_update(services, client, card, root_ts)
        for card in escalations:
            await self._post_or_update(services, client, card, root_ts)

    def _load(self, services: Services, lead_id: int) -> tuple[list[Card], list[Card]]:
        with services.db.session() as s:
            cards = lead_cards(s, lead_id, services.business.timezone, services.settings)
            events = s.scalars(
                select(Event)
                .where(Event.lead_id == lead_id, Event.kind.in_(ESCALATION_KINDS))
                .order_by(Event.id)
            ).all()
            lead = s.get(Lead, lead_id)
            owner = lead.owner if lead else None
            owner_id = self._owner_id(s, lead) if lead else None
            holder = f"<@{owner_id}>" if owner_id else escape(owner) if owner else None
            return cards, [self._escalation_card(e, holder) for e in events if cards]

    @staticmethod
    def _owner_id(s: Session, lead: Lead) -> str | None:
        """The Slack user id of whoever holds the lead, if they claimed it in Slack."""
        if not lead.owner:
            return None
        row = s.scalar(
            select(SurfacePost).where(
                SurfacePost.surface == OWNERS, SurfacePost.card_key == f"lead:{lead.id}"
            )
        )
        return row.ref if row is not None and row.container == lead.owner else None

    def _remember_owner(self, services: Services, lead_id: int, user_id: str) -> None:
        """After a claim in Slack: Lead.owner holds the name, this row the claimer's user id."""
        with services.db.session() as s:
            lead = s.get(Lead, lead_id)
            if lead is None or not lead.owner:
                return
            key = f"lead:{lead_id}"
            row = s.scalar(
                select(SurfacePost).where(SurfacePost.surface == OWNERS, SurfacePost.card_key == key)
            )
            if row is None:
                row = SurfacePost(surface=OWNERS, card_key=key, lead_id=lead_id)
                s.add(row)
            row.ref, row.container, row.updated_at = user_id, lead.owner, services.now()

    def _owner_name_if_theirs(self, services: Services, lead_id: int, user_id: str) -> str | None:
        """The name the lead is held under, if this Slack user claimed it (whatever they are
        called now)."""
        with services.db.session() as s:
            lead = s.get(Lead, lead_id)
            if lead is not None and self._owner_id(s, lead) == user_id:
                return lead.owner
            return None

    def _escalation_card(self, event: Event, owner: str | None) -> Card:
        """A thread message that pings someone: SLA breach, pricing question, complaint.

        Its text is Slack mrkdwn, rendered as is so the mentions notify: `owner` (whoever holds
        the lead: a mention when they claimed it in Slack) comes escaped, the rest is escaped here."""
        who = self.config.owner_user_id
        on_call = (event.data or {}).get("on_call")
        if isinstance(on_call, str) and re.fullmatch(r"[UW][A-Z0-9]{2,}", on_call):
            who = on_call
        mention = f"<@{who}> " if who else ""
        if event.kind == "sla_escalated" and str((event.data or {}).get("reason", "")).startswith("handoff:"):
            data = event.data or {}
            minutes = int(data.get("waited_s") or 0) // 60
            holder = f" ({owner} has it)" if owner else ""
            text = (
                f"{mention}still untouched after {minutes} minutes{holder}: "
                f"{escape(str(data.get('why') or 'a human should answer'))}"
            )
        elif event.kind == "sla_escalated":
            text = f"{mention}nobody has claimed this lead yet. React with :{self.config.claim_emoji}: to take it."
        else:
            data = event.data or {}
            reasons = escape(", ".join(str(r) for r in data.get("reasons") or []) or "a human should answer")
            within = data.get("notify_within_s")
            when = (
                f" within {int(within) // 60} minutes" if within else (" now" if data.get("urgent") else "")
            )
            holder = f" ({owner} has it)" if owner else ""
            text = f"{mention}needs a person{when}{holder}: {reasons}"
        return Card(
            key=f"event:{event.id}",
            kind="alert",
            lead_id=event.lead_id or 0,
            title="Attention",
            text=text,
            at=event.at,
        )

    def _written_in_slack(self, services: Services, card: Card) -> bool:
        """A note or reply a member typed in the thread is already there: never echo it."""
        h = _hash(card.author, card.text)
        with services.db.session() as s:
            own = s.scalar(
                select(SurfacePost).where(
                    SurfacePost.surface == THREAD_MESSAGES,
                    SurfacePost.lead_id == card.lead_id,
                    SurfacePost.content_hash == h,
                )
            )
            return own is not None

    def _claim(self, services: Services, card: Card) -> tuple[str, SurfacePost | None]:
        """("post", row) when this worker owns posting; ("update", row); or ("busy", None)."""
        now = services.now()
        with services.db.session() as s:
            row = self._row(s, card.key)
            if row is None:
                try:
                    with s.begin_nested():
                        row = SurfacePost(
                            surface=SURFACE,
                            card_key=card.key,
                            lead_id=card.lead_id,
                            container=self.config.channel,
                            updated_at=now,
                        )
                        s.add(row)
                    s.flush()
                except IntegrityError:
                    return "busy", None
                s.expunge(row)
                return "post", row
            if row.ref:
                s.expunge(row)
                return "update", row
            cutoff = now - timedelta(seconds=STALE_CLAIM_S)
            taken = s.execute(
                update(SurfacePost)
                .where(SurfacePost.id == row.id, SurfacePost.ref.is_(None), SurfacePost.updated_at < cutoff)
                .values(updated_at=now)
            ).rowcount
            if taken == 1:
                s.expunge(row)
                return "post", row
            return "busy", None

    @staticmethod
    def _row(s: Session, key: str) -> SurfacePost | None:
        return s.scalar(
            select(SurfacePost).where(SurfacePost.surface == SURFACE, SurfacePost.card_key == key)
        )

    def _store(self, services: Services, row_id: int, **values: Any) -> None:
        with services.db.session() as s:
            s.execute(
                update(SurfacePost)
                .where(SurfacePost.id == row_id)
                .values(updated_at=services.now(), **values)
            )

    def _release(self, services: Services, row_id: int) -> None:
        with services.db.session() as s:
            s.execute(delete(SurfacePost).where(SurfacePost.id == row_id, SurfacePost.ref.is_(None)))

    async def _post_or_update(
        self, services: Services, client: AsyncWebClient, card: Card, root_ts: str | None
    ) -> str | None:
        blocks, text = card_blocks(card), card_text(card)
        digest = content_hash(blocks, text)
        state, row = await asyncio.to_thread(self._claim, services, card)
        if row is None:
            return None
        if state == "update":
            if row.content_hash not in (digest, "external") and row.ref:
                await client.chat_update(
                    channel=row.container or self.config.channel, ts=row.ref, text=text, blocks=blocks
                )
                await asyncio.to_thread(self._store, services, row.id, content_hash=digest)
            return row.ref
        try:
            resp = await client.chat_postMessage(
                channel=self.config.channel, text=text, blocks=blocks, thread_ts=root_ts, unfurl_links=False
            )
        except Exception:
            await asyncio.to_thread(self._release, services, row.id)
            raise
        ts = str(resp["ts"])
        await asyncio.to_thread(
            self._store,
            services,
            row.id,
            ref=ts,
            thread_ref=root_ts,
            content_hash=digest,
            container=str(resp.get("channel") or self.config.channel),
        )
        return ts

    # ---- look-ups from Slack ids to leads ---------------------------------------------------

    def lead_for_ts(self, services: Services, ts: str, *, root_only: bool = False) -> int | None:
        with services.db.session() as s:
            q = select(SurfacePost.lead_id).where(SurfacePost.surface == SURFACE, SurfacePost.ref == ts)
            if root_only:
                q = q.where(SurfacePost.card_key.like("brief:%"))
            return s.scalar(q.limit(1))

    def first_time(self, services: Services, event_id: str, retry: str | None) -> bool:
        """Record an Events API delivery; False if this event_id was handled before (a retry)."""
        with services.db.session() as s:
            try:
                with s.begin_nested():
                    s.add(
                        SurfacePost(
                            surface=EVENTS_SEEN, card_key=event_id[:200], lead_id=0, updated_at=services.now()
                        )
                    )
            except IntegrityError:
                services.log(s, "slack_retry_ignored", None, event_id=event_id, retry=retry)
                return False
        return True

    # ---- the bolt app ----------------------------------------------------------------------

    def build_app(self, services: Services) -> AsyncApp:
        """slack-bolt's AsyncApp with Sheepdog's listeners; the same app serves HTTP and Socket Mode."""
        app = AsyncApp(
            client=self.client(),
            # Always verified: bolt skips the check only for Socket Mode envelopes (which come over
            # the app-token WebSocket); anything else without the real secret's signature is a 401.
            # With no secret (Socket Mode only), a random one nobody knows.
            signing_secret=self.config.signing_secret or secrets.token_hex(32),
            request_verification_enabled=True,
            raise_error_for_unhandled_request=False,
        )
        surface = self

        @app.middleware
        async def skip_retries(body: dict[str, Any], request: Any, next: Callable[[], Awaitable[Any]]) -> Any:
            event_id = body.get("event_id")
            if body.get("type") == "event_callback" and isinstance(event_id, str):
                retry = (request.headers.get("x-slack-retry-num") or [None])[0]
                if not await asyncio.to_thread(surface.first_time, services, event_id, retry):
                    log.info("Slack retry %s of %s ignored: already handled", retry, event_id)
                    return BoltResponse(status=200, body="")
            return await next()

        @app.event("message")
        async def on_message(body: dict[str, Any], client: AsyncWebClient) -> None:
            await surface.on_message(services, client, body["event"])

        @app.event("reaction_added")
        async def on_reaction_added(body: dict[str, Any], client: AsyncWebClient) -> None:
            await surface.on_reaction(services, client, body["event"], added=True)

        @app.event("reaction_removed")
        async def on_reaction_removed(body: dict[str, Any], client: AsyncWebClient) -> None:
            await surface.on_reaction(services, client, body["event"], added=False)

        for kind in IGNORED_EVENTS:
            app.event(kind)(_ignore)

        @app.action(re.compile(f"^{ACTION_PREFIX}({'|'.join(BUTTON_ACTIONS)})$"))
        async def on_button(
            ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
        ) -> None:
            await ack()
            await surface.on_button(services, client, respond, body)

        @app.view(EDIT_CALLBACK)
        async def on_edit_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await surface.on_edit_submit(services, client, ack, body)

        @app.view_closed(EDIT_CALLBACK)
        async def on_edit_closed(ack: AsyncAck) -> None:
            await ack()

        @app.command(COMMAND)
        async def on_command(
            ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
        ) -> None:
            await ack()  # within Slack's 3 seconds; the answer follows on response_url
            await surface.on_command(services, client, respond, body)

        return app

    def install_routes(self, app: web.Application, services: Services) -> None:
        """POST /slack/events on the bot's aiohttp app; in Socket Mode no HTTP route at all (Slack
        sends nothing there, and it must not be a way in): the WebSocket starts with the app."""
        self.bolt = bolt = self.build_app(services)
        if self.config.socket_mode:
            self._install_socket_mode(app, bolt)
            return

        async def events(request: web.Request) -> web.StreamResponse:
            bolt_req = await to_bolt_request(request)
            bolt_resp = await bolt.async_dispatch(bolt_req)
            if bolt_resp.status == 404:
                log.info(
                    "Slack payload Sheepdog does not handle (%s); answered 200", _payload_kind(bolt_req.body)
                )
                return web.Response(status=200, text="")
            return await to_aiohttp_response(bolt_resp)

        app.router.add_post("/slack/events", events)

    def _install_socket_mode(self, app: web.Application, bolt: AsyncApp) -> None:
        """Socket Mode: the same bolt app (so the same de-duplication) over Slack's WebSocket.

        The handler is made in on_startup: slack-sdk's client needs the running event loop (made in
        build_runtime it fails with "no running event loop"). It connects in the background, as
        slack-sdk retries a refused connection forever and that must not hold up the web server.
        """
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
        from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
        from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
        from slack_sdk.socket_mode.request import SocketModeRequest

        class Handler(AsyncSocketModeHandler):
            async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
                start = time.time()
                resp = await run_async_bolt_app(self.app, req)
                if resp.status == 404:  # as on HTTP: acked, or Slack redelivers and shows an error
                    log.info("Slack payload Sheepdog does not handle (%s); acked", _payload_kind(req.payload))
                    resp = BoltResponse(status=200, body="")
                await send_async_response(client, req, resp, start)

        running: list[tuple[AsyncSocketModeHandler, asyncio.Task[None]]] = []

        async def start(_: web.Application) -> None:
            handler = Handler(bolt, self.config.app_token, web_client=bolt.client)
            running.append((handler, asyncio.create_task(handler.connect_async())))

        async def stop(_: web.Application) -> None:
            while running:
                handler, connecting = running.pop()
                await handler.close_async()
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)

        app.on_startup.append(start)
        app.on_cleanup.append(stop)

    # ---- listeners -------------------------------------------------------------------------

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
        actor = await self.display_name(client, user_id)
        if name == "edit":
            body_text, decided = await asyncio.to_thread(_draft_body, services, target)
            if body_text is None:
                await self.tell(client, user_id, f"Nothing to edit: {decided}.", respond)
                return
            container = body.get("container") or {}
            view = edit_modal(
                target, body_text, {"channel": container.get("channel_id"), "ts": container.get("message_ts")}
            )
            await client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        fn = {
            "approve": actions.approve,
            "skip": actions.skip,
            "pause": actions.pause,
            "resume": actions.resume,
            "refund": actions.refund,
            "went_out": actions.went_out,
            "send_again": actions.send_again,
        }[name]
        result = await self._run(fn, services, target, actor)
        if result is not None and not result.ok:
            await self.tell(client, user_id, f"Nothing changed: {result.message}.", respond)

    async def on_edit_submit(
        self, services: Services, client: AsyncWebClient, ack: AsyncAck, body: dict[str, Any]
    ) -> None:
        view = body["view"]
        user_id = body["user"]["id"]
        text = (((view.get("state") or {}).get("values") or {}).get(EDIT_BLOCK) or {}).get(EDIT_ACTION) or {}
        value = str(text.get("value") or "").strip()
        if not value:
            await ack(response_action="errors", errors={EDIT_BLOCK: "The message is empty."})
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        draft_id = int(meta["draft_id"])
        # Decided while the modal was open (someone approved or skipped it): say so in the modal.
        _, decided = await asyncio.to_thread(_draft_body, services, draft_id)
        if decided:
            await ack(response_action="errors", errors={EDIT_BLOCK: f"Not sent: {decided}."})
            return
        await ack()
        if not await self.may_act(client, user_id):
            await self.refuse(services, client, user_id, "edit drafts")
            return
        actor = await self.display_name(client, user_id)
        result = await self._run(actions.edit, services, draft_id, actor, value)
        if result is not None and not result.ok:
            await self.tell(client, user_id, f"Not sent: {result.message}.")

    async def on_reaction(
        self, services: Services, client: AsyncWebClient, event: dict[str, Any], *, added: bool
    ) -> None:
        if event.get("reaction") != self.config.claim_emoji:
            return
        item = event.get("item") or {}
        if item.get("type") != "message" or item.get("channel") != self.config.channel:
            return
        lead_id = await asyncio.to_thread(self.lead_for_ts, services, str(item.get("ts")))
        if lead_id is None:
            return
        user_id = str(event.get("user"))
        if not await self.may_act(client, user_id):
            await self.refuse(services, client, user_id, "claim leads")
            return
        actor = await self.display_name(client, user_id)
        if added:
            result = await self._run(actions.claim, services, lead_id, actor)
            if result is not None and result.ok:
                await asyncio.to_thread(self._remember_owner, services, lead_id, user_id)
            return
        # Released by the Slack user who claimed it: under the name it was claimed with, even if
        # they have changed their display name since.
        held_as = await asyncio.to_thread(self._owner_name_if_theirs, services, lead_id, user_id)
        await self._run(actions.unclaim, services, lead_id, held_as or actor)

    async def on_message(self, services: Services, client: AsyncWebClient, event: dict[str, Any]) -> None:
        if event.get("channel") != self.config.channel:
            return
        subtype = event.get("subtype")
        if subtype == "message_changed":
            await self.on_message_changed(services, client, event)
        elif subtype == "message_deleted":
            await asyncio.to_thread(self.on_message_deleted, services, event)
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
        lead_id = await asyncio.to_thread(self.lead_for_ts, services, str(thread_ts), root_only=True)
        if lead_id is None:
            return
        user_id = str(event["user"])
        if not await self.may_act(client, user_id):
            await self.refuse(services, client, user_id, "answer customers")
            return
        actor = await self.display_name(client, user_id)
        typed = str(event.get("text") or "")
        raw = plain_text(typed, await self.mention_names(client, typed))
        marker = self.config.note_marker
        is_note = raw.strip().lower().startswith(marker.lower())
        text = raw.strip()[len(marker) :].strip() if is_note else raw.strip()
        if not text:
            return
        key = f"{event['channel']}:{ts}"
        kind = "note" if is_note else "reply"
        await asyncio.to_thread(self._remember_thread_message, services, key, lead_id, kind, actor, text)
        fn = actions.note if is_note else actions.reply
        result = await self._run(fn, services, lead_id, actor, text)
        if result is not None and not result.ok:
            await self.tell(client, user_id, f"Not sent to the customer: {result.message}.")
            return
        if result is not None and result.ref is not None:
            await asyncio.to_thread(self._link_thread_message, services, key, result.ref)

    def _remember_thread_message(
        self, services: Services, key: str, lead_id: int, kind: str, actor: str, text: str
    ) -> None:
        with services.db.session() as s:
            s.add(
                SurfacePost(
                    surface=THREAD_MESSAGES,
                    card_key=key,
                    lead_id=lead_id,
                    container=kind,
                    content_hash=_hash(actor, text),
                    updated_at=services.now(),
                )
            )

    def _link_thread_message(self, services: Services, key: str, ref: int) -> None:
        """Remember which outbox row (reply) or note the Slack message became, for edits and deletes."""
        with services.db.session() as s:
            row = s.scalar(
                select(SurfacePost).where(SurfacePost.surface == THREAD_MESSAGES, SurfacePost.card_key == key)
            )
            if row is not None:
                row.ref = str(ref)

    async def on_message_changed(
        self, services: Services, client: AsyncWebClient, event: dict[str, Any]
    ) -> None:
        """An edit before the reply went out changes what is sent; after, the author is told."""
        msg = event.get("message") or {}
        key = f"{event['channel']}:{msg.get('ts')}"
        typed = str(msg.get("text") or "")
        if await asyncio.to_thread(self._thread_message, services, key) is None:
            return  # not a reply or note of ours: no look-ups for every edit in the channel
        text = plain_text(typed, await self.mention_names(client, typed))
        outcome = await asyncio.to_thread(self._apply_edit, services, key, text)
        if outcome == "too_late" and msg.get("user"):
            await self.tell(
                client,
                str(msg["user"]),
                "That reply was already sent; the customer has the first version. Reply again to correct it.",
            )

    def _thread_message(self, services: Services, key: str) -> SurfacePost | None:
        with services.db.session() as s:
            row = s.scalar(
                select(SurfacePost).where(SurfacePost.surface == THREAD_MESSAGES, SurfacePost.card_key == key)
            )
            return row if row is not None and row.ref else None

    def _apply_edit(self, services: Services, key: str, text: str) -> str:
        """An edit of a note changes the note; of a reply still queued, what is sent."""
        row = self._thread_message(services, key)
        if row is None or row.ref is None:
            return "unknown"
        marker = self.config.note_marker
        if row.container == "note":
            new = text[len(marker) :].strip() if text.lower().startswith(marker.lower()) else text
            result = actions.edit_note(services, int(row.ref), "Slack", new)
        else:
            result = actions.edit_queued_reply(services, int(row.ref), "Slack", text)
        return "edited" if result.ok else "too_late"

    def on_message_deleted(self, services: Services, event: dict[str, Any]) -> None:
        """Deleting a reply before it went out cancels it; deleting a note removes it."""
        ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        row = self._thread_message(services, f"{event['channel']}:{ts}")
        if row is None or row.ref is None:
            return
        if row.container == "note":
            actions.delete_note(services, int(row.ref), "Slack")
        else:
            actions.cancel_queued_reply(services, int(row.ref), "Slack")

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
                is_owner=self.is_owner(user_id),
            )
        except ForbiddenError as exc:
            answer = f"Nothing changed: {exc}."
        except (BadInputError, NotFoundError) as exc:
            answer = f"{exc} — try `{COMMAND} help`."
        await respond(response_type="ephemeral", text=answer)

    @staticmethod
    async def _run(fn: Callable[..., actions.ActionResult], *args: Any) -> actions.ActionResult | None:
        try:
            return await asyncio.to_thread(fn, *args)
        except (BadInputError, NotFoundError) as exc:
            log.info("Slack action %s refused: %s", fn.__name__, exc)
            return actions.ActionResult(False, str(exc), 0)


async def _ignore(body: dict[str, Any]) -> None:
    """An event type Sheepdog subscribes to or may receive but deliberately does nothing with."""
    log.info("Slack event %s ignored", (body.get("event") or {}).get("type"))


def _draft_body(services: Services, draft_id: int) -> tuple[str | None, str | None]:
    """(body, None) for a draft still waiting; (None, why not) once it is decided or gone."""
    with services.db.session() as s:
        draft = s.get(Draft, draft_id)
        if draft is None:
            return None, "that draft no longer exists"
        if draft.state == "pending":
            return draft.body, None
        done = DECIDED_WORDS.get(draft.state, draft.state)
        if draft.original_body is not None and draft.state in ("sent", "failed"):
            done = done.replace("approved", "edited and approved", 1)
        by = f" by {draft.decided_by}" if draft.decided_by else ""
        return None, f"this draft was already {done}{by}"


def _payload_kind(data: dict[str, Any]) -> str:
    """A short description of an unhandled payload for the log line."""
    if data.get("command"):
        return f"command {data['command']}"
    event = data.get("event") or {}
    kind = "/".join(str(x) for x in (data.get("type"), event.get("type")) if x) or "untyped"
    return f"{kind} {data.get('callback_id') or ''}".strip()
