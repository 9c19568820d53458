"""Serve an aiohttp app on a free loopback port: the one way every local platform server in the
tests (Slack, Telegram, the report fakes, the live app) comes up."""

from __future__ import annotations

from aiohttp import web


async def serve(app: web.Application, **runner_options: object) -> tuple[web.AppRunner, str]:
    """Start `app` on 127.0.0.1 at a port the OS picks; the runner (to clean up) and the base URL."""
    runner = web.AppRunner(app, **runner_options)  # type: ignore[arg-type]
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
