"""Visit reminders in production mode, as processes: `sheepdog run` and two `sheepdog worker` on
the machine's PostgreSQL and Redis, mail counted at a real SMTP server, one clock the test moves
for every process (SHEEPDOG_CLOCK_OFFSET_FILE).

A lead books a visit from the console's command box (the same action as Slack, Telegram and
`/sheepdog visit`), then moves it to the next day: the evening-before and two-hours-before
reminders go out once each, for the new time only, restating it; the visit time ends the cadence.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sheepdog.storage.tables import Contact, Event, Lead
from tests.jobs.deployment import wait_for
from tests.jobs.test_cadence_production import (
    cadence_settled,
    clocked_deployment,
    diagnosed,
    each_message_delivered_once,
    last_mail_to,
    post,
    sent_to,
)

pytestmark = pytest.mark.slow

T0 = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago (the business's zone)
CONFIG = """
[followup]
tick_s = 1
"""


def chicago(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Chicago in December 2026 (CST, UTC-6), as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) + timedelta(hours=6)


def test_visit_reminders_move_with_the_visit_and_go_once_on_two_workers(
    tmp_path: Path, pg_url: str, redis_url: str, smtp: Any
) -> None:
    recorder, smtp_port = smtp
    clock, deploy, db = clocked_deployment(
        tmp_path, pg_url, redis_url, smtp_port, "sheepdog-visit", T0, CONFIG
    )

    def lead() -> Lead:
        with db.session() as s:
            return s.scalar(select(Lead).join(Contact, Lead.contact_id == Contact.id))

    settled = partial(cadence_settled, db, deploy, clock)

    def command(text: str) -> None:
        body = json.dumps({"text": text, "actor": "Dana"}).encode()
        assert post(deploy, "/api/command", body, "application/json") == 200

    def body() -> str:
        return str(last_mail_to(recorder, "visit").get_body(("plain",)).get_content())

    with diagnosed(db, deploy, clock):
        deploy.start_all(workers=2)
        assert deploy.post_lead(0, "visit") == 200
        wait_for(lambda: sent_to(recorder, "visit") == 1, 60, "the first reply")
        wait_for(settled, 30, "the first reply to settle")
        lead_id = lead().id

        command(f"visit {lead_id} thu 9am")  # Thursday 3 December, 09:00
        booked = lead()
        assert (booked.cadence, booked.cadence_next_at) == ("visit_reminder", chicago(2, 18))
        clock.set(chicago(2, 12))
        command(f"visit {lead_id} fri 2pm")  # moved to Friday 14:00: the reminders move with it
        assert lead().cadence_next_at == chicago(3, 18)

        clock.set(chicago(3, 18, 5))  # the evening before the new time (Wednesday's has passed)
        wait_for(lambda: sent_to(recorder, "visit") == 2, 60, "the evening-before reminder")
        wait_for(settled, 60, "the evening-before reminder to settle")
        assert "booked for tomorrow, Friday 4 December at 2:00 pm" in body()
        assert lead().cadence_next_at == chicago(4, 12)

        clock.set(chicago(4, 12, 5))  # two hours before
        wait_for(lambda: sent_to(recorder, "visit") == 3, 60, "the two-hours-before reminder")
        wait_for(settled, 60, "the two-hours-before reminder to settle")
        assert "booked for today at 2:00 pm" in body()

        clock.set(chicago(4, 14, 5))  # the visit time ends the cadence
        wait_for(lambda: lead().cadence_state == "done", 60, "the visit time to end the reminders")
        assert sent_to(recorder, "visit") == 3
        with db.session() as s:
            steps = Counter(
                (e.data["cadence"], e.data["step"])
                for e in s.scalars(select(Event).where(Event.kind == "cadence_touch"))
            )
        assert steps == Counter({("visit_reminder", 0): 1, ("visit_reminder", 1): 1}), steps
        each_message_delivered_once(recorder)
