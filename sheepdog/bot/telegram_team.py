"""Telegram team surface: the whole team workflow in a Telegram group and the owner's private chat.

- The group (a forum supergroup): a topic per lead opened by its brief, the customer's messages
  mirrored, each waiting draft with Approve / Edit / Pause / Skip and Quoted / Won / Lost, edited
  in place once decided (the cards: bot.telegram_cards). Without topics: a reply chain under the
  brief. A reply in a lead's topic goes to the customer; one starting with the note marker stays
  internal. Reacting with the claim emoji on a lead's card claims it.
- The owner's private chat: every draft that waits, with its keyboard (the approval queue).
- Edit, Won, Lost and Visit scheduled ask first with a ForceReply prompt; an edit is shown back
  before it is sent; a visit time that cannot be taken (gone, unclear) is asked again.

This module takes the updates: an adapter only. python-telegram-bot's Bot speaks the Bot API
(base_url points it at a local server in tests); each update becomes a TeamAction for
handlers.team_actions. Seen update ids, members' messages and prompts, and who claimed what are
the surface repositories of bot.posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import time
from typing import Any, TypeVar

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from sheepdog import safejson
from sheepdog.bot import posts
from sheepdog.bot import telegram_render as render
from sheepdog.bot.telegram_cards import RESTORED, SURFACE, TelegramCards
from sheepdog.channels import telegram_customer as customer_updates
from sheepdog.channels.telegram_customer import parse_update
from sheepdog.errors import BadInputError, ForbiddenError, NotFoundError, TransientSendError
from sheepdog.handlers import commands
from sheepdog.handlers.actions import ActionResult
from sheepdog.handlers.context import Services
from sheepdog.handlers.team_actions import NEEDS_TEXT, TeamAction, draft_to_edit, perform, visit_prefill

log = logging.getLogger(__name__)
T = TypeVar("T")

ROUTE = "/hooks/telegram/team"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MEMBERS_TTL_S = 120  # how long getChatMember's answer about one user is trusted

COMMANDS = {
    "pipeline": "open leads by stage, with owners and the stuck ones",
    "metrics": "first response, reply, handoff and conversion rates",
    "won": "<lead> [amount] — e.g. /won 12 4500",
    "lost": "<lead> <reason> — e.g. /lost 12 went with a competitor",
    "quoted": "<lead> — the quote went out",
    "visit": "<lead> <when|cancel> — e.g. /visit 12 thu 9am: reminders before it",
    "pause": "<lead> — stop the follow-ups",
    "resume": "<lead> — restart the follow-ups",
    "was": "<lead> <category> — correct the triage, e.g. /was 12 a booking",
    "help": "what Sheepdog can do here",
}
# Zulip-style: what the team surface does with each update type, and what it deliberately ignores.
HANDLED_UPDATES = {
    "message": "a reply in a lead's topic, an answer to a prompt, a /command",
    "edited_message": "an edit of a reply still queued or of a note",
    "callback_query": "a button on a card",
    "message_reaction": "the claim emoji on a lead's card: claim / release",
    "my_chat_member": "the bot added, demoted or removed: reported",
}
IGNORED_UPDATES = tuple(u for u in customer_updates.IGNORED_UPDATES if u not in HANDLED_UPDATES)
"""What the customer bot ignores, less what the team handles (a list kept in one place)."""
ALLOWED_UPDATES = list(HANDLED_UPDATES)
"""For setWebhook / getUpdates: message_reaction is not sent unless asked for."""
MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})


class TelegramTeamSurface(TelegramCards):
    """Posts and updates cards (TelegramCards); serves the team's updates: buttons, replies,
    reactions, commands."""

    name = SURFACE

    # ---- who may act ----------------------------------------------------------------------

    async def may_act(self, user_id: int) -> bool:
        """Members of the group (getChatMember, cached briefly), the allowlist and the owner."""
        if user_id in self.config.allowlist or user_id == self.config.owner_user_id:
            return True
        if self.group is None:
            return False
        at, ok = self._members.get(user_id, (0.0, False))
        if time.monotonic() - at <= MEMBERS_TTL_S:
            return ok
        try:
            member = await self.call(self.bot().get_chat_member, chat_id=self.group, user_id=user_id)
            ok = member.status in MEMBER_STATUSES or bool(getattr(member, "is_member", False))
        except BadRequest:
            ok = False
        self._members[user_id] = (time.monotonic(), ok)
        return ok

    async def refuse(self, services: Services, user: dict[str, Any], what: str) -> str:
        """A stranger's button, reply or reaction: logged (event log and log line); the words to
        answer them with."""
        log.info("refused Telegram user %s: %s", user.get("id"), what)
        await asyncio.to_thread(
            _log, services, "telegram_refused", None, _name(user), user_id=user.get("id"), what=what
        )
        return f"Sorry, only members of the team group can {what}. Ask the owner to add you."

    # ---- updates in -----------------------------------------------------------------------

    async def handle_update(self, services: Services, update: dict[str, Any], raw: bytes = b"") -> None:
        """One Update: de-duplicated by update_id, then routed by its type (unknown: a log line)."""
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("Telegram team: not an Update (no integer update_id); ignored")
            return
        if not await asyncio.to_thread(
            posts.first_time, services, SURFACE, str(update_id), update_id=update_id
        ):
            log.info("Telegram update %s already handled; ignored", update_id)
            return
        kind = next((k for k in update if k != "update_id"), None)
        body = update.get(kind) if kind else None
        if kind in IGNORED_UPDATES:
            log.info("Telegram team: %s update %s ignored", kind, update_id)
            return
        if kind not in HANDLED_UPDATES or not isinstance(body, dict):
            log.warning("Telegram team: unknown or malformed update %s (%s) ignored", update_id, kind)
            return
        chat = (body.get("message") or {}).get("chat") if kind == "callback_query" else body.get("chat")
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if chat_id not in (self.group, self.owner_chat):
            await self._not_ours(services, kind, body, update, raw)
            return
        handler = {
            "message": self.on_message,
            "edited_message": self.on_edited,
            "callback_query": self.on_callback,
            "message_reaction": self.on_reaction,
            "my_chat_member": self.on_my_member,
        }[kind]
        await handler(services, body)

    async def _not_ours(
        self, services: Services, kind: str, body: dict[str, Any], update: dict[str, Any], raw: bytes
    ) -> None:
        """With a shared bot, a customer's DM goes to the customer channel; anything else from a
        chat that is neither the group nor the owner's is ignored (and a stray button answered)."""
        chat = body.get("chat") if isinstance(body.get("chat"), dict) else {}
        if self.shared and kind in ("message", "edited_message") and chat.get("type") == "private":
            from sheepdog.bot.web import process

            messages = parse_update(update, raw or json.dumps(update).encode())
            if messages:
                await process(services, messages)
            return
        if kind == "callback_query" and isinstance(body.get("id"), str):
            with contextlib.suppress(TelegramError):
                await self.call(self.bot().answer_callback_query, callback_query_id=body["id"])
        log.info("Telegram team: %s from chat %s (not the team's) ignored", kind, chat.get("id"))

    async def on_callback(self, services: Services, query: dict[str, Any]) -> None:
        """A button: always answered (answerCallbackQuery), with the outcome or the refusal."""
        user = query.get("from") or {}
        msg = query.get("message") or {}
        answer, alert = "", False
        try:
            parsed = render.parse_callback(render.plain(query.get("data")))
            if parsed is None:
                answer = "That button is not Sheepdog's."
                return
            kind, target = parsed
            if not await self.may_act(int(user.get("id") or 0)):
                answer, alert = await self.refuse(services, user, f"use the {kind} button"), True
                return
            answer = await self._button(services, user, msg, kind, target)
        finally:
            with contextlib.suppress(TelegramError):
                await self.call(
                    self.bot().answer_callback_query,
                    callback_query_id=str(query.get("id")),
                    text=answer[:200] or None,
                    show_alert=alert,
                )

    async def _button(
        self, services: Services, user: dict[str, Any], msg: dict[str, Any], kind: str, target: int
    ) -> str:
        chat, thread = int(msg["chat"]["id"]), msg.get("message_thread_id")
        key = f"{chat}:{msg.get('message_id')}"
        if kind in ("send_edit", "cancel_edit"):
            row = await asyncio.to_thread(self.thread.take, services, key)
            if row is None or row.kind != "preview:edit":
                return "Already done."
            result = (
                await perform(
                    services, TeamAction("edit", int(row.ref or 0), _name(user), row.body or "", SURFACE)
                )
                if kind == "send_edit"
                else ActionResult(False, "edit cancelled", row.lead_id)
            )
            said = "Sent." if result.ok else f"Not sent: {result.message}."
            with contextlib.suppress(BadRequest):
                await self.call(
                    self.bot().edit_message_text,
                    chat_id=chat,
                    message_id=int(msg["message_id"]),
                    text=f"{render.esc(said)}\n<blockquote>{render.esc(row.body or '')}</blockquote>",
                    parse_mode=ParseMode.HTML,
                )
            return said
        if kind in NEEDS_TEXT:  # Edit, Won, Lost, Visit scheduled: a ForceReply asks first
            return await self._prompt(services, user, chat, thread, kind, target)
        result = await perform(services, TeamAction(kind, target, _name(user), "", SURFACE))
        return (
            f"{result.message[:1].upper()}{result.message[1:]}."
            if result.ok
            else f"Nothing changed: {result.message}."
        )

    async def _prompt(
        self,
        services: Services,
        user: dict[str, Any],
        chat: int,
        thread: int | None,
        kind: str,
        target: int,
        why: str = "",
        reply_to: int | None = None,
    ) -> str:
        """Edit, Won, Lost and Visit scheduled ask first: a ForceReply addressed to whoever pressed
        the button (`why`: the previous answer could not be taken, and this asks again)."""
        who = render.mention(int(user["id"]), _name(user))
        if kind == "visit_scheduled":
            lead_id = target
            pre = await asyncio.to_thread(visit_prefill, services, target)
            tz = services.business.timezone
            asked = ""
            if pre.source == "booked" and pre.day is not None and pre.at is not None:
                asked = f"It is booked for {pre.day:%a %d %b} {pre.at:%H:%M}. "
            elif pre.source == "asked" and pre.day is not None:
                asked = f"The customer asked for {pre.day:%a %d %b}{f' {pre.at:%H:%M}' if pre.at else ''}. "
            again = f"Not recorded: {render.esc(why)}.\n" if why else ""
            text = (
                f"{again}{who}, when is the visit for lead #{target}? Reply to this message with the day "
                f"and time, e.g. <code>thu 9am</code>, <code>tomorrow 14:30</code> or "
                f"<code>2026-12-03 9:00</code> ({render.esc(tz)} time). {render.esc(asked)}"
                "The customer is reminded before it."
            )
            placeholder = "thu 9am"
        elif kind == "edit":
            body, decided = await asyncio.to_thread(draft_to_edit, services, target)
            if body is None:
                return f"Nothing to edit: {decided}."
            lead_id = await asyncio.to_thread(_draft_lead, services, target)
            text = (
                f"{who}, reply to this message with the new text for draft #{target}. Now it reads:\n"
                f"<blockquote>{render.esc(body[:3000])}</blockquote>"
            )
            placeholder = "The new text"
        else:
            lead_id = target
            ask = "the amount (or 'none')" if kind == "won" else "why it was lost"
            text = f"{who}, reply to this message with {ask} for lead #{target}."
            placeholder = "4500" if kind == "won" else "went with a competitor"
        sent = await self.call(
            self.bot().send_message,
            chat_id=chat,
            text=text,
            parse_mode=ParseMode.HTML,
            message_thread_id=thread,
            reply_markup=ForceReply(selective=True, input_field_placeholder=placeholder),
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to
            else None,
        )
        key = f"{chat}:{sent.message_id}"
        await asyncio.to_thread(
            self.thread.remember, services, key, lead_id or 0, f"prompt:{kind}", ref=str(target)
        )
        return "Reply to my message."

    async def on_message(self, services: Services, msg: dict[str, Any]) -> None:
        user = msg.get("from") or {}
        text = render.plain(msg.get("text") or msg.get("caption")).strip()
        if not text or user.get("is_bot") or not isinstance(user.get("id"), int):
            return
        chat, thread = (
            int(msg["chat"]["id"]),
            msg.get("message_thread_id") if msg.get("is_topic_message") else None,
        )
        if text.startswith("/"):
            await self.on_command(services, msg, user, text)
            return
        replied = msg.get("reply_to_message") or {}
        if replied:
            prompt = await asyncio.to_thread(self.thread.get, services, f"{chat}:{replied.get('message_id')}")
            if prompt is not None and prompt.kind.startswith("prompt:"):
                await self.on_prompt_answer(services, msg, user, prompt, text)
                return
        if chat != self.group:
            return  # the owner's chat takes buttons and commands
        if thread is not None and self.config.topics:
            lead_id = await asyncio.to_thread(self.cards.lead_for_thread, services, str(chat), str(thread))
        else:
            ref = str(replied.get("message_id")) if replied else ""
            lead_id = (
                await asyncio.to_thread(self.cards.lead_for, services, ref, container=str(chat))
                if ref
                else None
            )
        if lead_id is None:
            return
        if not await self.may_act(int(user["id"])):
            await self.refuse(services, user, "answer customers")
            return
        marker = self.config.note_marker
        is_note = text.lower().startswith(marker.lower())
        body = text[len(marker) :].strip() if is_note else text
        if not body:
            return
        actor, kind = _name(user), "note" if is_note else "reply"
        key = f"{chat}:{msg['message_id']}"
        digest = posts.text_hash(actor, body)
        await asyncio.to_thread(self.thread.remember, services, key, lead_id, kind, content_hash=digest)
        result = await perform(services, TeamAction(kind, lead_id, actor, body, SURFACE))
        if not result.ok:
            await self._say(chat, thread, f"Not sent to the customer: {result.message}.", msg["message_id"])
        elif result.ref is not None:
            await asyncio.to_thread(self.thread.link, services, key, result.ref)

    async def on_prompt_answer(
        self, services: Services, msg: dict[str, Any], user: dict[str, Any], prompt: Any, text: str
    ) -> None:
        chat, thread = (
            int(msg["chat"]["id"]),
            msg.get("message_thread_id") if msg.get("is_topic_message") else None,
        )
        if not await self.may_act(int(user["id"])):
            await self.refuse(services, user, "answer Sheepdog's questions")
            return
        kind, target = prompt.kind.removeprefix("prompt:"), int(prompt.ref or 0)
        if kind == "edit":  # shown back before it is sent
            await asyncio.to_thread(self.thread.take, services, prompt.message_key)
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton("Send", callback_data=render.callback("send_edit", target)),
                        InlineKeyboardButton("Cancel", callback_data=render.callback("cancel_edit", target)),
                    ]
                ]
            )
            shown = f"The customer will get this instead of draft #{target}:\n<blockquote>{render.esc(text)}</blockquote>"
            sent = await self._say(chat, thread, render.split(shown)[0], msg["message_id"], markup, html=True)
            key = f"{chat}:{sent.message_id}"
            await asyncio.to_thread(
                self.thread.remember,
                services,
                key,
                prompt.lead_id,
                "preview:edit",
                ref=str(target),
                body=text,
            )
            return
        result = await perform(services, TeamAction(kind, target, _name(user), text, SURFACE))
        if kind == "visit_scheduled" and not result.ok and "already booked" not in result.message:
            # Gone, unclear or not a time: asked again, nothing guessed. The first prompt stays
            # answerable (a reply to it must never go to the customer).
            await self._prompt(services, user, chat, thread, kind, target, result.message, msg["message_id"])
            return
        if result.ok or "already" in result.message:
            await asyncio.to_thread(self.thread.take, services, prompt.message_key)
        said = (
            f"Lead #{target}: {result.message}"
            if result.ok
            else f"Lead #{target}: nothing changed ({result.message})"
        )
        await self._say(chat, thread, said, msg["message_id"])

    async def on_command(
        self, services: Services, msg: dict[str, Any], user: dict[str, Any], text: str
    ) -> None:
        chat, thread = (
            int(msg["chat"]["id"]),
            msg.get("message_thread_id") if msg.get("is_topic_message") else None,
        )
        head, _, rest = text.partition(" ")
        verb = head[1:].split("@", 1)[0].lower()
        if verb not in COMMANDS:
            return  # another bot's command, or a typo: not ours to answer
        if verb == "help":
            answer = "\n".join(f"/{name} {what}" for name, what in COMMANDS.items())
        elif not await self.may_act(int(user["id"])):
            answer = await self.refuse(services, user, f"use /{verb}")
        else:
            try:
                answer = await asyncio.to_thread(
                    commands.run,
                    services,
                    f"{verb} {rest}",
                    _name(user),
                    "/",
                    SURFACE,
                    is_owner=user["id"] == self.config.owner_user_id,
                )
                answer = answer.replace("/ ", "/")
            except ForbiddenError as exc:
                answer = f"Nothing changed: {exc}."
            except (BadInputError, NotFoundError) as exc:
                answer = f"{str(exc).replace('/ ', '/')} — try /help."
        await self._say(chat, thread, _markdown_html(answer), msg["message_id"], html=True)

    async def on_edited(self, services: Services, msg: dict[str, Any]) -> None:
        """An edit before the reply went out changes what is sent; after, the author is told."""
        chat = int(msg["chat"]["id"])
        row = await asyncio.to_thread(self.thread.get, services, f"{chat}:{msg.get('message_id')}")
        if row is None or not row.ref or row.kind not in ("reply", "note"):
            return
        text = render.plain(msg.get("text")).strip()
        marker = self.config.note_marker
        if row.kind == "note" and text.lower().startswith(marker.lower()):
            text = text[len(marker) :].strip()
        kind = "edit_note" if row.kind == "note" else "edit_reply"
        result = await perform(
            services, TeamAction(kind, int(row.ref), _name(msg.get("from") or {}), text, SURFACE)
        )
        if not result.ok:
            thread = msg.get("message_thread_id") if msg.get("is_topic_message") else None
            await self._say(
                chat,
                thread,
                "That reply was already sent; the customer has the first version.",
                msg["message_id"],
            )

    async def on_reaction(self, services: Services, reaction: dict[str, Any]) -> None:
        """The claim emoji added on a lead's card claims the lead; taken away, releases it."""
        emoji = self.config.claim_emoji

        def has(key: str) -> bool:
            return any(isinstance(r, dict) and r.get("emoji") == emoji for r in reaction.get(key) or [])

        added, removed = (
            has("new_reaction") and not has("old_reaction"),
            has("old_reaction") and not has("new_reaction"),
        )
        user = reaction.get("user") or {}
        if not (added or removed) or not isinstance(user.get("id"), int):
            return
        ref, chat = str(reaction.get("message_id")), str(reaction["chat"]["id"])
        lead_id = await asyncio.to_thread(self.cards.lead_for, services, ref, container=chat)
        if lead_id is None:
            return
        if not await self.may_act(int(user["id"])):
            await self.refuse(services, user, "claim leads")
            return
        actor = _name(user)
        if added:
            result = await perform(services, TeamAction("claim", lead_id, actor, surface=SURFACE))
            if result.ok:
                await asyncio.to_thread(self.claimers.remember, services, lead_id, str(user["id"]))
            return
        held_as = await asyncio.to_thread(self.claimers.held_as, services, lead_id, str(user["id"]))
        await perform(services, TeamAction("unclaim", lead_id, held_as or actor, surface=SURFACE))

    async def on_my_member(self, services: Services, change: dict[str, Any]) -> None:
        """The bot removed from (or demoted in) a team chat: reported, and no more posting there."""
        chat = int(change["chat"]["id"])
        status = str((change.get("new_chat_member") or {}).get("status"))
        if status in ("left", "kicked"):
            self._gone.add(chat)
            await asyncio.to_thread(
                self.problem, services, None, f"the bot was removed from chat {chat} ({status})"
            )
        elif status in MEMBER_STATUSES or status == "restricted":
            if chat in self._gone:
                self._gone.discard(chat)
                await asyncio.to_thread(_log, services, RESTORED, None, "Telegram", chat=chat, status=status)
            if status != "administrator" and chat == self.group:
                log.warning(
                    "Telegram team: the bot is not an admin of %s: reactions and topics need it", chat
                )

    async def _say(
        self,
        chat: int,
        thread: int | None,
        text: str,
        reply_to: int,
        markup: Any = None,
        *,
        html: bool = False,
    ) -> Any:
        return await self.call(
            self.bot().send_message,
            chat_id=chat,
            text=text if html else render.esc(text),
            parse_mode=ParseMode.HTML,
            message_thread_id=thread,
            reply_markup=markup,
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True),
        )

    # ---- the web route, polling, start-up ---------------------------------------------------

    def install_routes(self, app: web.Application, services: Services) -> None:
        """POST /hooks/telegram/team (webhook mode) or a getUpdates loop (polling mode); at start-up
        the commands are registered for the group and for private chats."""
        if self.config.mode == "webhook":
            app.router.add_post(ROUTE, self.webhook)
        running: list[asyncio.Task[None]] = []

        async def start(_: web.Application) -> None:
            running.append(asyncio.create_task(self.start_up(services)))

        async def stop(_: web.Application) -> None:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

        app.on_startup.append(start)
        app.on_cleanup.append(stop)

    async def start_up(self, services: Services) -> None:
        """setMyCommands (the group, private chats); setWebhook with allowed_updates, or polling."""
        cmds = [BotCommand(name, what[:256]) for name, what in COMMANDS.items()]
        scopes: list[Any] = [BotCommandScopeAllPrivateChats()]
        if self.group is not None:
            scopes.insert(0, BotCommandScopeChat(self.group))
        for scope in scopes:
            try:
                await self.call(self.bot().set_my_commands, commands=cmds, scope=scope)
            except (TelegramError, TransientSendError) as exc:
                log.warning("Telegram setMyCommands failed: %s", exc)
        public = services.settings.console.public_url
        if self.config.mode == "webhook" and self.config.set_webhook and public.startswith("https://"):
            try:
                await self.call(
                    self.bot().set_webhook,
                    url=public.rstrip("/") + ROUTE,
                    secret_token=self.secret,
                    allowed_updates=ALLOWED_UPDATES + (["message", "edited_message"] if self.shared else []),
                )
            except (TelegramError, TransientSendError) as exc:
                log.warning("Telegram setWebhook failed: %s (see docs/telegram.md)", exc)
        if self.config.mode == "polling":
            await self.poll(services)

    async def poll(self, services: Services) -> None:
        bot, offset = self.bot(), None
        with contextlib.suppress(TelegramError):
            await bot.delete_webhook(drop_pending_updates=False)
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset, timeout=self.config.poll_timeout_s, allowed_updates=ALLOWED_UPDATES
                )
                for upd in updates:
                    data = upd.to_dict()
                    try:
                        await self.handle_update(services, data)
                    except Exception:
                        log.exception("Telegram team update %s failed; skipped", upd.update_id)
                    offset = upd.update_id + 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the loop outlives a network blip
                log.warning("Telegram team polling failed: %r; retrying in 5 s", exc)
                await asyncio.sleep(5)

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        """Verified by the secret token (constant-time, exact): 401 without it. Whatever follows
        gets 200 (Telegram would resend it otherwise); what cannot be used is logged and kept."""
        from sheepdog.bot.web import SERVICES, json_error, keep_rejected, read_body

        services = request.app[SERVICES]
        try:
            body = await read_body(request)
        except BadInputError as exc:
            await keep_rejected(
                services, request, getattr(exc, "kept", b""), exc.status, str(exc), truncated=True
            )
            return json_error(exc.status, str(exc))
        given = request.headers.get(SECRET_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), self.secret.encode()):
            reason = f"{'wrong' if given else 'missing'} {SECRET_HEADER}"
            await keep_rejected(services, request, body, 401, reason)
            return json_error(401, reason)
        try:
            update = safejson.loads(body)  # depth, number and UTF-8 limits checked first
            if not isinstance(update, dict):
                raise ValueError("not a JSON object")
        except (ValueError, BadInputError) as exc:
            log.warning("Telegram team: malformed update (%s); answered 200", exc)
            await keep_rejected(services, request, body, 200, f"malformed update: {exc}")
            return web.json_response({"ok": True})
        try:
            await self.handle_update(services, update, body)
        except Exception as exc:
            log.exception("Telegram team update failed")
            await keep_rejected(services, request, body, 200, f"update failed: {exc!r}")
        return web.json_response({"ok": True})


