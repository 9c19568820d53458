"""What handlers and jobs work with: one object holding the configured components.

Handlers get this context and never build clients themselves, so a test (or the RQ worker)
hands them the same real components configured differently.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from sheepdog.brain.base import Brain
from sheepdog.channels.base import Sender
from sheepdog.config import Settings
from sheepdog.domain.cadence import CadenceDef, Window
from sheepdog.domain.models import Business, Channel
from sheepdog.errors import QueueUnavailableError
from sheepdog.storage.db import Database, after_commit
from sheepdog.storage.tables import Event, TriageCorrection

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
"""Who this process is, in outbox claims and message reads: a process that died is seen as gone
(the queue's liveness check), so what it held is taken over at once instead of after a timeout."""

_INLINE = threading.local()  # job name -> argument tuples collected by Services.inline

CORRECTIONS_CHECK_S = 2.0
"""How often a long-lived process looks for corrections stored by another process."""


class JobQueue(Protocol):
    """In-process for the embedded mode, RQ on Redis in production; same jobs either way.
    A job's key (default: its name and arguments) makes a second enqueue while it waits a no-op."""

    def enqueue(self, job: str, *args: Any, delay_s: float = 0.0, key: str | None = None) -> bool: ...

    def ensure(self, job: str, *args: Any) -> bool:
        """Queue a job unless it is queued or running in a live process (the sweeps use it)."""
        ...

    def alive(self, process_ids: Iterable[str]) -> set[str]:
        """Which of these processes (PROCESS_ID values) are alive now."""
        ...


class Surface(Protocol):
    """A team-chat surface (Slack, Telegram group). The console reads the store directly."""

    name: str

    async def sync_lead(self, services: Services, lead_id: int) -> None:
        """Post or update every card of this lead, in place, never twice."""
        ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    db: Database
    brain: Brain
    queue: JobQueue
    senders: dict[Channel, Sender]
    surfaces: list[Surface] = field(default_factory=list)
    clock: Callable[[], datetime] = utcnow

    @property
    def business(self) -> Business:
        return self._business

    def __post_init__(self) -> None:
        self._business = self.settings.business.to_domain()
        self._corrections_seen = 0  # the newest triage_corrections id this brain has learnt
        self._corrections_checked = 0.0
        # "" when this process does not warm up (the bot in RQ mode, the CLI), else "loading" then
        # "loaded": /readyz is red while the brain loads, so no load balancer (or bench) sends the
        # first leads into the load.
        self.brain_state = ""

    def corrections_seen(self, last_id: int) -> None:
        """The brain was built with the corrections up to this id."""
        self._corrections_seen = max(self._corrections_seen, last_id)

    def now(self) -> datetime:
        return self.clock()

    def cadences(self) -> dict[str, CadenceDef]:
        """Every configured cadence as the domain's definitions (built once: config is fixed)."""
        built = self.__dict__.get("_cadences")
        if built is None:
            built = self.__dict__["_cadences"] = self.settings.followup.to_domain()
        return built

    def cadence(self, name: str | None) -> CadenceDef | None:
        return self.cadences().get(name or "")

    def window(self, tz: str | None = None) -> Window:
        """When touches may go out: quiet hours in `tz` (the lead's zone, else the business's);
        business hours, if kept, in the business's zone."""
        from datetime import time

        fu = self.settings.followup
        start, end = (time.fromisoformat(p.strip()) for p in fu.quiet_hours.split("-"))
        hours = self.business.hours if fu.business_hours_only else None
        return Window(tz or self.business.timezone, start, end, hours, self.business.timezone)

    def log(
        self, session: Session, kind: str, lead_id: int | None, actor: str | None = None, /, **data: Any
    ) -> None:
        """Append to the event log: every step leaves a trace metrics and live cards read."""
        session.add(Event(at=self.now(), kind=kind, lead_id=lead_id, actor=actor, data=_jsonable(data)))

    def enqueue_after_commit(self, session: Session, job: str, *args: Any, delay_s: float = 0.0) -> None:
        """Queue a job once the session commits: the worker must be able to see what it is for.
        Inside `inline(job)` the job is collected instead, to run in the same job right after."""
        collected = _INLINE.__dict__.get(job)
        if collected is not None and not delay_s:
            after_commit(session, lambda: collected.append(args))
            return
        after_commit(session, lambda: self.try_enqueue(job, *args, delay_s=delay_s))

    @contextmanager
    def inline(self, job: str) -> Iterator[list[tuple[Any, ...]]]:
        """Collect the `job`s committed work asks for in this thread, for the caller to run at once
        (a first reply is sent by the job that wrote it: no second trip through the queue). If the
        process dies before running them, the sweeps find their rows and queue them."""
        collected: list[tuple[Any, ...]] = []
        previous = _INLINE.__dict__.get(job)
        setattr(_INLINE, job, collected)
        try:
            yield collected
        finally:
            if previous is None:
                delattr(_INLINE, job)
            else:
                setattr(_INLINE, job, previous)

    def try_enqueue(self, job: str, *args: Any, delay_s: float = 0.0, key: str | None = None) -> bool:
        """Queue a job whose purpose is already stored; if the queue is down, say so and go on:
        the sweeps (outbox, unread messages) queue it again once the queue is back."""
        try:
            return self.queue.enqueue(job, *args, delay_s=delay_s, key=key)
        except QueueUnavailableError as exc:
            # One warning per outage (the breaker's fast refusals say nothing new), then quiet.
            level = logging.DEBUG if exc.repeated else logging.WARNING
            log.log(level, "%s; the sweep will queue it again", exc)
            return False

    def warm_up(self) -> None:
        """Build the brain now rather than on the first message (workers, the embedded process),
        then settle the heap (settle_heap), both before the process says it is ready."""
        self.brain_state = "loading"
        try:
            get = getattr(self.brain, "get", None)
            brain = get() if get is not None else self.brain
            from sheepdog.brain import language  # the brain's language check, loaded on first use

            language.load()
            offline = getattr(brain, "offline", brain)  # the Claude brain triages with the offline one
            model = getattr(getattr(offline, "classifier", None), "model", None)
            if getattr(model, "vector_weight", 0.0):  # the sentence encoder, and BLAS's buffers
                from sheepdog.brain.encoder import sentence_vectors

                sentence_vectors(["warming up"])
            self.learn_new_corrections(force=True)
        finally:  # a failed load is retried by the first read, which says why
            settle_heap()
            self.brain_state = "loaded"

    def learn_new_corrections(self, *, force: bool = False) -> int:
        """Teach this process's brain the corrections other processes stored since it last looked
        (a long-lived worker would otherwise never learn what the owner corrected in Slack)."""
        if not force and time.monotonic() - self._corrections_checked < CORRECTIONS_CHECK_S:
            return 0
        self._corrections_checked = time.monotonic()
        if not getattr(self.brain, "loaded", True):
            return 0  # built later from the table, corrections and all
        with self.db.session() as s:
            rows = s.execute(
                select(TriageCorrection.id, TriageCorrection.text, TriageCorrection.category)
                .where(TriageCorrection.id > self._corrections_seen)
                .order_by(TriageCorrection.id)
            ).all()
        for row_id, text, category in rows:
            if row_id > self._corrections_seen:
                self.brain.learn(text, category)
                self._corrections_seen = row_id
        return len(rows)

    def lead_changed(self, lead_id: int, session: Session | None = None) -> None:
        """Ask every chat surface to bring this lead's cards up to date (a job, so it retries).
        Inside a transaction, pass the session: the job is queued when it commits."""
        if not self.surfaces:
            return
        if session is not None:
            self.enqueue_after_commit(session, "sync_surfaces", lead_id)
        else:
            self.try_enqueue("sync_surfaces", lead_id)


_SETTLED = threading.Lock()


def settle_heap() -> None:
    """Once per process, after start-up: collect, give back to the system what loading the models
    allocated and freed (glibc keeps it), and freeze what is left out of the garbage collector.

    A started process holds about 165,000 objects the collector tracks (SQLAlchemy, aiohttp, numpy,
    the models, the ORM mappings), all of which live as long as the process. Every full collection
    walked them all: 100-180 ms with the GIL held, about every 10 s at 20 leads/s, and in the
    embedded process each one stalled the web-form acks in flight (bench/engine: 11 of a run's 14
    slowest acks were in flight during one). Frozen (gc.freeze), they are skipped, and a full
    collection walks only what came after them."""
    import gc

    from sheepdog.heap import trim

    if not _SETTLED.acquire(blocking=False):
        return  # frozen once already: later objects (a test's, a later import) stay collectable
    gc.collect()
    trim()
    gc.freeze()


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if v is None or isinstance(v, (str, int, float, bool, list, dict)):
            out[k] = v
        else:
            out[k] = str(v)
    return out
