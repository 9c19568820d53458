"""The console's Jobs tab and `sheepdog doctor` say when nothing can send, list failed jobs with
their error, and retry or drop them; a card says "queued" while its reply waits for a worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sheepdog.app import build_runtime, build_services
from sheepdog.cli import main
from sheepdog.config import Settings
from sheepdog.jobs import tasks
from sheepdog.jobs.queue import InProcessQueue
from tests.conftest import TOKEN, fixture_bytes


async def test_the_jobs_tab_lists_a_failed_job_and_retries_it(
    make_settings: Callable[..., Settings], aiohttp_client: Any, monkeypatch: Any
) -> None:
    from sheepdog import defaults

    monkeypatch.setattr(defaults, "JOB_MAX_RETRIES", 0)  # fail at once: the list is what is tested
    calls: list[int] = []

    def broken(services: Any, lead_id: int) -> None:
        calls.append(lead_id)
        raise RuntimeError("Slack said 500 (upstream_failure)")

    monkeypatch.setitem(tasks.JOBS, "sync_surfaces", broken)
    settings = make_settings()
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers={"Authorization": f"Bearer {TOKEN}"})
    runtime.services.queue.enqueue("sync_surfaces", 7)
    assert runtime.services.queue.wait_idle(10)
    data = await (await client.get("/api/jobs")).json()
    assert data["health"]["problem"] is None and data["health"]["failed"] == 1
    (failed,) = data["failed"]
    assert failed["job"] == "sync_surfaces" and failed["args"] == ["7"]
    assert failed["error"] == "RuntimeError: Slack said 500 (upstream_failure)"
    retried = await client.post(f"/api/jobs/{failed['id']}/retry", json={})
    assert retried.status == 200 and (await retried.json())["message"] == f"job {failed['id']} queued again"
    assert runtime.services.queue.wait_idle(10) and calls == [7, 7]
    again = (await (await client.get("/api/jobs")).json())["failed"]
    assert len(again) == 1
    dropped = await client.post(f"/api/jobs/{again[0]['id']}/drop", json={})
    assert dropped.status == 200
    assert (await (await client.get("/api/jobs")).json())["failed"] == []
    assert (await client.post("/api/jobs/999/retry", json={})).status == 404
    assert (await client.post("/api/jobs/1/explode", json={})).status == 404
    runtime.services.db.dispose()


@pytest.fixture
def rq_settings(make_settings: Callable[..., Settings], redis_url: str) -> Settings:
    return make_settings(queue={"backend": "rq", "redis_url": redis_url, "queue_name": "sheepdog-console"})


async def test_with_no_worker_the_console_says_so_and_the_card_says_queued(
    rq_settings: Settings, aiohttp_client: Any
) -> None:
    """Production with every worker down: the message is stored, its read waits in Redis, the
    console shows why nothing moves."""
    runtime = build_runtime(rq_settings)
    client = await aiohttp_client(runtime.app, headers={"Authorization": f"Bearer {TOKEN}"})
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    health = (await (await client.get("/api/jobs")).json())["health"]
    assert health["workers"] == 0 and health["queued"] >= 1
    assert (
        health["problem"] == "no worker is running: replies are stored and wait. Start one: sheepdog worker"
    )
    runtime.services.db.dispose()


def test_a_card_says_queued_while_its_reply_waits(settings: Settings) -> None:
    from sqlalchemy import select

    from sheepdog.bot.cards import lead_cards
    from sheepdog.handlers.inbound import receive
    from sheepdog.storage.tables import Lead
    from tests.jobs.test_outbox_and_cadence import lead_message

    svc = build_services(settings, queue=InProcessQueue(periodic=False))  # nobody sends
    receive(svc, lead_message())
    with svc.db.session() as s:
        lead = s.scalars(select(Lead)).one()
        statuses = [c.status for c in lead_cards(s, lead.id, svc.business.timezone) if c.kind == "draft"]
    assert statuses and statuses[0].endswith("· queued to send by email"), statuses
    svc.db.dispose()


def test_doctor_says_no_worker_is_alive(rq_settings: Settings, tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "sheepdog.toml"
    config.write_text(
        f"""
[storage]
url = "{rq_settings.storage.url}"
[queue]
backend = "rq"
redis_url = "{rq_settings.queue.redis_url}"
queue_name = "sheepdog-doctor"
[demo]
smtp_sink = false
[channels.email]
enabled = false
""",
        encoding="utf-8",
    )
    assert main(["doctor", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "0 worker(s) alive" in out and "no worker is alive: start one with `sheepdog worker`" in out
