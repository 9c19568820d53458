"""Keyed jobs run once however often they are enqueued; periodic jobs are scheduled once per
deployment however many processes run; failed jobs are kept, listed, retried and dropped.
In-process and on a real Redis with real `sheepdog worker` / `sheepdog run` processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from sheepdog.app import build_services
from sheepdog.config import Settings, load_settings
from sheepdog.jobs import tasks
from sheepdog.jobs.queue import InProcessQueue, RqQueue, backoff_intervals, backoff_s
from sheepdog.jobs.schedule import Ticker
from tests.conftest import free_port
from tests.jobs.deployment import wait_for


def rq_config(tmp_path: Path, redis_url: str, queue_name: str = "sheepdog-keys") -> Path:
    config = tmp_path / "sheepdog.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path}/keys.db"
[queue]
backend = "rq"
redis_url = "{redis_url}"
queue_name = "{queue_name}"
[demo]
smtp_sink = false
""",
        encoding="utf-8",
    )
    return config


def burst_worker(config: Path) -> None:
    """A real `sheepdog worker --burst`: runs what is queued, then exits."""
    done = subprocess.run(
        [sys.executable, "-m", "sheepdog.cli", "worker", "--burst", "--config", str(config)],
        env={**os.environ, "SHEEPDOG_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_full_jitter_backoff_stays_within_its_ceiling() -> None:
    import random

    rng = random.Random(7)
    for retry in range(12):
        waits = [backoff_s(retry, rng) for _ in range(200)]
        assert all(0 <= w <= min(300.0, 2.0**retry) for w in waits)
        assert len({round(w, 6) for w in waits}) > 150  # jittered, not a fixed schedule
    assert len(backoff_intervals()) == 5 and all(i >= 1 for i in backoff_intervals())


def test_in_process_a_keyed_job_enqueued_twice_runs_once(settings: Settings) -> None:
    queue = InProcessQueue(periodic=False)
    svc = build_services(settings, queue=queue)
    assert queue.enqueue("ping") is True
    assert queue.enqueue("ping") is False  # same key, still queued
    assert queue.enqueue("sync_surfaces", 7) is True and queue.enqueue("sync_surfaces", 7) is False
    assert queue.enqueue("sync_surfaces", 8) is True  # another key
    queue.start()
    assert queue.wait_idle(10)
    assert queue.runs() == {"ping": 1, "sync_surfaces": 2}
    assert queue.enqueue("ping") is True  # done: the key is free again
    assert queue.wait_idle(10) and queue.runs()["ping"] == 2
    queue.stop()
    svc.db.dispose()


def test_in_process_a_failing_job_is_retried_with_backoff_then_kept(
    make_settings: Callable[..., Settings], monkeypatch: Any
) -> None:
    """Jobs that raise are retried (full jitter), then kept in failed_jobs, listed, retried, dropped."""
    from sheepdog import defaults

    monkeypatch.setattr(defaults, "JOB_BACKOFF_BASE_S", 0.01)
    calls: list[int] = []

    def broken(services: Any, n: int) -> None:
        calls.append(n)
        raise RuntimeError(f"broken {n}")

    monkeypatch.setitem(tasks.JOBS, "sync_surfaces", broken)
    queue = InProcessQueue(periodic=False)
    svc = build_services(make_settings(), queue=queue)
    queue.start()
    queue.enqueue("sync_surfaces", 3)
    wait_for(lambda: queue.failed(), 10, "the job to be kept as failed")
    assert len(calls) == 1 + defaults.JOB_MAX_RETRIES
    (failed,) = queue.failed()
    assert (
        failed.job == "sync_surfaces" and failed.args == (3,) and failed.last_line == "RuntimeError: broken 3"
    )
    assert queue.health().failed == 1
    assert queue.retry_failed(failed.id)  # taken off the list and run again (and failing again)
    wait_for(lambda: len(calls) == 2 * (1 + defaults.JOB_MAX_RETRIES), 10, "the retried job's attempts")
    wait_for(lambda: queue.failed(), 10, "the retried job to be kept again")
    assert queue.drop_failed(queue.failed()[0].id) and queue.failed() == []
    assert not queue.drop_failed("12345")
    queue.stop()
    svc.db.dispose()


def test_on_redis_a_keyed_job_enqueued_twice_runs_once(tmp_path: Path, redis_url: str) -> None:
    config = rq_config(tmp_path, redis_url)
    svc = build_services(load_settings(config, environ={}))
    queue = svc.queue
    assert isinstance(queue, RqQueue)
    assert queue.enqueue("ping") is True
    assert queue.enqueue("ping") is False  # RQ refuses the same job id while it waits
    assert queue.enqueue("send_outbox", 41) is True and queue.enqueue("send_outbox", 41) is False
    assert queue.enqueue("send_outbox", 41, delay_s=60) is False  # scheduled or not: one job
    assert queue.queue.count == 2
    burst_worker(config)
    assert queue.runs() == {"ping": 1, "send_outbox": 1}
    assert queue.enqueue("ping") is True  # finished jobs are deleted: the key runs again
    burst_worker(config)
    assert queue.runs()["ping"] == 2
    svc.db.dispose()


def test_on_redis_failed_jobs_are_kept_listed_retried_and_dropped(tmp_path: Path, redis_url: str) -> None:
    """A job that keeps failing lands in RQ's failed registry after its retries; `sheepdog jobs`
    lists it with its error, retries it and drops it."""
    from rq.job import Job

    from sheepdog.jobs.queue import RUN

    config = rq_config(tmp_path, redis_url)
    svc = build_services(load_settings(config, environ={}))
    queue = svc.queue
    assert isinstance(queue, RqQueue)
    queue.enqueue("ping")
    job = Job.fetch("ping", connection=queue.redis)
    assert job.retries_left == 5 and len(job.retry_intervals) == 5  # retried, with jittered waits
    # A job the worker cannot run (what an old version queued before an upgrade): a real failure.
    queue.queue.enqueue(RUN, "retired_job", 1, job_id="retired_job-1")
    burst_worker(config)
    (failed,) = queue.failed()
    assert failed.job == "retired_job" and failed.args == (1,)
    assert "unknown job 'retired_job'" in failed.error

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "sheepdog.cli", "jobs", *args, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout

    listed = cli("list")
    assert "retired_job-1" in listed and "1 failed" in listed
    assert "queued again" in cli("retry", failed.id)
    assert queue.queue.count == 1 and queue.failed() == []
    burst_worker(config)
    assert [f.id for f in queue.failed()] == [failed.id]
    assert "dropped" in cli("drop", failed.id)
    assert queue.failed() == [] and "no failed jobs" in cli("list")
    svc.db.dispose()


def test_three_tickers_schedule_a_periodic_job_once_per_period(tmp_path: Path, redis_url: str) -> None:
    """Three processes' schedulers racing over one 1-second period: about one job a second in
    all, not three (each enqueue is counted in Redis)."""
    import threading

    svc = build_services(load_settings(rq_config(tmp_path, redis_url), environ={}))
    queues = [RqQueue(redis_url, "sheepdog-keys") for _ in range(3)]
    tickers = [Ticker(q, "bot", periodic={"ping": 1.0}) for q in queues]
    done = threading.Event()

    def drain() -> None:  # a tick still queued refuses the next one: take them as a worker would
        while not done.wait(0.05):
            queues[0].queue.empty()

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    started = time.monotonic()
    for t in tickers:
        t.start()
    wait_for(lambda: min(t.looks for t in tickers) >= 12, 20, "twelve looks by every ticker")
    for t in tickers:
        t.stop()
    elapsed = time.monotonic() - started
    done.set()
    drainer.join()
    scheduled = sum(t.scheduled for t in tickers)
    assert elapsed - 2 <= scheduled <= elapsed + 1, (scheduled, elapsed)  # three tickers: ~3x if broken
    counted = int(Redis.from_url(redis_url).hget("sheepdog:sheepdog-keys:scheduled", "ping") or 0)
    assert counted == scheduled
    svc.db.dispose()


def test_n_bot_processes_schedule_each_periodic_job_once(tmp_path: Path, redis_url: str) -> None:
    """Three `sheepdog run` processes: each periodic job is enqueued once (the periods are 15 s
    and more; every bot has looked several times when we count)."""
    config = rq_config(tmp_path, redis_url, "sheepdog-bots")
    build_services(load_settings(config, environ={})).db.dispose()  # the schema, before three bots start
    redis = Redis.from_url(redis_url)
    bots = []
    try:
        for i in range(3):
            env = {**os.environ, "SHEEPDOG_CONFIG": str(config), "SHEEPDOG_CONSOLE__PORT": str(free_port())}
            log = (tmp_path / f"bot{i}.log").open("wb")
            bots.append(
                subprocess.Popen(
                    [sys.executable, "-m", "sheepdog.cli", "run", "--config", str(config)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

        def looks() -> list[int]:
            keys = list(redis.scan_iter(match="sheepdog:sheepdog-bots:alive:bot:*"))
            return [int(v or 0) for v in redis.mget(keys)] if keys else []

        wait_for(lambda: len(looks()) == 3 and min(looks()) >= 6, 60, "three bots looking six times each")
        scheduled = {k.decode(): int(v) for k, v in redis.hgetall("sheepdog:sheepdog-bots:scheduled").items()}
        assert scheduled == dict.fromkeys(tasks.PERIODIC, 1)
        ids = RqQueue(redis_url, "sheepdog-bots").queue.get_job_ids()
        ticks = sorted(i.rsplit("-", 1)[0] for i in ids if i.startswith("tick-"))
        assert ticks == sorted(f"tick-{job}" for job in tasks.PERIODIC)  # one each, one period's id
    finally:
        for bot in bots:
            bot.terminate()
        for bot in bots:
            bot.wait(timeout=20)
        redis.close()


@pytest.mark.parametrize("backend", ["inprocess", "rq"])
def test_queue_health_says_when_nobody_can_send(tmp_path: Path, redis_url: str, backend: str) -> None:
    config = rq_config(tmp_path, redis_url, "sheepdog-health")
    overrides = {"queue": {"backend": backend}}
    svc = build_services(load_settings(config, environ={}, overrides=overrides))
    health = svc.queue.health()
    assert health.reachable
    if backend == "rq":
        assert health.workers == 0 and health.stalled  # no `sheepdog worker` alive
    else:
        assert health.workers is None and not health.stalled  # this process works
    svc.db.dispose()


def test_a_failed_periodic_run_does_not_hold_up_the_next_period(tmp_path: Path, redis_url: str) -> None:
    """Each period's run has its own id: one that failed stays listed as failed while the next
    period runs; one still waiting holds the next one back (never two at once)."""
    from rq.job import JobStatus

    svc = build_services(load_settings(rq_config(tmp_path, redis_url, "sheepdog-ticks"), environ={}))
    queue = RqQueue(redis_url, "sheepdog-ticks")
    ticker = Ticker(queue, "bot", periodic={"ping": 0.3})
    ticker.step()
    assert ticker.scheduled == 1
    first = queue.queue.jobs[0]
    time.sleep(0.35)  # the next period: its lease is free, but the first run still waits
    ticker.step()
    assert ticker.scheduled == 1  # so the second is not started
    queue.queue.remove(first)
    first.set_status(JobStatus.FAILED)
    queue.queue.failed_job_registry.add(first, ttl=3600)
    time.sleep(0.35)  # the next period
    ticker.step()
    assert ticker.scheduled == 2 and len(queue.queue.jobs) == 1
    assert [f.id for f in queue.failed()] == [first.id]
    svc.db.dispose()
