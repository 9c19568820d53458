"""The console's Numbers page: metrics over a period against the one before, the pipeline by stage,
and the weekly reports as they were posted (text and chart).

Nothing is computed here: the figures come from reports.data (which reads the event log and runs
domain.metrics), the same functions behind `/sheepdog metrics`, `/sheepdog pipeline` and the Monday
report, so every surface shows the same numbers. Times are written by domain.clock, in the
business's zone.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from sheepdog.bot.web import SERVICES, json_error
from sheepdog.domain import metrics as rules
from sheepdog.domain.clock import shown_span, shown_time
from sheepdog.handlers.context import Services
from sheepdog.reports import data
from sheepdog.reports.job import POSTED
from sheepdog.reports.weekly import REPORT_LATE_WINDOW, due
from sheepdog.storage.tables import Event

REPORTS_SHOWN = 12
"""Weekly reports the page offers (a quarter); older ones stay in the event log."""

PRESETS = ("7d", "30d", "90d")


def _period_words(request: web.Request) -> str:
    """`?period=7d` / `?period=2026-11-01..2026-11-30`, or `?from=…&to=…` (a date picker's pair)."""
    start, end = request.query.get("from", "").strip(), request.query.get("to", "").strip()
    if start or end:
        if not (start and end):
            raise rules.PeriodError("a custom range needs both from and to (YYYY-MM-DD)")
        return f"{start}..{end}"
    return request.query.get("period", "")


async def metrics(request: web.Request) -> web.Response:
    """Every metric over the chosen period (default the last 7 days) against the period before."""
    services: Services = request.app[SERVICES]
    tz, now = services.business.timezone, services.now()
    try:
        period = rules.parse_period(_period_words(request), now, tz)
    except rules.PeriodError as exc:
        return json_error(400, str(exc))
    comparison = await asyncio.to_thread(data.compare, services.db, period)
    out = data.metrics_json(comparison, services.business.currency)
    before = period.previous()
    out["period"]["shown"] = shown_span(period.start, period.end, tz, now)
    out["before"]["shown"] = shown_span(before.start, before.end, tz, now)
    out["timezone"] = tz
    out["presets"] = list(PRESETS)
    return web.json_response(out)


async def pipeline(request: web.Request) -> web.Response:
    """Open leads by stage with owners and expected value, and the stuck ones with why."""
    services: Services = request.app[SERVICES]
    p = await asyncio.to_thread(
        data.pipeline,
        services.db,
        services.now(),
        services.settings.policy.claim_sla_s,
        services.business.currency,
    )
    return web.json_response(p.as_json())


def _report_row(event: Event, tz: str, now: datetime) -> dict[str, Any]:
    text = str((event.data or {}).get("text") or "")
    return {
        "id": event.id,
        "week": (event.data or {}).get("week"),
        "at": event.at.isoformat(),
        "when": shown_time(event.at, tz, now),
        "text": text,
        "lines": [line.replace("*", "").lstrip("• ").strip() for line in text.splitlines() if line.strip()],
        "chart": f"/api/reports/{event.id}/chart.png" if (event.data or {}).get("png") else None,
    }


async def reports(request: web.Request) -> web.Response:
    """The weekly reports posted to the console, newest first, and when the next one goes out."""
    services: Services = request.app[SERVICES]
    tz, now = services.business.timezone, services.now()

    def load() -> list[dict[str, Any]]:
        with services.db.session() as s:
            rows = s.scalars(
                select(Event).where(Event.kind == POSTED).order_by(Event.id.desc()).limit(REPORTS_SHOWN * 4)
            ).all()
            # One event per destination and week: the console's carries the text and the chart.
            mine = [e for e in rows if (e.data or {}).get("to") == "console"][:REPORTS_SHOWN]
            return [_report_row(e, tz, now) for e in mine]

    shown = await asyncio.to_thread(load)
    # The next one: this week's, while it is still owed (the job posts a late one for a day),
    # else next Monday's.
    run_at, week = due(now, tz)
    owed = now - run_at <= REPORT_LATE_WINDOW and all(
        r["week"] != week.label.removeprefix("week of ") for r in shown
    )
    upcoming = run_at if owed else run_at + timedelta(days=7)
    return web.json_response(
        {
            "reports": shown,
            "weekly": services.settings.reports.weekly,
            "next": upcoming.isoformat(),
            "next_when": shown_time(upcoming, tz, now),
            "timezone": tz,
        }
    )


async def report_chart(request: web.Request) -> web.Response:
    """A posted report's chart, as stored with its event (PNG)."""
    services: Services = request.app[SERVICES]
    raw = request.match_info["report_id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        return json_error(400, "report id must be a positive whole number")

    def load() -> str | None:
        with services.db.session() as s:
            event = s.get(Event, int(raw))
            return (event.data or {}).get("png") if event is not None and event.kind == POSTED else None

    png = await asyncio.to_thread(load)
    if not png:
        return json_error(404, f"no weekly report chart {raw}")
    try:
        body = base64.b64decode(png, validate=True)
    except (binascii.Error, ValueError):
        return json_error(404, f"the chart of report {raw} is unreadable")
    # A posted report never changes: the browser may keep it.
    return web.Response(
        body=body, content_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


def install(app: web.Application) -> None:
    app.router.add_get("/api/metrics", metrics)
    app.router.add_get("/api/pipeline", pipeline)
    app.router.add_get("/api/reports", reports)
    app.router.add_get("/api/reports/{report_id}/chart.png", report_chart)
