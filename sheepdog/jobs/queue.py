"""One queue interface, two implementations: threads in-process (embedded) or RQ on Redis.

Both run the same jobs from sheepdog.jobs.tasks and give them the same guarantees:
- **keyed**: a job's key is its name and arguments ("send_outbox:42"); while a job with that key
  is queued or running, enqueuing it again does nothing (sync_surfaces, whose input may change
  while it runs, runs once more afterwards instead);
- **retried**: a job that raises is retried with exponential backoff and full jitter, then kept as
  a failed job that `sheepdog jobs`, `doctor` and the console list with a Retry button;
- **periodic** ticks run once per period per deployment and never twice at once.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sheepdog import defaults
from sheepdog.errors import QueueUnavailableError
from sheepdog.handlers.context import PROCESS_ID
from sheepdog.jobs import tasks

log = logging.getLogger(__name__)

RUN = "sheepdog.jobs.worker.run"
"""What RQ calls for every job: the worker's long-lived services run it."""

LATENCY_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Buckets of the time a job waited between being due and starting (/metrics)."""

COALESCE = frozenset({"sync_surfaces"})
"""Jobs whose input may change while they run: an enqueue meanwhile runs them once more after."""


def job_key(job: str, *args: Any) -> str:
    """The deterministic key (and RQ job id) of a job: its name and arguments."""
    return "-".join([job, *(str(a) for a in args)])[:200]


def rq_job_id(key: str) -> str:
    """RQ accepts [A-Za-z0-9_-] in job ids."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in key)


def backoff_s(retry: int, rng: random.Random | None = None) -> float:
    """Full jitter: a random wait in [0, base * 2**retry], capped (retry counts from 0)."""
    ceiling = min(defaults.JOB_BACKOFF_MAX_S, defaults.JOB_BACKOFF_BASE_S * 2**retry)
    return (rng or random).uniform(0, ceiling)


def backoff_intervals(retries: int = defaults.JOB_MAX_RETRIES) -> list[int]:
    """The jittered waits for RQ's Retry, drawn per job (RQ takes whole seconds; at least 1)."""
    return [max(1, round(backoff_s(i))) for i in range(retries)]


@dataclass(frozen=True)
class FailedJobInfo:
    """A job that failed all its retries, as `sheepdog jobs`, doctor and the console show it."""

    id: str
    job: str
    args: tuple[Any, ...]
    error: str
    failed_at: datetime | None
    attempts: int | None = None

    @property
    def last_line(self) -> str:
        lines = [ln for ln in (self.error or "").strip().splitlines() if ln.strip()]
        return lines[-1].strip() if lines else "(no error text)"


@dataclass(frozen=True)
class QueueHealth:
    """What the queue holds and who works on it; workers is None in-process (this process works)."""

    backend: str
    reachable: bool
    queued: int = 0
    scheduled: int = 0
    running: int = 0
    failed: int = 0
    workers: int | None = None
    error: str | None = None

    @property
    def stalled(self) -> bool:
        """Work waits and nobody can do it: the card must not sit on 'sending…' silently."""
        return self.workers == 0 or not self.reachable


@dataclass
class Latency:
    """A histogram of how long jobs waited to start: counts per bucket (not cumulative), sum."""

    counts: list[int]
    total_s: float

    @property
    def count(self) -> int:
        return sum(self.counts)

    @staticmethod
    def bucket(seconds: float) -> int:
        return next((i for i, le in enumerate(LATENCY_BUCKETS_S) if seconds <= le), len(LATENCY_BUCKETS_S))


@dataclass(order=True)
class _Item:
    due: float
    seq: int
    key: str = ""
    job: str = ""
    args: tuple[Any, ...] = ()
    retry: int = 0
    periodic: bool = False


