"""Cadences in production mode, as processes: `sheepdog run` and two `sheepdog worker` on the
machine's PostgreSQL and Redis, every message counted at a real SMTP server, and one clock that
the test moves for every process at once (SHEEPDOG_CLOCK_OFFSET_FILE, sheepdog.clock).

Five leads walk their cadences over five days of that clock:
- walk: speed-to-lead: the first reply, the 24 h follow-up, the 72 h final outreach held for approval;
- reply: answers at hour 30, so its cadence stops and nothing more is written;
- quote: marked Quoted at day 2, so it switches to post-quote and the next touch sent is the
  post-quote one (never the 72 h "final outreach"); then Won starts the review request;
- stop: writes STOP at hour 30: everything stops;
- kill: the worker writing its 24 h follow-up is killed (SIGKILL) mid-touch (the test holds the
  lead's row so the worker is provably inside the touch): the step is still written exactly once.
"""

from __future__ import annotations

import os
import signal
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from sheepdog.storage.db import Database
from sheepdog.storage.tables import Contact, Draft, Event, Lead, Outbox
from tests.conftest import fixture_bytes, free_port
from tests.jobs.deployment import Deployment, replies_by_recipient, wait_for

pytestmark = pytest.mark.slow

T0 = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago (the business's zone)
TAGS = ("walk", "reply", "quote", "stop", "kill")

REVIEW_LINK = "https://g.page/r/brightside-example/review"
CONFIG = f"""
[business]
review_link = "{REVIEW_LINK}"
[followup]
tick_s = 1
"""


class MovingClock:
    """Writes the offset file every Sheepdog process reads its clock from."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, at: datetime) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str((at - datetime.now(UTC)).total_seconds()), encoding="utf-8")
        os.replace(tmp, self.path)  # processes never read half a number

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=float(self.path.read_text(encoding="utf-8")))


def email(tag: str) -> str:
    return f"{tag}-0@example.com"


def sent_to(recorder: Any, tag: str) -> int:
    return replies_by_recipient(recorder)[email(tag)]


def last_mail_to(recorder: Any, tag: str) -> Any:
    with recorder.lock:
        return [m for m in recorder.messages if email(tag) in str(m["To"])][-1]


def reply_mail(recorder: Any, tag: str, body: str | None = None) -> bytes:
    """The stored lead-reply template, from this lead, answering our last mail to them."""
    ours = last_mail_to(recorder, tag)
    raw = fixture_bytes("loop", "email__reply_template.eml").decode()
    raw = raw.format(subject=str(ours["Subject"]), in_reply_to=str(ours["Message-ID"]))
    msg = message_from_bytes(raw.encode(), policy=policy.default)
    msg.replace_header("From", f"Pat {tag} 0 <{email(tag)}>")
    msg.replace_header("Return-Path", f"<{email(tag)}>")
    msg.replace_header("Message-ID", f"<{tag}-reply@mail.example.com>")
    if body is not None:
        msg.set_content(body)
    return msg.as_bytes()


def post(deploy: Deployment, path: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{deploy.port}{path}",
        data=body,
        headers={"Content-Type": content_type, "Authorization": "Bearer e2e-token"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return int(resp.status)


def worker_writing(deploy: Deployment, lead_id: int) -> str | None:
    """The worker process running this lead's cadence touch now (RQ's started registry)."""
    from redis import Redis
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.registry import StartedJobRegistry

    redis = Redis.from_url(deploy.redis_url)
    try:
        for job_id in StartedJobRegistry(deploy.queue_name, connection=redis).get_job_ids():
            try:
                job = Job.fetch(job_id, connection=redis)
            except NoSuchJobError:  # it finished (and was deleted) between the two reads
                continue
            if (job.description or "").startswith(f"cadence_touch({lead_id}, ") and job.worker_name:
                pid = int(job.worker_name.split("-")[-3])  # host-pid-random-generation
                return next(name for name, proc in deploy.procs.items() if proc.pid == pid)
    finally:
        redis.close()
    return None


def each_message_delivered_once(recorder: Any) -> None:
    with recorder.lock:
        delivered = Counter(str(m["Message-ID"]) for m in recorder.messages)
    assert max(delivered.values()) == 1, "a message reached the SMTP server twice"


@contextmanager
def diagnosed(db: Database, deploy: Deployment, clock: MovingClock) -> Iterator[None]:
    """A real-worker test's body: a failed check carries the leads' cadence columns, the jobs RQ
    holds and the processes' logs; the deployment stops and the database closes either way."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{diagnose(db, deploy, clock)}\n{deploy.logs()}") from None
    finally:
        deploy.stop()
        db.dispose()


