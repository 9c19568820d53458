"""Metrics from the event log: pure, so each number is checked against a hand-made month of events
whose expected values are worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sheepdog.domain.metrics import (
    EventRow,
    LeadState,
    PeriodError,
    change,
    compute,
    duration,
    parse_period,
    percent,
    percentile,
    stuck_reason,
    week_before,
)

NOV = datetime(2026, 11, 1, tzinfo=UTC)


def at(day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second
    )


def ev(kind: str, lead: int | None, when: datetime, actor: str | None = None, **data: object) -> EventRow:
    return EventRow(kind, lead, when, dict(data), actor)


def november() -> list[EventRow]:
    """Five leads created in November (1-5), one from October (6) active in November, one from
    December (7). Events in the order the code logs them (same-transaction events share a time)."""
    return [
        # lead 6: October lead, a support question answered automatically in November, won in November
        ev("lead_created", 6, datetime(2026, 10, 30, 9, tzinfo=UTC), category="sales_inquiry"),
        # lead 1: form lead, auto reply after 40 s, claimed at +30 min, a person answers at +1 h,
        # replies, qualified, quoted, won 4500
        ev("lead_created", 1, at(2, 10), category="sales_inquiry", channel="webform"),
        ev("cadence_started", 1, at(2, 10), cadence="speed_to_lead"),
        ev("draft_created", 1, at(2, 10), decision="send"),
        ev("triaged", 1, at(2, 10), category="sales_inquiry"),
        ev("sent", 1, at(2, 10, 0, 40), automated=True),
        ev("lead_claimed", 1, at(2, 10, 30), "Dana"),
        ev("sent", 1, at(2, 11), "Dana", automated=False),
        ev("message_received", 1, at(2, 12), category="lead_reply"),
        ev("stage_changed", 1, at(3, 9), "Dana", old="contacted", new="qualified"),
        ev("stage_changed", 1, at(5, 9), "Dana", old="qualified", new="quoted"),
        ev("outcome", 1, at(10, 9), "Dana", result="won", value="4500.00"),
        # lead 2: pricing question, handed off, claimed at +20 min, answered at +1 h, qualified, lost
        ev("lead_created", 2, at(3, 9), category="pricing_question"),
        ev("draft_created", 2, at(3, 9), decision="approve"),
        ev("handoff", 2, at(3, 9), urgent=False, notify_within_s=900),
        ev("lead_claimed", 2, at(3, 9, 20), "Sam"),
        ev("draft_approved", 2, at(3, 10), "Sam"),
        ev("sent", 2, at(3, 10), "Sam", automated=False),
        ev("stage_changed", 2, at(4, 9), "Sam", old="contacted", new="qualified"),
        ev("outcome", 2, at(6, 9), "Sam", result="lost", reason="price"),
        # lead 3: 14-day cadence, auto reply after 90 s, opts out
        ev("lead_created", 3, at(5, 14), category="sales_inquiry"),
        ev("cadence_started", 3, at(5, 14), cadence="14-day"),
        ev("sent", 3, at(5, 14, 1, 30), automated=True),
        ev("opted_out", 3, at(6, 8)),
        # lead 4: a routine question answered automatically after 30 s
        ev("lead_created", 4, at(7, 8), category="routine_question"),
        ev("sent", 4, at(7, 8, 0, 30), automated=True),
        # lead 5: a complaint, handed off; Dana approves the reply after 2 h
        ev("lead_created", 5, at(8, 8), category="complaint"),
        ev("handoff", 5, at(8, 8), urgent=True),
        ev("draft_created", 5, at(8, 8), decision="approve"),
        ev("draft_approved", 5, at(8, 10), "Dana"),
        ev("sent", 5, at(8, 10), "Dana", automated=False),
        # lead 6 in November
        ev("message_received", 6, at(9, 9), category="status_inquiry"),
        ev("sent", 6, at(9, 9, 1), automated=True),
        ev("outcome", 6, at(12, 9), "Dana", result="won", value="1000"),
        # lead 7: December, outside the period
        ev("lead_created", 7, datetime(2026, 12, 1, 9, tzinfo=UTC), category="sales_inquiry"),
        ev("outcome", 7, datetime(2026, 12, 2, 9, tzinfo=UTC), "Dana", result="won", value="999"),
    ]


def test_every_metric_on_a_synthetic_month() -> None:
    period = parse_period("2026-11-01..2026-11-30", NOV, "UTC")
    m = compute(november(), period)
    assert m.leads == 5  # leads 1-5; 6 is October's, 7 December's
    # automated first replies: 40 s, 90 s, 30 s → sorted 30, 40, 90: p50 = 2nd, p90 = 3rd
    assert (m.first_auto_p50_s, m.first_auto_p90_s) == (40, 90)
    # human first replies: 1 h (lead 1), 1 h (lead 2), 2 h (lead 5)
    assert (m.first_human_p50_s, m.first_human_p90_s) == (3600, 7200)
    # all five were contacted; only lead 1 wrote back after our first message
    assert m.reply_rate == pytest.approx(1 / 5)
    # qualified or further: leads 1 and 2
    assert m.qualification_rate == pytest.approx(2 / 5)
    # handed off: leads 2 and 5
    assert m.handoff_rate == pytest.approx(2 / 5)
    # won: lead 1 of 5 (lead 6's win is October's cohort; lead 7's is December)
    assert m.conversion == pytest.approx(1 / 5) and m.won == 1 and m.lost == 1
    assert m.won_value == Decimal("4500.00")
    # reached contacted 5 (1 won), qualified 2 (1 won), visit scheduled 0, quoted 1 (1 won)
    assert m.stage_reached == {"contacted": 5, "qualified": 2, "visit_scheduled": 0, "quoted": 1}
    assert m.conversion_by_stage == {
        "contacted": pytest.approx(0.2),
        "qualified": pytest.approx(0.5),
        "visit_scheduled": None,
        "quoted": pytest.approx(1.0),
    }
    # speed_to_lead: lead 1 stayed; 14-day: lead 3 opted out
    assert m.opt_out_by_cadence == {"14-day": 1.0, "speed_to_lead": 0.0}
    # first meaningful touch: claim at 30 min (1), claim at 20 min (2), approval at 2 h (5)
    assert (m.first_touch_p50_s, m.first_touch_p90_s) == (1800, 7200)
    # a person acted in 9 quarter-hours: Dana 10:30 2nd, 9:00 3rd, 9:00 5th, 9:00 10th, 10:00 8th,
    # 9:00 12th; Sam 9:15 3rd, 10:00 3rd, 9:00 4th, 9:00 6th → 10 slots = 2.5 h
    assert m.closer_hours == 2.5
    # revenue recorded in November: 4500 (lead 1) + 1000 (lead 6) = 5500 → 5500 / 2.5 h = 2200
    assert m.revenue == Decimal("5500.00") and m.revenue_per_closer_hour == Decimal("2200.00")
    # inbound in November: 1 new + 1 reply, 2, 3, 4, 5, 6's status question = 7 messages; support:
    # lead 4 (answered), lead 5 (escalated), lead 6 (answered) → 2 of 3 without escalation
    assert m.messages == 7 and m.support_messages == 3
    assert m.support_resolved_rate == pytest.approx(2 / 3)
    # needed a person: lead 2's pricing question and lead 5's complaint
    assert m.owner_messages == 2 and m.owner_share == pytest.approx(2 / 7)


def test_compared_with_the_period_before() -> None:
    period = parse_period("2026-11-08..2026-11-14", NOV, "UTC")
    before = period.previous()
    assert before.start == at(1, 0) and before.end == at(8, 0)
    now, prev = compute(november(), period), compute(november(), before)
    assert (now.leads, prev.leads) == (1, 4)  # lead 5 / leads 1-4
    # qualified: none of lead 5 against 2 of 4; lead 1 was won on the 10th, after the week before
    # ended, so that week's conversion is 0 as of its end (figures never change after the fact)
    assert change(now.qualification_rate, prev.qualification_rate) == "(-50 pts)"
    assert prev.conversion == 0 and prev.won_value == 0
    assert change(7200, 40, kind="duration") == "(+2.0 h)"
    assert change(Decimal(1000), Decimal(4500), kind="count") == "(-78%)"
    assert change(None, 0.5) == ""


def test_periods_in_words_and_dates() -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    week = parse_period("", now, "UTC")
    assert (week.start, week.end, week.label) == (now - timedelta(days=7), now, "the last 7 days")
    assert parse_period("30d", now, "UTC").length == timedelta(days=30)
    assert parse_period("2w", now, "UTC").length == timedelta(days=14)
    # whole days in the business's zone: Chicago is UTC-5 in November
    nov = parse_period("2026-11-01..2026-11-30", now, "America/Chicago")
    assert nov.start == datetime(2026, 11, 1, 5, tzinfo=UTC)
    assert nov.end == datetime(2026, 12, 1, 6, tzinfo=UTC)  # DST ended on the 1st at 2:00
    for bad in ("yesterday", "0d", "2026-11-30..2026-11-01", "2026-02-30..2026-03-01", "99999d"):
        with pytest.raises(PeriodError):
            parse_period(bad, now, "UTC")
    # the weekly report's week: Monday to Monday, local
    monday = datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 08:00 in Chicago
    week = week_before(monday, "America/Chicago")
    assert week.start == datetime(2026, 11, 23, 6, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 30, 6, tzinfo=UTC)


def test_stuck_has_one_definition() -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    sla = timedelta(hours=1)

    def state(**kw: object) -> LeadState:
        base: dict[str, object] = {
            "stage": "contacted",
            "owner": "Dana",
            "needs_attention": None,
            "created_at": now - timedelta(days=1),
            "last_activity_at": now - timedelta(hours=2),
        }
        return LeadState(**(base | kw))  # type: ignore[arg-type]

    assert stuck_reason(state(), now, sla) is None
    assert stuck_reason(state(needs_attention="draft waits"), now, sla) == "draft waits"
    assert stuck_reason(state(owner=None), now, sla) == "unclaimed past the SLA"
    assert stuck_reason(state(owner=None, created_at=now - timedelta(minutes=5)), now, sla) is None
    assert stuck_reason(state(last_activity_at=now - timedelta(days=4)), now, sla) == "no activity for 4 days"
    assert stuck_reason(state(stage="won", needs_attention="x"), now, sla) is None
    assert stuck_reason(state(owner=None, opted_out=True), now, sla) is None


def test_empty_log_says_nothing_rather_than_zero() -> None:
    m = compute([])
    assert m.leads == 0 and m.reply_rate is None and percent(m.conversion) == "—"
    assert m.revenue_per_closer_hour is None and m.owner_share is None
    assert duration(None) == "—" and duration(45) == "45 s" and duration(600) == "10 min"
    assert percentile([1, 2, 3, 4], 0.5) == 2 and percentile([5], 0.9) == 5