def send_team_photo(services: Services, png: bytes, caption: str = "") -> str | None:
    """For jobs (the weekly report): the picture in the Telegram team chat, if that surface is on."""
    from sheepdog.jobs.tasks import run_async

    for surface in services.surfaces:
        if isinstance(surface, TelegramTeamSurface):
            return run_async(surface.send_photo(png, caption))
    return None


def _name(user: dict[str, Any]) -> str:
    """'Dana Whitfield', '@dana', or the id: what cards say ("Approved by Dana")."""
    full = " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k))
    return full or (f"@{user['username']}" if user.get("username") else str(user.get("id", "someone")))


def _log(services: Services, kind: str, lead_id: int | None, actor: str | None, **data: Any) -> None:
    with services.db.session() as s:
        services.log(s, kind, lead_id, actor, **data)


def _draft_lead(services: Services, draft_id: int) -> int | None:
    from sheepdog.handlers.team_actions import draft_lead

    return draft_lead(services, draft_id)


_BOLD, _CODE = re.compile(r"\*([^*\n]+)\*"), re.compile(r"`([^`\n]+)`")


def _markdown_html(text: str) -> str:
    """The commands' light markdown (*bold*, `code`) as Telegram HTML, everything else escaped."""
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<b>\1</b>", render.esc(text)))
