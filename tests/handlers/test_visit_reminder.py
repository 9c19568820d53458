"""Visit reminders through the handlers, on SQLite and PostgreSQL: `/sheepdog visit 12 thu 9am`
(the same DISPATCH action as the Slack, Telegram and console buttons) starts them; booking the
visit again at another time moves them (never two for one step); STOP, Lost and `visit 12 cancel`
stop them; the visit time arriving withdraws a reminder still waiting for approval. The reminder
itself restates the booked time and passes the guardrails on its own."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sheepdog.bot.cards import lead_cards
from sheepdog.channels.webform import WebformParser
from sheepdog.domain.models import RawRequest
from sheepdog.handlers import actions, commands
from sheepdog.handlers.inbound import receive
from sheepdog.handlers.team_actions import TeamAction, dispatch
from sheepdog.jobs import tasks
from sheepdog.storage.tables import Draft, Event, Lead
from tests.handlers.test_trusted_sends import form
from tests.jobs.test_outbox_and_cadence import Clock, lead_message

START = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago (the lead's zone too)


def chicago(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Chicago in November 2026 (CST, UTC-6), as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) + timedelta(hours=6)


def booked_lead(svc: Any) -> int:
    """A new web-form lead (a Texas phone: their zone is Chicago's), answered, at START."""
    svc.clock = Clock(START)
    lead_id = int(receive(svc, replace(lead_message(), received_at=START)).lead_id)
    assert svc.queue.wait_idle()
    return lead_id


def tick_at(svc: Any, at: datetime) -> int:
    """Move the clock, run the cadence tick and wait until its jobs (and their sends) are done."""
    svc.clock.at = at
    queued = tasks.cadence_tick(svc)
    assert svc.queue.wait_idle()
    return queued


def mails(recorder: Any, count: int) -> list[str]:
    """The plain-text bodies the SMTP server got, once it has `count` of them."""
    deadline = time.monotonic() + 10
    while len(recorder.messages) < count and time.monotonic() < deadline:  # it is still writing one down
        time.sleep(0.02)
    with recorder.lock:
        return [m.get_body(("plain",)).get_content() for m in recorder.messages]


def reminders(svc: Any, lead_id: int) -> list[tuple[str, str]]:
    with svc.db.session() as s:
        rows = s.scalars(
            select(Draft)
            .where(Draft.lead_id == lead_id, Draft.purpose == "visit_reminder")
            .order_by(Draft.id)
        )
        return [(d.state, d.body) for d in rows]


def events(svc: Any, lead_id: int, kind: str) -> list[Event]:
    with svc.db.session() as s:
        return list(s.scalars(select(Event).where(Event.lead_id == lead_id, Event.kind == kind)))


def test_a_booked_visit_is_reminded_moved_and_ended(make_services: Any, smtp: Any) -> None:
    recorder, _ = smtp
    svc = make_services()
    lead_id = booked_lead(svc)
    assert len(mails(recorder, 1)) == 1  # the first reply

    said = commands.run(svc, f"visit {lead_id} thu 9am", "Ali")
    assert said.endswith("· Follow-up: visit reminder, next touch Wed 18:00 by email"), said

    # Booked again, for Friday 14:00: the reminders move (the evening before is now Thursday's).
    svc.clock.at = chicago(25, 12)
    said = commands.run(svc, f"visit {lead_id} fri 2pm", "Ali")
    assert said.endswith("· Follow-up: visit reminder, next touch Thu 18:00 by email"), said
    assert "already booked" in commands.run(svc, f"visit {lead_id} fri 2pm", "Ali")
    [moved] = events(svc, lead_id, "cadence_visit_moved")
    assert moved.actor == "Ali" and moved.data["visit_at"] == chicago(27, 14).isoformat()
    assert tick_at(svc, chicago(25, 18, 1)) == 0  # the old visit's evening: nothing

    assert tick_at(svc, chicago(26, 18, 1)) == 1
    bodies = mails(recorder, 2)
    assert len(bodies) == 2 and "is booked for tomorrow, Friday 27 November at 2:00 pm" in bodies[1]
    assert tick_at(svc, chicago(26, 18, 2)) == 0  # written once
    with svc.db.session() as s:
        card = dict(lead_cards(s, lead_id, "America/Chicago", svc.settings)[0].fields)
        assert card["Cadence"] == "visit reminder, next touch Fri 12:00 by email"  # two hours before

    assert tick_at(svc, chicago(27, 12, 1)) == 1
    bodies = mails(recorder, 3)
    assert len(bodies) == 3 and "is booked for today at 2:00 pm" in bodies[2]
    assert [state for state, _ in reminders(svc, lead_id)] == ["sent", "sent"]

    assert tick_at(svc, chicago(27, 14)) == 1  # the visit time: the cadence ends
    with svc.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.cadence, lead.cadence_state, lead.cadence_next_at) == ("visit_reminder", "done", None)
    assert tick_at(svc, chicago(28, 18)) == 0 and len(mails(recorder, 3)) == 3
    touches = [(e.data["step"], e.data.get("skipped")) for e in events(svc, lead_id, "cadence_touch")]
    assert touches == [(0, None), (1, None)]


