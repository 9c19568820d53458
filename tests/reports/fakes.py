"""Local platform servers for the report tests.

- `FilesSlack`: tests/bot/slack_fake.FakeSlack plus what slack-sdk's files_upload_v2 needs:
  files.getUploadURLExternal answers an upload URL on this server, the bytes POSTed there are kept,
  files.completeUploadExternal shares them (https://docs.slack.dev/messaging/working-with-files).
- `BotApi`: a Bot API server answering getMe and sendPhoto/sendMessage as Telegram does
  (https://core.telegram.org/bots/api#sendphoto), keeping each photo's bytes.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.bot.slack_fake import FakeSlack
from tests.local_server import serve


@dataclass
class FilesSlack(FakeSlack):
    uploads: dict[str, bytes] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        return super().answer(method, params)

    async def upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK - 1")

    async def start(self) -> str:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self.handle)
        app.router.add_post("/upload/{file_id}", self.upload)
        self._runner, self.base_url = await serve(app)
        return self.base_url


BOT_USER = {"id": 7000001, "is_bot": True, "first_name": "Sheepdog", "username": "sheepdog_team_bot"}


@dataclass
class BotApi:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    photos: list[bytes] = field(default_factory=list)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def method(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        params: dict[str, Any] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.filename:  # type: ignore[union-attr]
                    self.photos.append(bytes(await part.read()))  # type: ignore[union-attr]
                    params[part.name or "file"] = "<file>"  # type: ignore[union-attr]
                else:
                    params[part.name or ""] = await part.text()  # type: ignore[union-attr]
        elif request.can_read_body:
            params = (
                await request.json()
                if request.content_type == "application/json"
                else dict(await request.post())
            )
        self.calls.append((name, params))
        if name == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        if name in ("sendPhoto", "sendMessage"):
            chat = {"id": int(params["chat_id"]), "type": "supergroup", "title": "Team"}
            result: dict[str, Any] = {"message_id": len(self.calls), "date": 1700000000, "chat": chat}
            if name == "sendPhoto":
                size = {"file_id": "AgAD", "file_unique_id": "AQAD", "width": 1200, "height": 675}
                result |= {"photo": [size], "caption": params.get("caption", "")}
            else:
                result["text"] = params.get("text", "")
            return web.json_response({"ok": True, "result": result})
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def start(self) -> str:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self.method)
        self._runner, self.base_url = await serve(app)
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
