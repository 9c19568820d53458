"""The real Sheepdog app served on a loopback port from a thread of its own, with the local Slack
Web API beside it, so synchronous code (hypothesis, the soak's load loop) drives it over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from aiohttp import web

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.config import Settings
from sheepdog.jobs.queue import InProcessQueue
from tests.bot.conftest import SECRET
from tests.bot.slack_fake import FakeSlack
from tests.local_server import serve


def slack_sign(body: bytes, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = ts if ts is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


class LiveServer:
    """`with LiveServer(make_settings) as live:` … `live.post(path, body, headers)`."""

    def __init__(self, settings_for: Callable[[FakeSlack], Settings], *, queue: Any = None) -> None:
        self.settings_for = settings_for
        self.queue = queue
        self.fake = FakeSlack()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="live-server")
        self.runtime: Runtime | None = None
        self.runner: web.AppRunner | None = None
        self.base_url = ""
        self.http: httpx.Client | None = None

    def _run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        await self.fake.start()
        settings = self.settings_for(self.fake)
        queue = self.queue if self.queue is not None else InProcessQueue(periodic=False)
        self.runtime = build_runtime(settings, services=build_services(settings, queue=queue))
        self.runner, self.base_url = await serve(self.runtime.app)

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        await self.fake.stop()

    def __enter__(self) -> LiveServer:
        self.thread.start()
        self._run(self._start())
        self.http = httpx.Client(base_url=self.base_url, timeout=30.0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.http is not None:
            self.http.close()
        self._run(self._stop())
        if self.runtime is not None:
            self.runtime.services.db.dispose()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        assert self.http is not None
        return self.http.post(path, content=body, headers=headers or {})

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        assert self.http is not None
        return self.http.get(path, headers=headers or {})

    def idle(self, timeout: float = 30.0) -> None:
        """Wait until the app's queue has run every job (the brain read every message)."""
        assert self.runtime is not None
        wait = getattr(self.runtime.services.queue, "wait_idle", None)
        if wait is not None:
            wait(timeout)
