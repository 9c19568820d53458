"""Slack Socket Mode: the same bolt app (so the same de-duplication and listeners) over Slack's
app-token WebSocket, for installs with no public URL. No HTTP route is served in this mode."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


def install_socket_mode(
    app: web.Application, bolt: AsyncApp, app_token: str, describe: Callable[[dict[str, Any]], str]
) -> None:
    """The handler is made in on_startup: slack-sdk's client needs the running event loop (made in
    build_runtime it fails with "no running event loop"). It connects in the background, as
    slack-sdk retries a refused connection forever and that must not hold up the web server."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
    from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

    class Handler(AsyncSocketModeHandler):
        async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
            start = time.time()
            resp = await run_async_bolt_app(self.app, req)
            if resp.status == 404:  # as on HTTP: acked, or Slack redelivers and shows an error
                log.info("Slack payload Sheepdog does not handle (%s); acked", describe(req.payload))
                resp = BoltResponse(status=200, body="")
            await send_async_response(client, req, resp, start)

    running: list[tuple[AsyncSocketModeHandler, asyncio.Task[None]]] = []

    async def start(_: web.Application) -> None:
        handler = Handler(bolt, app_token, web_client=bolt.client)
        running.append((handler, asyncio.create_task(handler.connect_async())))

    async def stop(_: web.Application) -> None:
        while running:
            handler, connecting = running.pop()
            await handler.close_async()
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