class InProcessQueue:
    """Threads of the embedded mode: delayed jobs, periodic ticks, retries, failed jobs kept in the
    database (failed_jobs) so `sheepdog jobs` and the console see them like RQ's registry."""

    backend = "inprocess"

    def __init__(
        self,
        services_ref: Callable[[], Any] | None = None,
        *,
        periodic: bool = True,
        workers: int = defaults.INPROCESS_WORKERS,
        rng: random.Random | None = None,
    ) -> None:
        self._services_ref = services_ref
        self._heap: list[_Item] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._queued: set[str] = set()  # keys waiting in the heap
        self._active: set[str] = set()  # keys running now
        self._again: set[str] = set()  # coalescing keys asked for while running
        self._running = 0
        self._runs: Counter[str] = Counter()
        self._latency = Latency([0] * (len(LATENCY_BUCKETS_S) + 1), 0.0)
        self._stop = False
        self._threads: list[threading.Thread] = []
        self._periodic = periodic
        self._workers = max(1, workers)
        self._rng = rng or random.Random()
        self.periods: dict[str, float] = dict(tasks.PERIODIC)  # app.build_services sets the configured ones

    def bind(self, services_ref: Callable[[], Any]) -> None:
        self._services_ref = services_ref

    def enqueue(self, job: str, *args: Any, delay_s: float = 0.0, key: str | None = None) -> bool:
        """Queue a job; False when the same key is already queued (or running: it runs once)."""
        if job not in tasks.JOBS:
            raise ValueError(f"unknown job {job!r}")
        key = key or job_key(job, *args)
        with self._cv:
            if key in self._queued:
                return False
            if key in self._active:
                if job in COALESCE:
                    self._again.add(key)
                return False
            self._push(_Item(time.monotonic() + max(delay_s, 0.0), next(self._seq), key, job, args))
        return True

    def ensure(self, job: str, *args: Any) -> bool:
        """In one process nothing can hold a job and be dead: the same as enqueue."""
        return self.enqueue(job, *args)

    def _push(self, item: _Item) -> None:
        self._queued.add(item.key)
        heapq.heappush(self._heap, item)
        self._cv.notify_all()

    def start(self) -> None:
        if self._threads:
            return
        if self._periodic:
            with self._cv:
                for job, every in self.periods.items():
                    # A restart's leftovers (outbox, unread messages) are swept at once.
                    first = 0.0 if job in tasks.SWEEPS else every
                    self._push(
                        _Item(time.monotonic() + first, next(self._seq), f"tick-{job}", job, (), 0, True)
                    )
            self.enqueue("resync_surfaces")  # once: cards whose sync a restart lost
        self._stop = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"sheepdog-jobs-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (not self._heap or self._heap[0].due > time.monotonic()):
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    self._cv.wait(timeout=wait)
                if self._stop:
                    return
                item = heapq.heappop(self._heap)
                self._queued.discard(item.key)
                self._active.add(item.key)
                self._running += 1
            try:
                self._run(item)
            finally:
                with self._cv:
                    self._active.discard(item.key)
                    self._running -= 1
                    if item.key in self._again:
                        self._again.discard(item.key)
                        if item.key not in self._queued:
                            self._push(
                                _Item(time.monotonic(), next(self._seq), item.key, item.job, item.args)
                            )
                    self._cv.notify_all()

    def runs(self) -> dict[str, int]:
        """Jobs run, by name (started, whatever the outcome)."""
        with self._cv:
            return dict(self._runs)

    def latency(self) -> Latency:
        with self._cv:
            return Latency(list(self._latency.counts), self._latency.total_s)

    def _run(self, item: _Item) -> None:
        assert self._services_ref is not None, "queue not bound to services"
        waited = max(0.0, time.monotonic() - item.due)
        with self._cv:
            self._runs[item.job] += 1
            self._latency.counts[Latency.bucket(waited)] += 1
            self._latency.total_s += waited
        try:
            tasks.run_job(self._services_ref(), item.job, *item.args)
        except Exception as exc:
            if item.periodic:
                log.exception("periodic job %s failed; it runs again at its next tick", item.job)
            elif item.retry < defaults.JOB_MAX_RETRIES:
                delay = backoff_s(item.retry, self._rng)
                log.warning("job %s failed (%s); retry %d in %.1f s", item.key, exc, item.retry + 1, delay)
                with self._cv:
                    if item.key not in self._queued:
                        self._push(
                            _Item(
                                time.monotonic() + delay,
                                next(self._seq),
                                item.key,
                                item.job,
                                item.args,
                                item.retry + 1,
                            )
                        )
            else:
                log.exception("job %s failed %d times; kept as a failed job", item.key, item.retry + 1)
                self._keep_failed(item, exc)
        if item.periodic and not self._stop:
            with self._cv:
                self._push(
                    _Item(
                        time.monotonic() + self.periods[item.job],
                        next(self._seq),
                        item.key,
                        item.job,
                        (),
                        0,
                        True,
                    )
                )

    def _db(self) -> Any:
        assert self._services_ref is not None, "queue not bound to services"
        return self._services_ref().db

    def _keep_failed(self, item: _Item, exc: BaseException) -> None:
        import traceback

        from sheepdog.storage.tables import FailedJob

        text = "".join(traceback.format_exception(exc))[-8000:]
        try:
            with self._db().session() as s:
                s.add(
                    FailedJob(
                        key=item.key[:200],
                        job=item.job,
                        args=list(item.args),
                        error=text,
                        attempts=item.retry + 1,
                        failed_at=datetime.now(UTC),
                    )
                )
        except Exception:
            log.exception("could not keep failed job %s", item.key)

    def failed(self, limit: int = 100) -> list[FailedJobInfo]:
        from sqlalchemy import select

        from sheepdog.storage.tables import FailedJob

        with self._db().session() as s:
            rows = s.scalars(select(FailedJob).order_by(FailedJob.id.desc()).limit(limit)).all()
            return [
                FailedJobInfo(str(r.id), r.job, tuple(r.args or ()), r.error, r.failed_at, r.attempts)
                for r in rows
            ]

    def _failed_count(self) -> int:
        from sqlalchemy import func, select

        from sheepdog.storage.tables import FailedJob

        with self._db().session() as s:
            return int(s.scalar(select(func.count()).select_from(FailedJob)) or 0)

    def _take_failed(self, job_id: str) -> FailedJobInfo | None:
        from sheepdog.storage.tables import FailedJob

        if not job_id.isdigit():
            return None
        with self._db().session() as s:
            row = s.get(FailedJob, int(job_id))
            if row is None:
                return None
            info = FailedJobInfo(str(row.id), row.job, tuple(row.args or ()), row.error, row.failed_at)
            s.delete(row)
            return info

    def retry_failed(self, job_id: str) -> bool:
        info = self._take_failed(job_id)
        if info is None:
            return False
        self.enqueue(info.job, *info.args)
        return True

    def drop_failed(self, job_id: str) -> bool:
        return self._take_failed(job_id) is not None

    def health(self) -> QueueHealth:
        now = time.monotonic()
        with self._cv:
            work = [i for i in self._heap if not i.periodic]
            queued = sum(1 for i in work if i.due <= now)
            scheduled, running = len(work) - queued, self._running
        try:
            failed = self._failed_count()
        except Exception as exc:
            return QueueHealth(self.backend, False, queued, scheduled, running, error=str(exc))
        return QueueHealth(self.backend, True, queued, scheduled, running, failed, None)

    def alive(self, process_ids: Iterable[str]) -> set[str]:
        """One process does all the work here: only this one is alive."""
        return {p for p in process_ids if p == PROCESS_ID}

    def pending(self, *, due_only: bool = True) -> int:
        now = time.monotonic()
        with self._cv:
            return sum(1 for i in self._heap if not due_only or i.due <= now) + self._running

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no due job is queued or running (tests use it instead of sleeping)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cv:
                now = time.monotonic()
                busy = self._running or any(i.due <= now and not i.periodic for i in self._heap)
                if not busy:
                    return True
                self._cv.wait(timeout=0.05)
        return False


