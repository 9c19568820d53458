"""One scheduler per deployment, however many bot and worker processes run (RQ mode).

Every process runs a Ticker thread; what they do is arbitrated in Redis, so it happens once:
- each periodic job is enqueued once per period: the first process to SET the job's lease key
  (NX, expiring after one period) enqueues it, under one job id per period, unless the previous
  run is still queued or running (in a live process);
- one process at a time (a short lease) moves delayed jobs and retries whose time has come from
  RQ's scheduled registry to the queue;
- every process renews its liveness key, so a claim held by a dead process is seen as free.

A Redis outage is logged once, waited out and recovered from; the thread never dies of it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from sheepdog import defaults
from sheepdog.errors import QueueUnavailableError
from sheepdog.jobs import tasks
from sheepdog.jobs.queue import PROCESS_ID, RqQueue, rq_job_id

log = logging.getLogger(__name__)

STEP_S = 0.5
"""How often a Ticker looks: the latency of a delayed job or retry is at most this much more."""

MOVER_LEASE_MS = 3000

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""


class Ticker:
    """The periodic work of one process in RQ mode (see the module docstring)."""

    def __init__(self, queue: RqQueue, role: str, *, periodic: dict[str, float] | None = None) -> None:
        self.queue = queue
        self.role = role
        self.periodic = dict(tasks.PERIODIC if periodic is None else periodic)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._down = False
        self._renew: Any = None
        self.scheduled = 0  # periodic jobs this process enqueued
        self.looks = 0

    def start(self) -> Ticker:
        self._thread = threading.Thread(target=self._loop, name=f"sheepdog-ticker-{self.role}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with contextlib.suppress(Exception):
            self.queue.redis.delete(self.queue.alive_key(self.role))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
                if self._down:
                    log.warning("Redis is back: scheduling again")
                self._down = False
            except Exception as exc:  # Redis down (or anything else): say so once, keep going
                if not self._down:
                    log.error("scheduler cannot reach Redis (%s); retrying every %.1f s", exc, STEP_S)
                self._down = True
            self._stop.wait(STEP_S)

    def step(self) -> None:
        """One look: say we are alive, enqueue the periodic jobs due, move due delayed jobs."""
        redis, prefix = self.queue.redis, self.queue.prefix
        self.looks += 1  # the liveness key holds how often this process looked (doctor, tests)
        redis.set(self.queue.alive_key(self.role), self.looks, ex=defaults.ALIVE_TTL_S)
        for job, every in self.periodic.items():
            if not redis.set(f"{prefix}:tick:{job}", PROCESS_ID, nx=True, px=max(1, int(every * 1000))):
                continue  # another process (or this one) scheduled this period's run
            last = redis.get(f"{prefix}:last:{job}")
            if last is not None and self.queue.busy(last.decode()):
                continue  # the previous run is still queued or running: not started again
            # One job id per period: a run that failed stays in the failed registry (to be seen)
            # without holding up the next period's.
            key = f"tick-{job}-{int(time.time() // every)}"
            try:
                if self.queue.enqueue(job, key=key):
                    redis.set(f"{prefix}:last:{job}", rq_job_id(key))
                    self.scheduled += 1
                    redis.hincrby(f"{prefix}:scheduled", job, 1)
            except QueueUnavailableError:
                redis.delete(f"{prefix}:tick:{job}")  # let the next look (any process) try again
                raise
        if self._renew is None:
            self._renew = redis.register_script(_RENEW)
        if self._renew(keys=[f"{prefix}:mover"], args=[PROCESS_ID, MOVER_LEASE_MS]):
            move_due(self.queue)


def move_due(queue: RqQueue) -> int:
    """Move delayed jobs and retries whose time has come to the queue (RQ's scheduler does the same
    from a forked process per worker; here one thread of one process does it under a lease)."""
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry
    from rq.utils import current_timestamp

    registry = ScheduledJobRegistry(queue=queue.queue)
    ids = registry.get_jobs_to_schedule(current_timestamp())
    if not ids:
        return 0
    jobs = Job.fetch_many(ids, connection=queue.redis)
    with queue.redis.pipeline() as pipe:
        for job_id, job in zip(ids, jobs, strict=True):
            if job is not None:
                queue.queue._enqueue_job(job, pipeline=pipe, at_front=job.should_enqueue_at_front())
            registry.remove(job_id, pipeline=pipe)
        pipe.execute()
    return len(ids)
