"""Composition root: builds storage, queue, brain, channels and surfaces from the settings.

The embedded default and production run the same code; only the adapters chosen here differ.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import make_url, select

from sheepdog import clock
from sheepdog.bot.console.api import add_console
from sheepdog.bot.web import build_web_app, keep_payload, process
from sheepdog.brain import Brain, LazyBrain, make_brain
from sheepdog.channels.registry import pollers, senders
from sheepdog.config import Settings
from sheepdog.domain.models import InboundMessage
from sheepdog.errors import ConfigError, QueueUnavailableError
from sheepdog.handlers.context import Services, Surface, settle_heap
from sheepdog.jobs.queue import InProcessQueue, RqQueue
from sheepdog.storage.db import Database
from sheepdog.storage.tables import TriageCorrection

log = logging.getLogger(__name__)


def build_queue(settings: Settings) -> InProcessQueue | RqQueue:
    if settings.queue.backend == "rq":
        try:
            return RqQueue(settings.queue.redis_url, settings.queue.queue_name)
        except ValueError as exc:  # redis-py's words for a URL it cannot read
            raise ConfigError(f"queue.redis_url: {exc}") from None
    return InProcessQueue()


def build_surfaces(settings: Settings) -> list[Surface]:
    """Chat surfaces besides the console (which reads the store directly)."""
    surfaces: list[Surface] = []
    if settings.slack.enabled:
        from sheepdog.bot.slack import SlackSurface

        surfaces.append(SlackSurface(settings.slack))
    if settings.telegram_team.enabled:
        from sheepdog.bot.telegram_team import TelegramTeamSurface

        surfaces.append(TelegramTeamSurface(settings.telegram_team, settings.channels.telegram))
    return surfaces


def build_services(settings: Settings, *, queue: Any = None, db: Database | None = None) -> Services:
    """Everything a handler or job needs. The brain is built on first use (or by warm_up), with
    the owner's corrections stored so far; later ones are learnt as they arrive."""
    db = db or Database(settings.storage.url)
    services: Services

    def build_brain() -> Brain:
        with db.session() as s:
            rows = s.execute(
                select(TriageCorrection.id, TriageCorrection.text, TriageCorrection.category).order_by(
                    TriageCorrection.id
                )
            ).all()
        brain = make_brain(settings, corrections=[(text, category) for _, text, category in rows])
        services.corrections_seen(rows[-1][0] if rows else 0)
        return brain

    queue = queue or build_queue(settings)
    services = Services(
        settings=settings,
        db=db,
        brain=LazyBrain(build_brain),
        queue=queue,
        senders=senders(settings),
        surfaces=build_surfaces(settings),
        clock=clock.from_env() or clock.real_now,
    )
    if isinstance(queue, InProcessQueue):
        from sheepdog.jobs import tasks

        queue.bind(lambda: services)
        queue.periods = tasks.periodic(settings)
    return services


def surface_routes(
    settings: Settings, services: Services, console_token: str | None
) -> list[Callable[[web.Application], Any]]:
    extra: list[Callable[[web.Application], Any]] = []
    if settings.console.enabled and console_token:
        extra.append(add_console(console_token))
    for surface in services.surfaces:
        install = getattr(surface, "install_routes", None)
        if install is not None:
            extra.append(lambda app, install=install: install(app, services))
    return extra


@dataclass
class Runtime:
    """Everything `sheepdog run` starts, so tests can start and stop the same thing."""

    settings: Settings
    services: Services
    app: web.Application
    console_token: str
    background: list[asyncio.Task[None]] = field(default_factory=list)
    sink: Any = None
    ticker: Any = None  # jobs.schedule.Ticker in RQ mode
    warming: asyncio.Task[None] | None = None  # the embedded process's warm-up, until it is done

    async def start_background(self) -> None:
        queue = self.services.queue
        if isinstance(queue, InProcessQueue):
            # This process reads every message: build the brain now, off the event loop. The server
            # answers meanwhile, but /readyz stays red until it is loaded, so the first leads are
            # not sent into the load (and do not wait for it, or for the collector, see settle_heap).
            self.services.brain_state = "loading"
            self.warming = asyncio.create_task(asyncio.to_thread(self.services.warm_up))
            self.background.append(self.warming)
            queue.start()
        elif isinstance(queue, RqQueue):
            from sheepdog.jobs import tasks
            from sheepdog.jobs.schedule import Ticker

            self.ticker = Ticker(queue, "bot", periodic=tasks.periodic(self.settings)).start()
            await asyncio.to_thread(settle_heap)  # no brain to load here; the heap, though, is built
            try:  # once at start, like the in-process queue: cards whose sync a restart lost
                await asyncio.to_thread(queue.enqueue, "resync_surfaces")
            except QueueUnavailableError as exc:
                log.warning("%s", exc)

        async def deliver(msg: InboundMessage) -> object:
            return await process(self.services, [msg])

        async def reject(source: str, raw: bytes, reason: str) -> None:
            await keep_payload(self.services, source, raw, 422, reason)

        for poll in pollers(self.settings, deliver, reject):
            self.background.append(asyncio.create_task(_supervise(poll)))

    async def stop_background(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        self.background.clear()
        if self.ticker is not None:
            await asyncio.to_thread(self.ticker.stop)
            self.ticker = None
        queue = self.services.queue
        await asyncio.to_thread(queue.stop)


async def _supervise(poll: Callable[[], Any]) -> None:
    """Keep a poller alive: a crash is logged and the loop restarts after a pause."""
    while True:
        try:
            await poll()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("poller crashed; restarting in 10 s")
            await asyncio.sleep(10)


SAVED_TOKEN_FILE = "console.token"
"""Beside the demo's SQLite file: the login link the demo printed once stays good across restarts."""


def console_token(settings: Settings) -> str:
    """console.token from the config; else, for a SQLite store, the token saved beside the database
    (made once, readable by its owner only; deleting the data folder resets it); else a new one."""
    if settings.console.token:
        return settings.console.token
    url = make_url(settings.storage.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return secrets.token_urlsafe(18)
    saved = Path(url.database).parent / SAVED_TOKEN_FILE
    try:
        token = saved.read_text(encoding="utf-8").strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(18)
    saved.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


def build_runtime(settings: Settings, *, services: Services | None = None) -> Runtime:
    services = services or build_services(settings)
    token = console_token(settings)
    app = build_web_app(services, surface_routes(settings, services, token))
    runtime = Runtime(settings, services, app, token)

    async def on_startup(_: web.Application) -> None:
        await runtime.start_background()

    async def on_cleanup(_: web.Application) -> None:
        await runtime.stop_background()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return runtime