def diagnose(db: Database, deploy: Deployment, clock: MovingClock) -> str:
    """The leads' cadence columns, the moved clock and the cadence jobs RQ still holds."""
    from redis import Redis
    from rq.job import Job
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    lines = [f"moved clock: {clock.now().isoformat()}"]
    with db.session() as s:
        for lead in s.scalars(select(Lead).order_by(Lead.id)):
            lines.append(
                f"lead {lead.id} {lead.stage}: {lead.cadence} {lead.cadence_state} step {lead.cadence_step} "
                f"next {lead.cadence_next_at} ({lead.cadence_stop_reason})"
            )
    redis = Redis.from_url(deploy.redis_url)
    try:
        for registry in (StartedJobRegistry, ScheduledJobRegistry, FailedJobRegistry):
            for job_id in registry(deploy.queue_name, connection=redis).get_job_ids():
                job = Job.fetch(job_id, connection=redis)
                lines.append(
                    f"{registry.__name__}: {job.description} {job.get_status()} {job.exc_info or ''}"[:600]
                )
    finally:
        redis.close()
    return "\n".join(lines)


def cadence_settled(db: Database, deploy: Deployment, clock: MovingClock) -> bool:
    """Every touch due by the moved clock is written and every send is done."""
    with db.session() as s:
        due = s.scalar(
            select(func.count())
            .select_from(Lead)
            .where(Lead.cadence_state == "active", Lead.cadence_next_at <= clock.now())
        )
    return due == 0 and deploy.outbox_settled()


def clocked_deployment(
    tmp_path: Path, pg_url: str, redis_url: str, smtp_port: int, queue: str, start: datetime, config: str
) -> tuple[MovingClock, Deployment, Database]:
    """A deployment whose processes all read one test clock set to `start` (moved by the test),
    its config written, and the run's database (migrated by the deployment, not here)."""
    clock = MovingClock(tmp_path / "clock-offset")
    clock.set(start)
    deploy = Deployment(
        tmp_path,
        pg_url,
        redis_url,
        smtp_port,
        free_port(),
        queue_name=f"{queue}-{os.getpid()}",
        extra_config=config,
        env={"SHEEPDOG_CLOCK_OFFSET_FILE": str(clock.path)},
    )
    deploy.write_config()
    return clock, deploy, Database(pg_url, run_migrations=False)


