"""`sheepdog worker`: a long-lived RQ worker that builds its services once and keeps them.

RQ's default worker forks a work horse per job, so whatever the parent had not built was built
again in every horse (the brain's model alone took seconds). This worker runs every job in the
worker process itself (RQ's SimpleWorker), with services built before the first job, so a job
costs its work plus a few Redis round trips. A job that crashes the process is retried by RQ (and its work is
picked up sooner by the sweeps, which see that the process holding it is gone).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from sheepdog.jobs import tasks

log = logging.getLogger(__name__)

_services: Any = None
_STOP = threading.Event()  # SIGTERM / SIGINT seen: leave, do not start the work loop again


def services() -> Any:
    """The worker's services; built on first use when a job runs outside `serve` (tests, rq CLI)."""
    global _services
    if _services is None:
        from sheepdog.app import build_services
        from sheepdog.config import load_settings

        settings = load_settings(os.environ.get("SHEEPDOG_CONFIG") or None)
        _services = build_services(settings)
    return _services


def run(job: str, *args: Any) -> Any:
    """What RQ calls: one job by name, with the worker's services."""
    svc = services()
    current = get_current_job()
    record = getattr(svc.queue, "record_run", None)
    if record is not None and current is not None:
        enqueued = current.enqueued_at
        waited = 0.0
        if enqueued is not None:  # RQ keeps naive UTC
            waited = (datetime.now(UTC) - enqueued.replace(tzinfo=enqueued.tzinfo or UTC)).total_seconds()
        record(job, waited)
    return tasks.run_job(svc, job, *args)


def _worker_class() -> Any:
    from rq.worker import SimpleWorker

    class SheepdogWorker(SimpleWorker):
        """SimpleWorker (no fork per job) that frees a coalescing job's key once RQ is done with it,
        and remembers a stop request (RQ stops an idle worker without saying so afterwards)."""

        def request_stop(self, signum: Any, frame: Any) -> None:
            _STOP.set()
            super().request_stop(signum, frame)

        def execute_job(self, job: Any, queue: Any) -> None:
            super().execute_job(job, queue)
            name, *args = job.args or ("",)
            svc = _services
            if svc is not None and hasattr(svc.queue, "after_job"):
                try:
                    svc.queue.after_job(job.id, name, tuple(args))
                except Exception:
                    log.exception("after job %s", job.id)

    return SheepdogWorker


def _warm_up(services: Any, started: float) -> None:
    try:
        services.warm_up()
    except Exception:  # the first read builds it again and says why
        log.exception("loading the brain failed")
        return
    log.info("worker: brain loaded %.1f s after start", time.monotonic() - started)


def _one_blas_thread() -> None:
    """A worker is one of several processes on the machine: the sentence encoder's matrix products
    run on one BLAS thread, not one per core each (a message took 28 ms of CPU on two threads for
    16 on one, and two workers on two cores would start four)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def serve(settings: Any, *, burst: bool = False) -> int:
    """Build the services, start the ticker, then work until asked to stop; a Redis outage ends
    RQ's work loop, so it is started again (same process, same services) until Redis is back."""
    global _services
    from redis import Redis
    from redis.exceptions import RedisError

    from sheepdog.app import build_services
    from sheepdog.jobs.queue import PROCESS_ID, RqQueue
    from sheepdog.jobs.schedule import Ticker, move_due
    from sheepdog.storage.db import open_database

    started = time.monotonic()
    _one_blas_thread()
    _services = build_services(settings, db=open_database(settings.storage.url, role="worker"))
    queue = _services.queue
    assert isinstance(queue, RqQueue), "sheepdog worker needs queue.backend = 'rq'"
    # The model loads beside the work loop: sends need no brain, and a read that comes first
    # waits for the load (LazyBrain's lock) instead of the worker waiting to take jobs at all.
    threading.Thread(target=_warm_up, args=(_services, started), name="sheepdog-warm-up", daemon=True).start()
    ticker = None if burst else Ticker(queue, "worker", periodic=tasks.periodic(settings)).start()
    worker_class = _worker_class()
    # RQ waits for jobs in a BLPOP of several minutes: its connection has no read timeout (the
    # queue's own connection has a short one, so an enqueue never hangs on a Redis that is gone).
    connection = Redis.from_url(
        settings.queue.redis_url, socket_connect_timeout=2.0, health_check_interval=30
    )
    generation = 0
    try:
        while True:
            generation += 1
            worker = None
            try:
                worker = worker_class(
                    [queue.queue],
                    connection=connection,
                    name=f"{PROCESS_ID}-{generation}",
                    maintenance_interval=30,
                )
                worker.max_connection_wait_time = 2  # back within 2 s of Redis returning
                if burst:
                    move_due(queue)
                worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
            except RedisError as exc:
                log.error("worker cannot reach Redis (%s); trying again in 1 s", exc)
            if burst or _STOP.is_set():
                return 0
            if worker is not None:
                log.warning("RQ's work loop ended (Redis unreachable?); starting it again in 1 s")
            time.sleep(1.0)
    finally:
        if ticker is not None:
            ticker.stop()
        _services.db.dispose()
