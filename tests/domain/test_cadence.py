"""The cadence clock: due times, stop rules and quiet hours in the lead's zone."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sheepdog.domain.cadence import (
    CadenceDef,
    Step,
    Window,
    due_at,
    next_allowed,
    stage_change_stops,
    stop_reason,
)
from sheepdog.domain.models import BusinessHours, Category, Signal, SignalName, Triage

SPEED = CadenceDef(
    "speed_to_lead",
    (Step(0, "first_reply"), Step(24, "follow_up"), Step(72, "final_outreach", approval=True)),
    frozenset({"reply", "booking", "opt_out", "complaint", "stage_change"}),
)
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_steps_are_due_at_their_hours() -> None:
    assert due_at(SPEED, START, 1) == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert due_at(SPEED, START, 2) == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    assert due_at(SPEED, START, 3) is None


def test_what_stops_a_cadence() -> None:
    assert stop_reason(SPEED, Triage(Category.LEAD_REPLY, 0.9), is_reply=True) == "the lead replied"
    assert stop_reason(SPEED, Triage(Category.OPT_OUT, 1.0), is_reply=True) == "opted out"
    frustrated = Triage(Category.ROUTINE_QUESTION, 0.9, (Signal(SignalName.FRUSTRATED, 0.9),))
    assert stop_reason(SPEED, frustrated, is_reply=True) == "complaint"
    assert stop_reason(SPEED, Triage(Category.BOOKING, 0.9), is_reply=True) == "asked to book"
    assert stop_reason(SPEED, Triage(Category.OTHER, 0.9), is_reply=False) is None
    assert stage_change_stops(SPEED, "contacted", "quoted") == "stage changed from contacted to quoted"
    only_optout = CadenceDef("x", SPEED.steps, frozenset({"opt_out"}))
    assert stop_reason(only_optout, Triage(Category.LEAD_REPLY, 0.9), is_reply=True) is None
    assert stage_change_stops(only_optout, "new", "quoted") is None


def test_quiet_hours_move_a_touch_to_the_morning_in_the_leads_zone() -> None:
    window = Window("America/Chicago", time(21), time(8))
    late = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 22:30 in Chicago
    moved = next_allowed(late, window)
    assert moved == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # 08:00 Chicago
    noon = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    assert next_allowed(noon, window) == noon


def test_business_hours_only_skips_closed_days() -> None:
    hours = BusinessHours(
        {
            0: (time(8), time(18)),
            1: (time(8), time(18)),
            2: (time(8), time(18)),
            3: (time(8), time(18)),
            4: (time(8), time(17)),
        }
    )
    window = Window("America/Chicago", time(21), time(8), hours)
    saturday = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # Saturday 11:00 in Chicago
    moved = next_allowed(saturday, window)
    assert moved.astimezone(window_zone()).weekday() == 0 and moved.astimezone(window_zone()).hour == 8


def window_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/Chicago")