def test_cadences_walk_switch_and_stop_on_two_workers_with_a_moving_clock(
    tmp_path: Path, pg_url: str, redis_url: str, smtp: Any
) -> None:
    recorder, smtp_port = smtp
    clock, deploy, db = clocked_deployment(
        tmp_path, pg_url, redis_url, smtp_port, "sheepdog-cadence", T0, CONFIG
    )

    def leads() -> dict[str, Lead]:
        with db.session() as s:
            rows = s.execute(select(Contact.email, Lead).join(Lead, Lead.contact_id == Contact.id)).all()
            return {e.split("-")[0]: lead for e, lead in rows}

    settled = partial(cadence_settled, db, deploy, clock)

    def opted_out(address: str) -> bool:
        with db.session() as s:
            return bool(s.scalar(select(Contact.opted_out).where(Contact.email == address)))

    def touches(lead_id: int) -> list[tuple[str, str]]:
        with db.session() as s:
            return [
                (d.purpose, d.state)
                for d in s.scalars(select(Draft).where(Draft.lead_id == lead_id).order_by(Draft.id))
            ]

    with diagnosed(db, deploy, clock):
        deploy.start_all(workers=2)
        for tag in TAGS:
            assert deploy.post_lead(0, tag) == 200
        wait_for(lambda: all(sent_to(recorder, t) == 1 for t in TAGS), 60, "every first reply")
        wait_for(settled, 30, "the first replies to settle")
        ids = {tag: lead.id for tag, lead in leads().items()}
        assert all(lead.cadence == "speed_to_lead" and lead.cadence_next_at for lead in leads().values())

        # Hour 24: the follow-ups. The kill lead's row is held, so the worker writing its touch
        # waits inside it (before its transaction commits); that worker is killed there.
        with db.engine.connect() as conn:
            hold = conn.begin()
            conn.execute(text("SELECT id FROM leads WHERE id = :id FOR UPDATE"), {"id": ids["kill"]})
            clock.set(T0 + timedelta(hours=24, minutes=5))
            victim = wait_for(
                lambda: worker_writing(deploy, ids["kill"]), 60, "a worker inside the held touch"
            )
            deploy.kill(victim, signal.SIGKILL)
            hold.rollback()
        deploy.start_worker("worker-3")  # as a process manager would; the survivor carries on meanwhile
        wait_for(lambda: all(sent_to(recorder, t) == 2 for t in TAGS), 90, "every 24 h follow-up")
        wait_for(settled, 60, "hour 24 to settle")

        # Hour 30: one lead replies, one writes STOP.
        clock.set(T0 + timedelta(hours=30))
        assert post(deploy, "/hooks/email", reply_mail(recorder, "reply"), "message/rfc822") == 200
        assert post(deploy, "/hooks/email", reply_mail(recorder, "stop", "STOP"), "message/rfc822") == 200
        wait_for(lambda: leads()["reply"].cadence_state == "stopped", 60, "the reply to stop its cadence")
        wait_for(lambda: opted_out(email("stop")), 60, "STOP to opt them out")

        # Day 2: Quoted, from the console's stage button (the same action as Slack and /sheepdog).
        clock.set(T0 + timedelta(hours=48))
        body = b'{"stage": "quoted", "actor": "Dana"}'
        assert post(deploy, f"/api/leads/{ids['quote']}/stage", body, "application/json") == 200
        quote = leads()["quote"]
        assert (quote.cadence, quote.cadence_state, quote.cadence_step) == ("post_quote", "active", 0)
        assert abs(quote.cadence_next_at - (T0 + timedelta(hours=96))) < timedelta(minutes=2)  # day 2 after

        # Hour 72: speed-to-lead's final outreach waits for approval; the quote lead gets nothing.
        clock.set(T0 + timedelta(hours=72, minutes=5))
        wait_for(lambda: ("final_outreach", "pending") in touches(ids["walk"]), 60, "the final outreach")
        wait_for(settled, 60, "hour 72 to settle")

        # Day 4 (two days after the quote): the post-quote touch is the next message sent.
        clock.set(T0 + timedelta(hours=96, minutes=5))
        wait_for(lambda: sent_to(recorder, "quote") == 3, 60, "the post-quote touch")
        wait_for(settled, 60, "day 4 to settle")
        assert touches(ids["quote"])[-1] == ("quote_follow_up", "sent")
        assert (
            "still interested"
            not in last_mail_to(recorder, "quote").get_body(("plain",)).get_content().lower()
        )

        # Won: the review request, a day later, with the owner's review link.
        won_at = T0 + timedelta(hours=97)
        clock.set(won_at)
        assert (
            post(deploy, f"/api/leads/{ids['quote']}/won", b'{"amount": "4500"}', "application/json") == 200
        )
        assert leads()["quote"].cadence == "post_service"
        clock.set(won_at + timedelta(days=1, minutes=5))
        wait_for(lambda: sent_to(recorder, "quote") == 4, 60, "the review request")
        wait_for(settled, 60, "the review request to settle")
        review = last_mail_to(recorder, "quote").get_body(("plain",)).get_content()
        assert REVIEW_LINK in review

        # What each lead was sent, and that no step was written (or sent) twice.
        kinds = {tag: [p for p, _ in touches(lead_id)] for tag, lead_id in ids.items()}
        assert kinds["walk"] == ["first_reply", "follow_up", "final_outreach"]
        assert kinds["kill"] == ["first_reply", "follow_up", "final_outreach"]
        assert kinds["quote"] == ["first_reply", "follow_up", "quote_follow_up", "review_request"]
        assert kinds["stop"] == ["first_reply", "follow_up"]  # STOP: nothing after it
        assert "final_outreach" not in kinds["reply"]  # the reply at hour 30 stopped it
        assert leads()["stop"].cadence_state == "stopped" and leads()["reply"].cadence_state == "stopped"
        with db.session() as s:
            steps = Counter(
                (e.lead_id, e.data["cadence"], e.data["step"])
                for e in s.scalars(select(Event).where(Event.kind == "cadence_touch"))
            )
            sent = Counter(o.message_id for o in s.scalars(select(Outbox).where(Outbox.state == "sent")))
        assert steps and max(steps.values()) == 1, steps
        assert max(sent.values()) == 1
        each_message_delivered_once(recorder)
