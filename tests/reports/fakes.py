"""Local platform servers for the report tests.

- `FilesSlack`: tests/bot/slack_fake.FakeSlack plus what slack-sdk's files_upload_v2 needs:
  files.getUploadURLExternal answers an upload URL on this server, the bytes POSTed there are kept,
  files.completeUploadExternal shares them (https://docs.slack.dev/messaging/working-with-files).

The Bot API side is tests/bot/telegram_fake.FakeTelegram, the one Telegram fake of the tests
(its `photos` keeps each sendPhoto's bytes).
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