class RqQueue:
    """Jobs on Redis for `sheepdog worker` processes. Keys are RQ job ids enqueued with
    unique=True (atomic in Redis), retries are RQ's Retry with jittered intervals, delays and
    retries wait in RQ's scheduled registry (moved by jobs.schedule.Ticker)."""

    backend = "rq"
    RESULT_TTL_S = 0  # a finished job is deleted at once, so its key can run again
    FAILURE_TTL_S = 7 * 24 * 3600

    def __init__(self, redis_url: str, queue_name: str) -> None:
        from redis import Redis
        from rq import Queue

        # Short socket timeouts: a Redis that is down must fail a webhook's enqueue in
        # milliseconds (the sweeps re-queue the work), not hold the request for seconds.
        self.redis = Redis.from_url(
            redis_url, socket_connect_timeout=1.0, socket_timeout=5.0, health_check_interval=10
        )
        self.queue = Queue(queue_name, connection=self.redis, default_timeout=defaults.JOB_TIMEOUT_S)
        self.name = queue_name
        self.prefix = f"sheepdog:{queue_name}"
        self._down_until = 0.0

    def enqueue(self, job: str, *args: Any, delay_s: float = 0.0, key: str | None = None) -> bool:
        """Queue a job; False when the same key is already queued or running."""
        from redis.exceptions import RedisError
        from rq import Retry
        from rq.exceptions import DuplicateJobError

        if job not in tasks.JOBS:
            raise ValueError(f"unknown job {job!r}")
        key = key or job_key(job, *args)
        if time.monotonic() < self._down_until:
            raise QueueUnavailableError(
                f"Redis was unreachable a moment ago; {key} waits for the sweep", repeated=True
            )
        options: dict[str, Any] = {
            "job_id": rq_job_id(key),
            "unique": True,
            "description": f"{job}{tuple(args)!r}",
            "result_ttl": self.RESULT_TTL_S,
            "failure_ttl": self.FAILURE_TTL_S,
            "retry": None if job in tasks.PERIODIC else Retry(defaults.JOB_MAX_RETRIES, backoff_intervals()),
        }
        try:
            if delay_s > 0:
                self.queue.enqueue_in(timedelta(seconds=delay_s), RUN, job, *args, **options)
            else:
                self.queue.enqueue(RUN, job, *args, **options)
        except DuplicateJobError:
            if job in COALESCE:
                self._mark_again(options["job_id"])
            return False
        except RedisError as exc:
            self._down_until = time.monotonic() + defaults.QUEUE_DOWN_RETRY_S
            raise QueueUnavailableError(f"Redis refused {key}: {exc}") from exc
        return True

    def ensure(self, job: str, *args: Any) -> bool:
        """Queue a job unless it is queued or running in a live process. A worker killed mid-job
        leaves its job 'started' until RQ's cleanup (minutes): its key would refuse the sweep's
        enqueue meanwhile, so the work is queued again under a rescue key."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        if self.enqueue(job, *args):
            return True
        key = job_key(job, *args)
        try:
            held = Job.fetch(rq_job_id(key), connection=self.redis)
        except NoSuchJobError:
            return self.enqueue(job, *args)  # it ended meanwhile
        status = held.get_status()
        if status == JobStatus.QUEUED and self.redis.lpos(self.queue.key, held.id) is None:
            # Taken off the queue by a worker that died before starting it (RQ's intermediate
            # queue keeps it until its own cleanup, minutes later): queue the work again now.
            return self.enqueue(job, *args, key=f"{key}-rescue")
        if status != JobStatus.STARTED:
            return False  # queued or scheduled: it will run
        holder = (held.worker_name or "").rsplit("-", 1)[0]
        if holder and holder in self.alive([holder]):
            return False
        return self.enqueue(job, *args, key=f"{key}-rescue")

    def record_run(self, job: str, waited_s: float) -> None:
        """A job started after waiting `waited_s`: counted by name (`sheepdog jobs`, tests prove a
        keyed job ran once) and in the wait histogram (/metrics), in one round trip."""
        key = f"{self.prefix}:latency"
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(f"{self.prefix}:runs", job, 1)
            pipe.hincrby(key, str(Latency.bucket(waited_s)), 1)
            pipe.hincrbyfloat(key, "sum", max(0.0, waited_s))
            pipe.execute()

    def runs(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.redis.hgetall(f"{self.prefix}:runs").items()}

    def latency(self) -> Latency:
        raw = {k.decode(): v for k, v in self.redis.hgetall(f"{self.prefix}:latency").items()}
        counts = [int(raw.get(str(i), 0)) for i in range(len(LATENCY_BUCKETS_S) + 1)]
        return Latency(counts, float(raw.get("sum", 0.0)))

    def busy(self, job_id: str) -> bool:
        """The job waits or runs (in a process that is alive): a periodic run not to overlap."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return False
        status = job.get_status()
        if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
            return True
        if status != JobStatus.STARTED:
            return False
        holder = (job.worker_name or "").rsplit("-", 1)[0]
        return not holder or holder in self.alive([holder])

    def _mark_again(self, job_id: str) -> None:
        """A coalescing job asked for while queued or running: run it once more when it ends."""
        self.redis.set(f"{self.prefix}:again:{job_id}", "1", ex=defaults.JOB_GUARD_S)

    def after_job(self, job_id: str, job: str, args: tuple[Any, ...]) -> None:
        """Called by the worker once RQ has finished with a job (its id is free again)."""
        if job in COALESCE and self.redis.getdel(f"{self.prefix}:again:{job_id}"):
            self.enqueue(job, *args)

    def start(self) -> None:
        """Nothing to start here: `sheepdog worker` processes run the jobs; jobs.schedule ticks."""

    def stop(self, timeout: float = 10.0) -> None:
        self.redis.close()

    # What has failed, and what to do about it.

    def _failed_registry(self) -> Any:
        from rq.registry import FailedJobRegistry

        return FailedJobRegistry(queue=self.queue)

    def failed(self, limit: int = 100) -> list[FailedJobInfo]:
        from rq.job import Job

        ids = self._failed_registry().get_job_ids(0, limit - 1)
        out: list[FailedJobInfo] = []
        for job_id, job in zip(ids, Job.fetch_many(ids, connection=self.redis), strict=True):
            if job is None:
                continue
            result = job.latest_result()
            error = (result.exc_string if result is not None else None) or "(no error text)"
            name, *args = job.args or ("?",)
            out.append(FailedJobInfo(job_id, str(name), tuple(args), error, job.ended_at))
        return out

    def retry_failed(self, job_id: str) -> bool:
        registry = self._failed_registry()
        if job_id not in registry:
            return False
        registry.requeue(job_id)
        return True

    def drop_failed(self, job_id: str) -> bool:
        registry = self._failed_registry()
        if job_id not in registry:
            return False
        registry.remove(job_id, delete_job=True)
        return True

    def alive_key(self, role: str, process_id: str = PROCESS_ID) -> str:
        return f"{self.prefix}:alive:{role}:{process_id}"

    def alive(self, process_ids: Iterable[str]) -> set[str]:
        """Which of these processes renewed their liveness key lately (jobs.schedule.Ticker)."""
        ids = [p for p in dict.fromkeys(process_ids) if p]
        if not ids:
            return set()
        keys = [self.alive_key(role, p) for p in ids for role in ("bot", "worker")]
        values = self.redis.mget(keys)
        return {keys[i].rsplit(":", 1)[1] for i, v in enumerate(values) if v is not None}

    def workers_alive(self) -> int:
        return sum(1 for _ in self.redis.scan_iter(match=f"{self.prefix}:alive:worker:*", count=1000))

    def health(self) -> QueueHealth:
        from redis.exceptions import RedisError
        from rq.registry import ScheduledJobRegistry, StartedJobRegistry

        try:
            return QueueHealth(
                self.backend,
                True,
                queued=self.queue.count,
                scheduled=ScheduledJobRegistry(queue=self.queue).count,
                running=StartedJobRegistry(queue=self.queue).count,
                failed=self._failed_registry().count,
                workers=self.workers_alive(),
            )
        except RedisError as exc:
            return QueueHealth(self.backend, False, error=f"Redis unreachable: {exc}")
