"""What handlers and jobs work with: one object holding the configured components.

Handlers get this context and never build clients themselves, so a test (or the RQ worker)
hands them the same real components configured differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from sheepdog.brain.base import Brain
from sheepdog.channels.base import Sender
from sheepdog.config import Settings
from sheepdog.domain.cadence import CadenceDef, Step, Window
from sheepdog.domain.models import Business, Channel
from sheepdog.storage.db import Database, after_commit
from sheepdog.storage.tables import Event


class JobQueue(Protocol):
    """In-process for the embedded mode, RQ on Redis in production; same jobs either way."""

    def enqueue(self, job: str, *args: Any, delay_s: float = 0.0) -> None: ...


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

    def now(self) -> datetime:
        return self.clock()

    def cadence(self, name: str | None) -> CadenceDef | None:
        conf = self.settings.followup.cadences.get(name or "")
        if conf is None or name is None:
            return None
        steps = tuple(Step(s.after_h, s.template, s.approval) for s in conf.steps)
        return CadenceDef(name, steps, frozenset(conf.stop_on))

    def window(self, tz: str | None = None) -> Window:
        from datetime import time

        fu = self.settings.followup
        start, end = (time.fromisoformat(p.strip()) for p in fu.quiet_hours.split("-"))
        hours = self.business.hours if fu.business_hours_only else None
        return Window(tz or self.business.timezone, start, end, hours)

    def log(
        self, session: Session, kind: str, lead_id: int | None, actor: str | None = None, /, **data: Any
    ) -> None:
        """Append to the event log: every step leaves a trace metrics and live cards read."""
        session.add(Event(at=self.now(), kind=kind, lead_id=lead_id, actor=actor, data=_jsonable(data)))

    def enqueue_after_commit(self, session: Session, job: str, *args: Any, delay_s: float = 0.0) -> None:
        """Queue a job once the session commits: the worker must be able to see what it is for."""
        after_commit(session, lambda: self.queue.enqueue(job, *args, delay_s=delay_s))

    def lead_changed(self, lead_id: int, session: Session | None = None) -> None:
        """Ask every chat surface to bring this lead's cards up to date (a job, so it retries).
        Inside a transaction, pass the session: the job is queued when it commits."""
        if not self.surfaces:
            return
        if session is not None:
            self.enqueue_after_commit(session, "sync_surfaces", lead_id)
        else:
            self.queue.enqueue("sync_surfaces", lead_id)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if v is None or isinstance(v, (str, int, float, bool, list, dict)):
            out[k] = v
        else:
            out[k] = str(v)
    return out
