"""Cadences through the handlers, on SQLite and PostgreSQL: the lead's zone learnt from their
phone sets their quiet hours; a touch is checked again when it is sent; `/sheepdog quoted 12` and
`/sheepdog visit 12 thu 9am` go through the one stage action; the abandoned cart's third touch
makes exactly the policy's offer."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from sheepdog.bot.cards import lead_cards
from sheepdog.domain.guardrails import Incentive, check_draft
from sheepdog.domain.models import Category, Channel, Triage
from sheepdog.errors import BadInputError
from sheepdog.handlers import commands
from sheepdog.handlers.inbound import receive
from sheepdog.jobs import tasks
from sheepdog.storage.tables import Contact, Draft, Event, Lead, Outbox
from tests.jobs.test_outbox_and_cadence import Clock, lead_message

BERLIN = ZoneInfo("Europe/Berlin")
CHICAGO = ZoneInfo("America/Chicago")


def berlin_lead(at: datetime) -> Any:
    """The stored web-form lead, with a German phone number in the form."""
    return replace(lead_message(), received_at=at, sender_phone="+49 30 901820")


def test_a_lead_in_berlin_is_followed_up_in_berlin_daytime(make_services: Any, smtp: Any) -> None:
    start = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # 15:00 in Chicago, 22:00 in Berlin
    svc = make_services()
    svc.clock = Clock(start)
    lead_id = receive(svc, berlin_lead(start)).lead_id
    assert svc.queue.wait_idle()  # the first reply answers them at once, whatever the hour
    with svc.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.contact.timezone, lead.contact.timezone_source) == ("Europe/Berlin", "phone")
        # 24 h later is 22:00 in Berlin: the follow-up is planned for 08:00 there (01:00 in Chicago)
        assert lead.cadence_next_at.astimezone(BERLIN).hour == 8
        assert lead.cadence_next_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
        brief = lead_cards(s, lead_id, "America/Chicago", svc.settings)[0]
        fields = dict(brief.fields)
        assert fields["Lead's time zone"] == "Europe/Berlin (from their phone)"
        assert fields["Cadence"] == "speed-to-lead, next touch Thu 01:00 by email"
    svc.clock.at = start + timedelta(hours=24, minutes=5)  # 22:05 in Berlin: nothing yet
    assert tasks.cadence_tick(svc) == 0


def test_a_touch_is_checked_again_when_it_is_sent(make_services: Any, smtp: Any) -> None:
    """The follow-up's send fails once (451); its retry would land at 21:30 in the lead's zone:
    it waits for the morning instead of going out at night."""
    recorder, _ = smtp
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 10:00 in Chicago
    svc = make_services()
    svc.clock = Clock(start)
    msg = replace(lead_message(), received_at=start)
    lead_id = receive(svc, msg).lead_id
    assert svc.queue.wait_idle()
    deadline = time.monotonic() + 10
    while len(recorder.messages) < 1 and time.monotonic() < deadline:  # the server is still writing it down
        time.sleep(0.02)
    assert len(recorder.messages) == 1
    recorder.fail_with = ["451 4.3.0 Try again later"]
    svc.clock.at = start + timedelta(hours=24, minutes=1)
    assert tasks.cadence_tick(svc) == 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the touch is written and its first send attempt fails
        with svc.db.session() as s:
            row = s.scalar(
                select(Outbox).where(Outbox.lead_id == lead_id, Outbox.attempts >= 1, Outbox.id > 1)
            )
            if row is not None and row.last_error:
                break
        time.sleep(0.05)
    svc.clock.at = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)  # 21:30 in Chicago when the retry runs
    deadline = time.monotonic() + 20
    deferred = None
    while deferred is None and time.monotonic() < deadline:
        with svc.db.session() as s:
            deferred = s.scalar(select(Event).where(Event.kind == "touch_deferred", Event.lead_id == lead_id))
        time.sleep(0.1)
    assert deferred is not None, "the retry was not held back"
    with svc.db.session() as s:
        row = s.get(Outbox, deferred.data["outbox_id"])
        assert row.state == "queued" and row.next_attempt_at.astimezone(CHICAGO).hour == 8
    assert len(recorder.messages) == 1  # nothing went out at night


def test_quoted_and_visit_commands_go_through_the_stage_action(make_services: Any, smtp: Any) -> None:
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago
    svc = make_services()
    svc.clock = Clock(start)
    lead_id = receive(svc, replace(lead_message(), received_at=start)).lead_id
    assert svc.queue.wait_idle()
    said = commands.run(svc, f"quoted {lead_id}", "Dana")
    assert said == f"Lead #{lead_id}: stage: quoted · Follow-up: post-quote, next touch Thu 10:00 by email"
    assert "nothing changed" in commands.run(svc, f"quoted {lead_id}", "Dana")
    said = commands.run(svc, f"visit {lead_id} thu 9am", "Ali")
    assert said == (
        f"Lead #{lead_id}: visit Thu 26 Nov 09:00 · Follow-up: visit reminder, next touch Wed 18:00 by email"
    )
    with svc.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert lead.stage == "visit_scheduled" and lead.visit_at.astimezone(CHICAGO).hour == 9
        assert (lead.cadence, lead.cadence_state) == ("visit_reminder", "active")  # the default stage map
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.lead_id == lead_id))]
        assert (
            kinds.count("stage_changed") == 2 and "cadence_switched" in kinds and "visit_scheduled" in kinds
        )
    with pytest.raises(BadInputError, match="not a day"):
        commands.run(svc, f"visit {lead_id} someday 9am", "Ali")
    assert "quoted <lead>" in commands.help_text() and "visit 12 thu 9am" in commands.help_text()


def test_the_cart_incentive_is_exactly_the_policys_offer(make_services: Any, smtp: Any) -> None:
    svc = make_services()
    business, triage = svc.business, Triage(Category.SALES_INQUIRY, 1.0)
    allowance = Incentive(10, 48)

    def check(body: str, incentive: Incentive | None) -> tuple[str, ...]:
        result = check_draft(
            body,
            business,
            inbound_text="",
            triage=triage,
            channel=Channel.EMAIL,
            max_chars=None,
            incentive=incentive,
        )
        return result.reasons

    offer = f"Your cart is still saved. As a thank-you for coming back: {allowance.words()}."
    assert check(offer, allowance) == ()
    assert check(offer, None) and "does not allow" in check(offer, None)[0]  # another step may not offer it
    assert "more than the policy's 10%" in check("Take 20% off if you order within 48 hours.", allowance)[0]
    assert check("10% off today.", allowance) == ("offers the incentive without its time limit",)
    with svc.db.session() as s:  # nothing stored by a pure check
        assert s.scalar(select(Contact.id)) is None and s.scalar(select(Draft.id)) is None


def test_after_downtime_each_lead_gets_one_touch_spread_out(make_services: Any, smtp: Any) -> None:
    """The workers were down for two days: the three leads' 24 h follow-ups are overdue and their
    72 h final outreach is due too. Each gets one touch now (queued apart, not all at once), and the
    final one keeps its 48 h spacing after it."""
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 10:00 in Chicago
    svc = make_services()
    svc.clock = Clock(start)
    ids = []
    for i in range(3):
        msg = replace(
            lead_message(), received_at=start, sender_email=f"late-{i}@example.com", sender_phone=None
        )
        ids.append(receive(svc, msg).lead_id)
    assert svc.queue.wait_idle()
    back = start + timedelta(hours=80)  # Friday 10:00 in Chicago
    svc.clock.at = back
    assert tasks.cadence_tick(svc) == 3  # queued CATCH_UP_SPACING_S apart, not all at once
    deadline = time.monotonic() + 20
    while svc.queue.pending(due_only=False) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert svc.queue.wait_idle()
    assert tasks.cadence_tick(svc) == 0  # the final outreach is not due yet: one touch per lead
    with svc.db.session() as s:
        for lead_id in ids:
            purposes = [d.purpose for d in s.scalars(select(Draft).where(Draft.lead_id == lead_id))]
            assert purposes == ["first_reply", "follow_up"]
            assert s.get(Lead, lead_id).cadence_next_at == back + timedelta(hours=48)
        late = [e.data["late_s"] for e in s.scalars(select(Event).where(Event.kind == "cadence_touch"))]
        assert len(late) == 3 and min(late) >= 56 * 3600
