"""The one local Telegram Bot API server of the tests (the team surface, the weekly report,
doctor): it records every call (method, params) and answers as Telegram does, so
python-telegram-bot (pointed here with base_url) talks real HTTP to it and a test asserts the
exact Bot API calls Sheepdog made.

- `fail_next` makes the next call of a method answer an error (a 429 with retry_after, a 400
  "message thread not found", a 403); such a call is recorded as "method!status".
- `token`, when set, is the only token it knows: any other gets Telegram's 401 "Unauthorized".
- getChat, getChatMember (of the bot itself) and getWebhookInfo answer what `forum`,
  `bot_member` and `webhook` say; setWebhook and deleteWebhook change `webhook`. `chat_errors`
  makes every call about one chat fail (400 "chat not found", 403 "bot was kicked …").
- closeForumTopic / reopenForumTopic keep `closed_topics`; closing a closed topic (or reopening
  an open one) is Telegram's 400 "TOPIC_NOT_MODIFIED".
- `photos`: the bytes of every picture sent (sendPhoto's multipart file part).

Answers follow https://core.telegram.org/bots/api (ChatFullInfo, ChatMemberAdministrator,
WebhookInfo)."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.local_server import serve

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Brightside", "username": "brightside_team_bot"}
ADMIN = {
    "status": "administrator",
    "user": BOT_USER,
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": False,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": True,
}
"""getChatMember of a bot made an admin with Manage Topics (what docs/telegram.md asks for)."""
_NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}
NO_WEBHOOK = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None  # what the fake answered (a sent message's message_id …)


class ApiError(Exception):
    """An error answer: {"ok": false, "error_code": status, "description": …}."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


@dataclass
class FakeTelegram:
    members: set[int] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    token: str | None = None
    forum: bool = True
    bot_member: dict[str, Any] = field(default_factory=lambda: dict(ADMIN))
    webhook: dict[str, Any] = field(default_factory=lambda: dict(NO_WEBHOOK))
    closed_topics: set[int] = field(default_factory=set)
    chat_errors: dict[int, tuple[int, str]] = field(default_factory=dict)
    base_url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._threads = itertools.count(500)
        self._runner: web.AppRunner | None = None

    def fail_next(self, method: str, status: int, description: str, **parameters: Any) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.failures.setdefault(method, []).append((status, body))

    def made(self, *methods: str, since: int = 0) -> list[Call]:
        """The calls since `since`, of these methods (all but the start-up and look-up ones when none)."""
        quiet = {"getMe", "setMyCommands", "getChatMember", "setWebhook", "deleteWebhook", "getUpdates"}
        return [c for c in self.calls[since:] if (c.method in methods if methods else c.method not in quiet)]

    def methods(self, since: int = 0) -> list[str]:
        return [c.method for c in self.made(since=since)]

    @property
    def photos(self) -> list[bytes]:
        """The pictures sent, in order (each sendPhoto's file)."""
        return [c.params["photo"] for c in self.calls if c.method == "sendPhoto"]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        waited = 0.0
        while not predicate():
            if waited >= timeout:
                raise AssertionError(f"timed out; calls: {[c.method for c in self.calls]}")
            await asyncio.sleep(0.02)
            waited += 0.02

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = dict(await request.json())
        else:
            params = {k: v for k, v in (await request.post()).items()}
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in "[{":
                params[key] = json.loads(value)
            elif not isinstance(value, str):  # a file part (sendPhoto)
                params[key] = value.file.read() if hasattr(value, "file") else value
        pending = self.failures.get(method)
        try:
            if self.token is not None and request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if pending:
                status, body = pending.pop(0)
                self.calls.append(Call(f"{method}!{status}", params))
                return web.json_response(body, status=status)
            result = self.answer(method, params)
        except ApiError as exc:
            self.calls.append(Call(f"{method}!{exc.status}", params))
            body = {"ok": False, "error_code": exc.status, "description": exc.description}
            return web.json_response(body, status=exc.status)
        self.calls.append(Call(method, params, result))
        return web.json_response({"ok": True, "result": result})

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private", "title": "Team"}
        msg: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": 1700000000,
            "chat": chat,
            "from": BOT_USER,
        }
        if params.get("message_thread_id"):
            msg |= {"message_thread_id": int(params["message_thread_id"]), "is_topic_message": True}
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
            msg["reply_markup"] = params["reply_markup"]  # Telegram echoes inline keyboards only
        return msg | extra

    def _chat(self, chat_id: int) -> dict[str, Any]:
        """getChat's ChatFullInfo: a supergroup (a forum when `forum`) or a private chat."""
        common = {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": _NO_GIFTS}
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": "Team", "is_forum": self.forum} | common
        return {"id": chat_id, "type": "private", "first_name": "Sam"} | common

    def _topic(self, method: str, params: dict[str, Any]) -> bool:
        thread = int(params["message_thread_id"])
        closing = method == "closeForumTopic"
        if (thread in self.closed_topics) == closing:
            raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        (self.closed_topics.add if closing else self.closed_topics.discard)(thread)
        return True

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        if chat_id is not None and int(chat_id) in self.chat_errors:
            raise ApiError(*self.chat_errors[int(chat_id)])
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            return self._message(params, text=params.get("text", ""))
        if method == "sendPhoto":
            photo = [{"file_id": "AgACAgIAAxkBAAI", "file_unique_id": "AQAD", "width": 800, "height": 400}]
            return self._message(params, photo=photo, caption=params.get("caption"))
        if method == "editMessageText":
            msg = self._message(params, text=params.get("text", ""))
            return msg | {"message_id": int(params["message_id"]), "edit_date": 1700000001}
        if method == "createForumTopic":
            return {"message_thread_id": next(self._threads), "name": params["name"], "icon_color": 7322096}
        if method in ("closeForumTopic", "reopenForumTopic"):
            return self._topic(method, params)
        if method == "getChat":
            return self._chat(int(params["chat_id"]))
        if method == "getChatMember":
            user_id = int(params["user_id"])
            if user_id == BOT_USER["id"]:
                return self.bot_member
            status = "member" if user_id in self.members else "left"
            return {"status": status, "user": {"id": user_id, "is_bot": False, "first_name": "Someone"}}
        if method == "getWebhookInfo":
            return self.webhook
        if method == "setWebhook":
            self.webhook = dict(NO_WEBHOOK) | {"url": params["url"]}
            if params.get("allowed_updates") is not None:
                self.webhook["allowed_updates"] = params["allowed_updates"]
        if method == "deleteWebhook":
            self.webhook = dict(NO_WEBHOOK)
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            return [u for u in self.updates if u["update_id"] >= offset]
        return True  # answerCallbackQuery, setMyCommands, setWebhook, deleteWebhook …

    async def start(self) -> str:
        app = web.Application(client_max_size=20 * 1024 * 1024)  # a chart is bigger than aiohttp's 1 MB
        app.router.add_post("/bot{token}/{method}", self.handle)
        self._runner, self.base_url = await serve(app)
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
