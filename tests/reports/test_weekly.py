"""The weekly report: a real chart (PNG, non-blank, the expected size), and the job that posts it
at Monday 08:00 in the business's zone to a local Slack (files upload v2) and Bot API (sendPhoto),
once, and to the console. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from matplotlib import image as mpimg

from sheepdog.app import build_services
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.jobs.tasks import run_job
from sheepdog.reports import weekly
from sheepdog.storage.tables import Event
from tests.bot.telegram_fake import FakeTelegram
from tests.reports.fakes import FilesSlack

# Monday 30 November 2026, 08:00 in Chicago (UTC-6) is 14:00 UTC.
MONDAY_8 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/r.db"
    return str(request.getfixturevalue("pg_url"))


def seed(services: Any) -> None:
    """Last week (23-29 Nov, Chicago): 3 leads, one won; the week before: 1 lead."""
    rows = [
        ("lead_created", 1, datetime(2026, 11, 17, 15, tzinfo=UTC), None, {"category": "sales_inquiry"}),
        ("lead_created", 2, datetime(2026, 11, 23, 15, tzinfo=UTC), None, {"category": "sales_inquiry"}),
        ("sent", 2, datetime(2026, 11, 23, 15, 1, tzinfo=UTC), None, {"automated": True}),
        ("message_received", 2, datetime(2026, 11, 23, 18, tzinfo=UTC), None, {"category": "lead_reply"}),
        ("lead_created", 3, datetime(2026, 11, 25, 15, tzinfo=UTC), None, {"category": "pricing_question"}),
        ("handoff", 3, datetime(2026, 11, 25, 15, tzinfo=UTC), None, {"urgent": False}),
        ("lead_created", 4, datetime(2026, 11, 27, 15, tzinfo=UTC), None, {"category": "routine_question"}),
        ("sent", 4, datetime(2026, 11, 27, 15, 0, 30, tzinfo=UTC), None, {"automated": True}),
        ("outcome", 2, datetime(2026, 11, 28, 15, tzinfo=UTC), "Dana", {"result": "won", "value": "4500"}),
    ]
    with services.db.session() as s:
        for kind, lead, at, actor, data in rows:
            s.add(Event(kind=kind, lead_id=lead, at=at, actor=actor, data=data))


@pytest.fixture
def services(db_url: str, make_settings: Any) -> Iterator[Any]:
    svc = build_services(make_settings(storage={"url": db_url}), queue=InProcessQueue(periodic=False))
    seed(svc)
    yield svc
    svc.db.dispose()


def test_the_chart_is_a_real_png_of_the_expected_size(services: Any) -> None:
    report = weekly.build(services.db, MONDAY_8, "America/Chicago", "USD")
    assert report.key == "2026-11-23"
    assert report.comparison.now.leads == 3 and report.comparison.before.leads == 1
    assert [(d, n, b) for d, n, b in report.daily if n or b] == [
        ("Mon", 1, 0),
        ("Tue", 0, 1),
        ("Wed", 1, 0),
        ("Fri", 1, 0),
    ]
    assert report.png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = mpimg.imread(io.BytesIO(report.png))
    assert pixels.shape[:2] == (675, 1200)
    rgb = pixels[..., :3]
    assert rgb.std() > 0.05  # not one flat colour
    blue = (np.abs(rgb - np.array([0x2F, 0x6F, 0xDE]) / 255).sum(axis=-1) < 0.05).sum()
    assert blue > 2000  # this week's bars are drawn
    assert "3 leads (+200%)" in report.text and "1 won ($4,500)" in report.text
    page = weekly.to_html(report)
    assert page.startswith("<!doctype html>") and "data:image/png;base64," in page


async def test_the_job_posts_at_monday_8_local_once(services: Any, make_settings: Any, db_url: str) -> None:
    slack, bot = FilesSlack(), FakeTelegram()
    await slack.start()
    await bot.start()
    try:
        services.settings = make_settings(
            storage={"url": db_url},
            slack={
                "enabled": True,
                "bot_token": "xoxb-test",
                "channel": "CTEAM",
                "api_base_url": slack.base_url,
            },
            reports={
                "telegram_bot_token": "123:ABC",
                "telegram_chat_id": "-100200300",
                "telegram_api_base_url": bot.base_url,
            },
        )

        async def job_at(when: datetime) -> str:
            services.clock = lambda: when
            return str(await asyncio.to_thread(run_job, services, "weekly_report"))

        assert await job_at(MONDAY_8 - timedelta(minutes=1)) == "not due"  # 07:59 in Chicago
        assert slack.calls == [] and bot.calls == []
        assert await job_at(MONDAY_8) == "posted"
        methods = [c.method for c in slack.calls]
        assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal"]
        (png,) = slack.uploads.values()
        assert png.startswith(b"\x89PNG")
        done = slack.calls[-1].params
        assert done["channel_id"] == "CTEAM" and "Weekly report" in done["initial_comment"]
        sends = bot.made("sendPhoto")
        assert len(sends) == 1 and sends[0].params["chat_id"] == "-100200300"
        assert bot.photos == [png] and sends[0].params["caption"].startswith("Weekly report")
        # the console holds it too, and nothing goes twice
        assert await job_at(MONDAY_8 + timedelta(hours=2)) == "posted already"
        with services.db.session() as s:
            posted = {e.data["to"] for e in s.query(Event).filter(Event.kind == "weekly_report_posted")}
        assert posted == {"slack", "telegram", "console"}
        assert len(slack.uploads) == 1 and len(bot.photos) == 1
        # Tuesday is still Monday's report, a week later the next one is due
        assert await job_at(MONDAY_8 + timedelta(days=2)) == "not due"
    finally:
        await slack.stop()
        await bot.stop()


def test_due_follows_the_business_zone() -> None:
    run_at, week = weekly.due(MONDAY_8, "America/Chicago")
    assert run_at == MONDAY_8 and week.label == "week of 2026-11-23"
    run_at, week = weekly.due(MONDAY_8, "Europe/Berlin")  # 15:00 Monday in Berlin: due since 07:00 UTC
    assert run_at == datetime(2026, 11, 30, 7, tzinfo=UTC)
    run_at, _ = weekly.due(MONDAY_8 - timedelta(minutes=1), "America/Chicago")
    assert run_at == MONDAY_8 - timedelta(days=7)
