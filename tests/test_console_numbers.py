"""The console's Numbers tab through the real app, on SQLite and PostgreSQL: metrics over a period
against the one before (the same figures as `/sheepdog metrics`), the pipeline by stage with owners,
value and stuck leads, and the weekly report as the Monday job posted it, chart included."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from sheepdog.handlers import commands
from sheepdog.jobs.tasks import run_job
from sheepdog.storage.tables import Event
from tests.conftest import fixture_bytes
from tests.reports.test_weekly import MONDAY_8, seed

WEEK = "2026-11-23..2026-11-29"  # Monday to Sunday in Chicago, the seeded week


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/n.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(make_settings: Any, db_url: str) -> Any:
    return make_settings(storage={"url": db_url}, business={"timezone": "America/Chicago"})


def _by_key(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in data["metrics"]}


async def test_metrics_over_a_period_and_the_weekly_report_with_its_chart(client: Any, runtime: Any) -> None:
    services = runtime.services
    seed(services)
    services.clock = lambda: MONDAY_8

    resp = await client.get(f"/api/metrics?period={WEEK}")
    assert resp.status == 200, await resp.text()
    week = await resp.json()
    m = _by_key(week)
    # Hand-computed from the seed: leads 2, 3, 4 this week (1 the week before); 2 and 4 answered
    # automatically after 60 s and 30 s; 2 wrote back; 3 handed off; 2 won for $4,500.
    assert (m["leads"]["now"], m["leads"]["before"], m["leads"]["change"]) == (3, 1, "+200%")
    assert m["first_auto_p50_s"]["now"] == 30.0 and m["first_auto_p50_s"]["now_text"] == "30 s"
    assert m["first_auto_p90_s"]["now_text"] == "60 s"
    assert m["reply_rate"]["now_text"] == "50%" and m["handoff_rate"]["now_text"] == "33%"
    assert m["conversion"]["now_text"] == "33%" and m["conversion"]["note"] == "1 won, 0 lost"
    assert m["won_value"]["now_text"] == "$4,500" and m["won_value"]["before_text"] == "$0"
    assert m["first_human_p50_s"]["now_text"] == "—" and m["first_human_p50_s"]["change"] == ""
    contacted = week["conversion_by_stage"][0]
    assert (contacted["stage"], contacted["reached"]) == ("contacted", 2)
    assert contacted["rate_text"] == "50%"
    assert week["period"]["label"] == "2026-11-23 to 2026-11-29"
    assert week["period"]["start"] == "2026-11-23T06:00:00+00:00"  # midnight in Chicago
    assert week["before"]["label"] == "the 7 days before"
    assert week["period"]["shown"] == "Mon 23 Nov – Sun 29 Nov"  # whole days, the end included
    assert week["before"]["shown"] == "Mon 16 Nov – Sun 22 Nov"
    assert week["timezone"] == "America/Chicago"
    # One computation: the page's words are the chat command's, figure for figure.
    assert week["text"] == await asyncio.to_thread(commands.metrics, services, WEEK)
    picked = await (await client.get("/api/metrics?from=2026-11-23&to=2026-11-29")).json()
    assert picked["metrics"] == week["metrics"]

    last7 = await (await client.get("/api/metrics")).json()  # default: the last 7 days
    assert last7["period"]["label"] == "the last 7 days"
    assert last7["period"]["end"] == MONDAY_8.isoformat()
    assert last7["period"]["shown"] == "Mon 23 Nov 08:00 – now"
    assert last7["before"]["shown"] == "Mon 16 Nov 08:00 – Mon 23 Nov 08:00"
    assert _by_key(last7)["leads"]["now"] == 3
    month = await (await client.get("/api/metrics?period=30d")).json()
    assert month["period"]["label"] == "the last 30 days" and _by_key(month)["leads"]["now"] == 4

    for bad, words in (
        ("period=banana", "is not a period"),
        ("period=2026-11-30..2026-11-01", "the end comes before the start"),
        ("from=2026-02-30&to=2026-03-01", "day is out of range"),
        ("from=2026-11-01", "needs both from and to"),
        ("period=0d", "1 to 3660 days"),
    ):
        resp = await client.get(f"/api/metrics?{bad}")
        assert resp.status == 400, bad
        assert words in (await resp.json())["error"], bad

    # Before Monday's job ran: no report, and when the first one goes out (business time).
    before = await (await client.get("/api/reports")).json()
    assert before["reports"] == [] and before["next_when"] == "08:00"  # due today, Monday
    assert await asyncio.to_thread(run_job, services, "weekly_report") == "posted"
    data = await (await client.get("/api/reports")).json()
    (report,) = data["reports"]
    assert report["week"] == "2026-11-23" and report["when"] == "08:00"
    assert data["next"] == (MONDAY_8 + timedelta(days=7)).isoformat()
    assert data["next_when"] == "Mon 7 Dec 08:00"
    assert report["lines"][0] == "Weekly report"
    assert any(line.startswith("Metrics, week of 2026-11-23 — 3 leads (+200%)") for line in report["lines"])
    chart = await client.get(report["chart"])
    assert chart.status == 200 and chart.content_type == "image/png"
    body = await chart.read()
    with services.db.session() as s:
        stored = s.get(Event, report["id"])
        assert stored is not None and stored.data["to"] == "console"
        assert body == base64.b64decode(stored.data["png"]) and body.startswith(b"\x89PNG\r\n\x1a\n")
        other = s.query(Event).filter(Event.kind == "lead_created").first()
        assert other is not None
        other_id = other.id
    assert (await client.get("/api/reports/abc/chart.png")).status == 400
    assert (await client.get("/api/reports/0/chart.png")).status == 400
    assert (await client.get("/api/reports/99999999/chart.png")).status == 404
    assert (await client.get(f"/api/reports/{other_id}/chart.png")).status == 404  # not a report


async def _post(client: Any, name: str) -> None:
    resp = await client.post("/hooks/form", json=json.loads(fixture_bytes("loop", name)))
    assert resp.status == 200, await resp.text()


async def test_the_pipeline_by_stage_with_owners_value_and_stuck_leads(client: Any, runtime: Any) -> None:
    for name in ("webform__lead.json", "webform__pricing.json", "webform__complaint.json"):
        await _post(client, name)
    leads = {row["name"]: row["id"] for row in (await (await client.get("/api/leads")).json())["leads"]}
    claimed = await client.post(f"/api/leads/{leads['Jordan Ellis']}/claim", json={"actor": "Dana"})
    assert claimed.status == 200, await claimed.text()
    won = await client.post(f"/api/leads/{leads['Lee Park']}/won", json={"actor": "Dana", "amount": "4500"})
    assert won.status == 200, await won.text()

    p = await (await client.get("/api/pipeline")).json()
    assert p["average_win"] == "4500.00" and p["average_win_text"] == "$4,500" and p["currency"] == "USD"
    rows = {lead["title"]: lead for st in p["stages"] for lead in st["leads"]}
    assert set(rows) == {"Jordan Ellis", "Casey Morgan"}  # a won lead leaves the pipeline
    jordan, casey = rows["Jordan Ellis"], rows["Casey Morgan"]
    assert jordan["owner"] == "Dana" and jordan["id"] == leads["Jordan Ellis"]
    assert casey["stuck"] and casey["owner"] is None  # the complaint waits for a person: stuck now
    assert [s["id"] for s in p["stuck"]] == [leads["Casey Morgan"]]
    for st in p["stages"]:
        assert st["count"] == len(st["leads"])
        assert sum(st["owners"].values()) == st["count"]
        assert st["value"] == (f"{4500 * st['count']}.00" if st["count"] else None)
    owners = {st["stage"]: st["owners"] for st in p["stages"] if st["count"]}
    assert owners[jordan["stage"]].get("Dana") == 1
    assert owners[casey["stage"]].get("unclaimed") == 1

    # Four days on, the lead Dana claimed has seen nothing since: stuck too, by the one definition
    # the SLA job and the chat's pipeline share (the same words as `/sheepdog pipeline`).
    real = runtime.services.now()
    runtime.services.clock = lambda: real + timedelta(days=4)
    later = await (await client.get("/api/pipeline")).json()
    stuck = {s["title"]: s["stuck"] for s in later["stuck"]}
    assert stuck["Jordan Ellis"] == "no activity for 4 days"
    chat = await asyncio.to_thread(commands.pipeline, runtime.services)
    assert "no activity for 4 days" in chat and "Jordan Ellis" in chat


async def test_the_numbers_page_on_a_fresh_install_and_behind_the_login(
    client: Any, runtime: Any, aiohttp_client: Any
) -> None:
    page = await (await client.get("/")).text()
    assert 'id="tab-numbers"' in page and "/static/numbers.js" in page
    script = await client.get("/static/numbers.js")
    assert script.status == 200 and "/api/pipeline" in await script.text()
    # Nothing yet: empty figures, an empty pipeline, no report; never an error.
    m = _by_key(await (await client.get("/api/metrics")).json())
    assert m["leads"]["now"] == 0 and m["conversion"]["now_text"] == "—"
    p = await (await client.get("/api/pipeline")).json()
    assert p["stuck"] == [] and all(st["count"] == 0 for st in p["stages"]) and p["average_win"] is None
    assert (await (await client.get("/api/reports")).json())["reports"] == []
    anon = await aiohttp_client(runtime.app)
    for path in ("/api/metrics", "/api/pipeline", "/api/reports", "/api/reports/1/chart.png"):
        assert (await anon.get(path)).status == 401, path