def test_booked_late_in_the_evening_the_passed_reminder_is_skipped(make_services: Any, smtp: Any) -> None:
    """Booked Wednesday 22:00 for Thursday 9:00: the 18:00 reminder is not sent late, and the
    two-hour one (07:00, the lead's quiet hours) goes at 08:00."""
    recorder, _ = smtp
    svc = make_services()
    lead_id = booked_lead(svc)
    svc.clock.at = chicago(25, 22)
    said = dispatch(svc, TeamAction("visit_scheduled", lead_id, "Dana", "thu 9am", "slack")).message
    assert said.endswith("Follow-up: visit reminder, next touch 08:00 by email"), said
    [started] = [e for e in events(svc, lead_id, "cadence_switched") if e.data["to"] == "visit_reminder"]
    assert started.data["skipped"] == 1
    assert tick_at(svc, chicago(26, 7, 58)) == 0  # the tick looks one period ahead
    assert tick_at(svc, chicago(26, 8, 0)) == 1
    assert "is booked for today at 9:00 am" in mails(recorder, 2)[-1]
    assert len(reminders(svc, lead_id)) == 1


@pytest.mark.parametrize("how", ["stop", "lost", "cancel"])
def test_stop_lost_or_cancelling_ends_the_reminders(make_services: Any, smtp: Any, how: str) -> None:
    recorder, _ = smtp
    svc = make_services()
    lead_id = booked_lead(svc)
    commands.run(svc, f"visit {lead_id} thu 9am", "Ali")
    svc.clock.at = chicago(25, 12)
    if how == "stop":
        msg = WebformParser().parse(
            RawRequest("POST", "http://x/hooks/form", {}, form("STOP"), content_type="application/json")
        )[0]
        receive(svc, replace(msg, received_at=svc.clock.at))
        assert svc.queue.wait_idle()
    elif how == "lost":
        assert dispatch(svc, TeamAction("lost", lead_id, "Dana", "went with a competitor", "telegram")).ok
    else:
        said = commands.run(svc, f"visit {lead_id} cancel", "Ali")
        assert said.endswith("visit cancelled · Follow-up: visit reminder, stopped (the visit was cancelled)")
        assert "no visit is booked" in commands.run(svc, f"visit {lead_id} cancel", "Ali")
    with svc.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.cadence, lead.cadence_state) == ("visit_reminder", "stopped"), lead.cadence_stop_reason
    sent = len(mails(recorder, 1))
    assert tick_at(svc, chicago(25, 18, 1)) == 0 and tick_at(svc, chicago(26, 7, 1)) == 0
    assert reminders(svc, lead_id) == [] and len(mails(recorder, sent)) == sent


def test_a_reminder_waiting_for_approval_is_withdrawn_when_moved_or_when_the_visit_comes(
    make_services: Any, smtp: Any
) -> None:
    recorder, _ = smtp
    svc = make_services(policy={"cadence": {"autonomy": "L3"}})  # every touch waits for approval
    lead_id = booked_lead(svc)
    commands.run(svc, f"visit {lead_id} thu 9am", "Ali")
    assert tick_at(svc, chicago(25, 18, 1)) == 1
    [(state, body)] = reminders(svc, lead_id)
    assert state == "pending" and "is booked for tomorrow, Thursday 26 November at 9:00 am" in body
    with svc.db.session() as s:
        draft = s.scalar(select(Draft).where(Draft.purpose == "visit_reminder"))
        assert draft.reasons and not any("promises a date" in r for r in draft.reasons), draft.reasons

    svc.clock.at = chicago(25, 19)
    commands.run(svc, f"visit {lead_id} fri 9am", "Ali")  # moved: the Thursday reminder goes
    assert [state for state, _ in reminders(svc, lead_id)] == ["skipped"]
    assert tick_at(svc, chicago(26, 18, 1)) == 1  # Friday's evening-before reminder, waiting again
    assert [state for state, _ in reminders(svc, lead_id)] == ["skipped", "pending"]

    assert tick_at(svc, chicago(27, 7, 1)) == 0  # 07:00 is quiet; 08:00 is the two-hour one
    assert tick_at(svc, chicago(27, 8, 0)) == 1
    assert [state for state, _ in reminders(svc, lead_id)] == ["skipped", "pending", "pending"]
    assert tick_at(svc, chicago(27, 9, 0)) == 1  # the visit time: nothing is left waiting
    assert [state for state, _ in reminders(svc, lead_id)] == ["skipped", "skipped", "skipped"]
    with svc.db.session() as s:
        late = s.scalars(select(Draft.id).where(Draft.purpose == "visit_reminder")).all()[-1]
    assert not actions.approve(svc, late, "Dana").ok  # withdrawn: approving it sends nothing
    assert len(mails(recorder, 1)) == 1  # only the first reply ever went out
    assert svc.clock.at - START < timedelta(days=4)
