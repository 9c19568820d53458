"""A local Telegram Bot API server: records every call (method, params) and answers as Telegram
does, so python-telegram-bot (pointed here with base_url) talks real HTTP to it and a test asserts
the exact Bot API calls Sheepdog made. `fail_next` makes the next call of a method answer an error
(a 429 with retry_after, a 400 "message thread not found", a 403)."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.local_server import serve

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Brightside", "username": "brightside_team_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None  # what the fake answered (a sent message's message_id …)


@dataclass
class FakeTelegram:
    members: set[int] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
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
        if pending:
            status, body = pending.pop(0)
            self.calls.append(Call(f"{method}!{status}", params))
            return web.json_response(body, status=status)
        result = self.answer(method, params)
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

    def answer(self, method: str, params: dict[str, Any]) -> Any:
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
        if method == "getChatMember":
            user_id = int(params["user_id"])
            status = "member" if user_id in self.members else "left"
            return {"status": status, "user": {"id": user_id, "is_bot": False, "first_name": "Someone"}}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            return [u for u in self.updates if u["update_id"] >= offset]
        return True  # answerCallbackQuery, setMyCommands, setWebhook, deleteWebhook …

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        self._runner, self.base_url = await serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
