"""One queue interface, two implementations: a thread in-process (embedded) or RQ on Redis.

Both run the same jobs from sheepdog.jobs.tasks; both run the periodic ticks (cadence, SLA).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sheepdog.jobs import tasks

log = logging.getLogger(__name__)


class InProcessQueue:
    """A scheduler thread for the embedded mode: delayed jobs, periodic ticks, retried failures."""

    def __init__(self, services_ref: Callable[[], Any] | None = None, *, periodic: bool = True) -> None:
        self._services_ref = services_ref
        self._heap: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._running = 0
        self._stop = False
        self._thread: threading.Thread | None = None
        self._periodic = periodic

    def bind(self, services_ref: Callable[[], Any]) -> None:
        self._services_ref = services_ref

    def enqueue(self, job: str, *args: Any, delay_s: float = 0.0) -> None:
        if job not in tasks.JOBS:
            raise ValueError(f"unknown job {job!r}")
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + max(delay_s, 0.0), next(self._seq), job, args))
            self._cv.notify_all()

    def start(self) -> None:
        if self._thread is not None:
            return
        if self._periodic:
            for job, every in tasks.PERIODIC.items():
                # What a restart left in the outbox goes out at once; each tick re-arms itself.
                self.enqueue(job, delay_s=0.0 if job == "requeue_outbox" else every)
            self.enqueue("resync_surfaces")  # once: cards whose sync a restart lost
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="sheepdog-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(timeout=wait)
                if self._stop:
                    return
                _, _, job, args = heapq.heappop(self._heap)
                self._running += 1
            try:
                self._run(job, args)
            finally:
                with self._cv:
                    self._running -= 1
                    self._cv.notify_all()

    def _run(self, job: str, args: tuple[Any, ...]) -> None:
        assert self._services_ref is not None, "queue not bound to services"
        try:
            tasks.run_job(self._services_ref(), job, *args)
        except Exception:
            log.exception("job %s%s failed; retrying in 30 s", job, args)
            if job not in tasks.PERIODIC:
                self.enqueue(job, *args, delay_s=30.0)
        if job in tasks.PERIODIC:
            self.enqueue(job, delay_s=tasks.PERIODIC[job])

    def pending(self, *, due_only: bool = True) -> int:
        now = time.monotonic()
        with self._cv:
            return sum(1 for due, *_ in self._heap if not due_only or due <= now) + self._running

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no due job is queued or running (tests use it instead of sleeping)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cv:
                now = time.monotonic()
                busy = self._running or any(
                    due <= now and job not in tasks.PERIODIC for due, _, job, _ in self._heap
                )
                if not busy:
                    return True
                self._cv.wait(timeout=0.05)
        return False


class RqQueue:
    """Jobs on Redis for `sheepdog worker` processes; delays use RQ's scheduler."""

    def __init__(self, redis_url: str, queue_name: str) -> None:
        from redis import Redis
        from rq import Queue

        self.redis = Redis.from_url(redis_url)
        self.queue = Queue(queue_name, connection=self.redis)

    def enqueue(self, job: str, *args: Any, delay_s: float = 0.0) -> None:
        if job not in tasks.JOBS:
            raise ValueError(f"unknown job {job!r}")
        if delay_s > 0:
            self.queue.enqueue_in(timedelta(seconds=delay_s), "sheepdog.jobs.worker.run", job, *args)
        else:
            self.queue.enqueue("sheepdog.jobs.worker.run", job, *args)

    def start(self) -> None:
        """Nothing to start here: `sheepdog worker` processes run the jobs."""

    def stop(self, timeout: float = 10.0) -> None:
        self.redis.close()
