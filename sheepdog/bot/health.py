"""/healthz, /readyz and /metrics: what a process manager, a load balancer and Prometheus ask.

- /healthz: the process answers (liveness; no I/O).
- /readyz: it can do its work: the database answers, the queue can run jobs (in RQ mode:
  Redis answers and at least one worker is alive), and, in a process that reads messages itself
  (embedded), the brain has finished loading. 503 with the failing check named otherwise.
- /metrics: Prometheus text format (prometheus-client). Counts are read from the database and
  the queue at scrape time, so they are the deployment's, not one process's: inbound messages per
  channel, sends per channel and result, queue depth, workers alive, job wait time, first-reply
  time. Behind the console token (`Authorization: Bearer …`), like the console's API.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, text

from sheepdog.handlers.context import Services
from sheepdog.jobs.queue import LATENCY_BUCKETS_S
from sheepdog.storage.tables import Lead, Message, Outbox

log = logging.getLogger(__name__)

FIRST_REPLY_BUCKETS_S = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)
FIRST_REPLY_WINDOW = timedelta(days=30)
"""The first-reply histogram covers leads of the last 30 days (what an owner compares)."""

SEND_RESULTS = {
    "sent": "sent",
    "failed": "failed",
    "cancelled": "cancelled",
    "queued": "queued",
    "sending": "sending",
}


def _services(request: web.Request) -> Services:
    from sheepdog.bot.web import SERVICES

    return request.app[SERVICES]


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def readiness(services: Services) -> dict[str, Any]:
    """Each check with ok and a sentence; ready when all are ok."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        with services.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "detail": "answers"}
    except Exception as exc:
        checks["database"] = {"ok": False, "detail": f"unreachable ({type(exc).__name__})"}
    health = services.queue.health()  # type: ignore[attr-defined]
    if not health.reachable:
        detail = "Redis unreachable" if health.backend == "rq" else "cannot read the job store"
        checks["queue"] = {"ok": False, "detail": detail}
    elif health.workers == 0:
        checks["queue"] = {"ok": False, "detail": "no worker is alive: start `sheepdog worker`"}
    else:
        workers = "this process" if health.workers is None else f"{health.workers} worker(s) alive"
        checks["queue"] = {"ok": True, "detail": f"{health.queued} queued, {workers}"}
    if services.brain_state:  # this process reads messages: ready once the brain is loaded
        loaded = services.brain_state == "loaded"
        checks["brain"] = {"ok": loaded, "detail": "loaded" if loaded else "loading the models"}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}


async def readyz(request: web.Request) -> web.Response:
    state = await asyncio.to_thread(readiness, _services(request))
    return web.json_response(state, status=200 if state["ok"] else 503)


class _Collector:
    """A prometheus-client collector that reads the deployment's numbers when scraped."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        services = self.services
        with services.db.session() as s:
            inbound = s.execute(
                select(Message.channel, func.count())
                .where(Message.direction == "inbound")
                .group_by(Message.channel)
            ).all()
            sends = s.execute(
                select(Outbox.channel, Outbox.state, func.count()).group_by(Outbox.channel, Outbox.state)
            ).all()
            since = services.now() - FIRST_REPLY_WINDOW
            firsts = s.execute(
                select(Lead.created_at, Lead.first_response_at).where(
                    Lead.first_response_at.is_not(None), Lead.created_at >= since
                )
            ).all()
        family = CounterMetricFamily(
            "sheepdog_inbound_messages", "Customer messages stored", labels=["channel"]
        )
        for channel, n in inbound:
            family.add_metric([channel], n)
        yield family
        family = CounterMetricFamily(
            "sheepdog_sends", "Outgoing messages by channel and result", labels=["channel", "result"]
        )
        for channel, state, n in sends:
            family.add_metric([channel, SEND_RESULTS.get(state, state)], n)
        yield family

        health = services.queue.health()  # type: ignore[attr-defined]
        depth = GaugeMetricFamily("sheepdog_queue_jobs", "Jobs in the queue by state", labels=["state"])
        for state in ("queued", "scheduled", "running", "failed"):
            depth.add_metric([state], getattr(health, state))
        yield depth
        yield GaugeMetricFamily(
            "sheepdog_queue_reachable", "1 when the queue answers", value=int(health.reachable)
        )
        if health.workers is not None:
            yield GaugeMetricFamily("sheepdog_workers_alive", "Worker processes alive", value=health.workers)
        runs = CounterMetricFamily("sheepdog_jobs_run", "Jobs started, by name", labels=["job"])
        for job, n in sorted(services.queue.runs().items()):  # type: ignore[attr-defined]
            runs.add_metric([job], n)
        yield runs

        latency = services.queue.latency()  # type: ignore[attr-defined]
        yield _histogram(
            HistogramMetricFamily,
            "sheepdog_job_wait_seconds",
            "Time a job waited between being due and starting",
            LATENCY_BUCKETS_S,
            latency.counts,
            latency.total_s,
        )
        waits = [(f - c).total_seconds() for c, f in firsts]
        counts = [0] * (len(FIRST_REPLY_BUCKETS_S) + 1)
        for w in waits:
            counts[
                next((i for i, le in enumerate(FIRST_REPLY_BUCKETS_S) if w <= le), len(FIRST_REPLY_BUCKETS_S))
            ] += 1
        yield _histogram(
            HistogramMetricFamily,
            "sheepdog_first_reply_seconds",
            "Time from a lead's first message to our first reply (leads of the last 30 days)",
            FIRST_REPLY_BUCKETS_S,
            counts,
            sum(waits),
        )


def _histogram(
    family: Any, name: str, doc: str, bounds: tuple[float, ...], counts: list[int], total: float
) -> Any:
    """Per-bucket counts (the last one above every bound) as Prometheus's cumulative buckets."""
    cumulative, running = [], 0
    for le, n in zip([*map(str, bounds), "+Inf"], counts, strict=True):
        running += n
        cumulative.append((le, running))
    return family(name, doc, buckets=cumulative, sum_value=total)


async def metrics(request: web.Request) -> web.Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from prometheus_client.registry import CollectorRegistry

    from sheepdog.bot.console.api import TOKEN

    token = request.app.get(TOKEN)
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not token or not given or not hmac.compare_digest(given.encode(), token.encode()):
        return web.json_response(
            {"error": "send the console token: Authorization: Bearer <console.token>"}, status=401
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(_services(request)))
    body = await asyncio.to_thread(generate_latest, registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/health", healthz)  # the name earlier versions answered on
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
