"""A local Slack Web API: records every call (method, params) and answers as Slack does
(chat.postEphemeral to someone outside the channel: `user_not_in_channel`).

slack-sdk's AsyncWebClient is pointed here with base_url, so the real SDK (its retry handlers,
its JSON and form encodings) talks real HTTP to it. `fail_next` makes the next call of a method
answer 429 with Retry-After, or a 5xx, once each.

It is also Slack's Socket Mode side: `apps.connections.open` answers with a ws://127.0.0.1 URL on
this server, the WebSocket there says `hello`, `push` sends an envelope as Slack does, and every
message the client sends back (the acks, `{"envelope_id": ...}`) is kept in `acks`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.local_server import serve


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeSlack:
    """The recorder and its answers; `members` is what conversations.members returns."""

    members: list[str] = field(default_factory=lambda: ["UDANA", "UALI"])
    names: dict[str, str] = field(default_factory=lambda: {"UDANA": "Dana", "UALI": "Ali"})
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=dict)  # method -> statuses to answer first
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    base_url: str = ""
    _runner: web.AppRunner | None = None
    # Socket Mode
    app_tokens: list[str] = field(default_factory=list)  # the tokens apps.connections.open was called with
    sockets: list[web.WebSocketResponse] = field(default_factory=list)  # open, newest last
    acks: list[dict[str, Any]] = field(default_factory=list)

    def fail_next(self, method: str, *statuses: int) -> None:
        self.failures.setdefault(method, []).extend(statuses)

    def made(
        self,
        *,
        skip: tuple[str, ...] = ("auth.test", "users.info", "conversations.members", "apps.connections.open"),
    ) -> list[Call]:
        """The calls that change something in Slack (look-ups left out unless asked for)."""
        return [c for c in self.calls if c.method not in skip]

    def methods(self, **kw: Any) -> list[str]:
        return [c.method for c in self.made(**kw)]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        for _ in range(int(timeout / 0.02)):
            if predicate():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"Slack calls never matched; made: {[c.method for c in self.calls]}")

    async def settle(self, quiet: float = 0.25, timeout: float = 10.0) -> None:
        """Wait until no new call arrived for `quiet` seconds (background work finished)."""
        seen, idle, waited = len(self.calls), 0.0, 0.0
        while idle < quiet and waited < timeout:
            await asyncio.sleep(0.05)
            waited += 0.05
            idle = idle + 0.05 if len(self.calls) == seen else 0.0
            seen = len(self.calls)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info.get("method") or "response_url"
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                params.update(json.loads(raw))
            else:
                params.update(dict(await request.post()))
        for key in ("blocks", "view"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        pending = self.failures.get(method)
        if pending:
            status = pending.pop(0)
            self.calls.append(Call(f"{method}!{status}", params))
            if status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            return web.Response(status=status, text="upstream trouble")
        self.calls.append(Call(method, params))
        if method == "apps.connections.open":
            self.app_tokens.append(request.headers.get("Authorization", "").removeprefix("Bearer "))
            ticket = uuid.uuid4().hex
            ws_url = self.base_url.replace("http://", "ws://", 1)
            return web.json_response({"ok": True, "url": f"{ws_url}/link/?ticket={ticket}&app_id=A0001"})
        return web.json_response(self.answer(method, params))

    # ---- Socket Mode ------------------------------------------------------------------------

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        """The WebSocket of a Socket Mode connection: hello, then whatever `push` sends."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets) + 1,
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": request.query.get("app_id", "A0001")},
            }
        )
        self.sockets.append(ws)
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self.acks.append(json.loads(msg.data))
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    async def connected(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client holds an open WebSocket."""
        for _ in range(int(timeout / 0.02)):
            if self.sockets:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"no Socket Mode connection; calls: {[c.method for c in self.calls]}")

    async def push(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send an envelope the way Slack does ("events_api", "interactive", "slash_commands")."""
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind in ("slash_commands", "interactive"),
        }
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        await self.sockets[-1].send_json(envelope)
        return envelope_id

    def ack_of(self, envelope_id: str) -> dict[str, Any] | None:
        return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)

    async def acked(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the client's ack of an envelope and return it."""
        for _ in range(int(timeout / 0.02)):
            ack = self.ack_of(envelope_id)
            if ack is not None:
                return ack
            await asyncio.sleep(0.02)
        raise AssertionError(f"envelope {envelope_id} never acked; acks: {self.acks}")

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "sheepdog",
                "team_id": "T0001",
                "user_id": self.bot_user_id,
                "bot_id": self.bot_id,
            }
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return {
                "ok": True,
                "channel": params.get("channel"),
                "ts": ts,
                "message": {
                    "type": "message",
                    "text": params.get("text", ""),
                    "ts": ts,
                    "bot_id": self.bot_id,
                    "user": self.bot_user_id,
                },
            }
        if method == "chat.update":
            return {
                "ok": True,
                "channel": params.get("channel"),
                "ts": params.get("ts"),
                "text": params.get("text", ""),
            }
        if method == "chat.postEphemeral":
            # As Slack does: an ephemeral message in a channel reaches only its members (HTTP 200,
            # ok false; slack-sdk raises SlackApiError). https://docs.slack.dev/reference/methods/chat.postEphemeral
            if params.get("user") not in self.members:
                return {"ok": False, "error": "user_not_in_channel"}
            return {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}
        if method in ("views.open", "views.update"):
            return {"ok": True, "view": {"id": "V0001", **(params.get("view") or {})}}
        if method == "conversations.members":
            return {"ok": True, "members": self.members, "response_metadata": {"next_cursor": ""}}
        if method == "users.info":
            uid = str(params.get("user"))
            name = self.names.get(uid)
            if name is None:
                return {"ok": False, "error": "user_not_found"}
            return {
                "ok": True,
                "user": {
                    "id": uid,
                    "name": name.lower(),
                    "real_name": name,
                    "profile": {"display_name": name, "real_name": name},
                },
            }
        return {"ok": True}

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle)
        app.router.add_route("*", "/commands/{rest:.*}", self.handle)
        app.router.add_route("*", "/actions/{rest:.*}", self.handle)
        app.router.add_get("/link/", self.link)
        self._runner, self.base_url = await serve(app)
        return self.base_url

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
