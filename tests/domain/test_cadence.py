"""The follow-up state machine: due times, every stop/switch rule of the shipped cadences (a
table), daylight-saving changes in America/Chicago, quiet hours in the lead's zone (a lead in
Europe/Berlin while the business is in America/Chicago), and catch-up after downtime."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sheepdog.config import load_settings
from sheepdog.domain import cadence as rules
from sheepdog.domain.cadence import (
    CadenceDef,
    CadenceState,
    Run,
    Step,
    Window,
    add_days,
    advance,
    allowed,
    begin_clock,
    due_at,
    next_allowed,
    on_stage,
    react,
    start,
    stop_reason,
)
from sheepdog.domain.followup import followup_line
from sheepdog.domain.models import BusinessHours, Category, Signal, SignalName, Triage

SETTINGS = load_settings()
CADENCES = SETTINGS.followup.to_domain()
STAGES = SETTINGS.followup.stages
SPEED = CADENCES["speed_to_lead"]
CHICAGO = ZoneInfo("America/Chicago")
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tue 09:00 in Chicago
DAY = Window("America/Chicago", time(21), time(8))


def local(at: datetime, tz: str = "America/Chicago") -> datetime:
    return at.astimezone(ZoneInfo(tz))


def active(name: str, step: int = 1, started: datetime = START) -> Run:
    defn = CADENCES[name]
    return Run(name, CadenceState.ACTIVE, step, started, due_at(defn, started, step, DAY))


def test_steps_are_due_at_their_hours() -> None:
    assert due_at(SPEED, START, 1) == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert due_at(SPEED, START, 2) == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    assert due_at(SPEED, START, 3) is None


def test_the_six_cadences_ship_as_configured() -> None:
    assert set(CADENCES) == {
        "speed_to_lead",
        "fourteen_day",
        "abandoned_cart",
        "post_quote",
        "post_service",
        "visit_reminder",
    }
    fourteen = CADENCES["fourteen_day"]
    assert [s.days for s in fourteen.steps] == [0, 1, 3, 7, 14]
    assert fourteen.repeat is not None and fourteen.repeat.template == "nurture" and fourteen.touches == 11
    dates = [local(due_at(fourteen, START, i)).date().isoformat() for i in (4, 5, 6)]
    assert dates == ["2026-12-08", "2027-01-07", "2027-02-06"]  # day 14, then monthly
    assert due_at(fourteen, START, 11) is None  # the monthly touch has a limit
    cart = CADENCES["abandoned_cart"]
    assert len(cart.steps) == 3 and cart.steps[2].incentive and not any(s.incentive for s in cart.steps[:2])
    assert (cart.steps[2].days or 0) <= 5
    assert [s.days for s in CADENCES["post_quote"].steps] == [2, 5, 10]
    assert [s.template for s in CADENCES["post_service"].steps] == ["review_request"]
    assert SPEED.steps[2].approval and not SPEED.steps[1].approval


# --- the rules, as a table -------------------------------------------------------------------

CONTINUES = None
EVENT_RULES = [
    # (cadence, state, event, expected: (event logged, cadence after, state after) or None)
    ("speed_to_lead", CadenceState.ACTIVE, "reply", ("cadence_stopped", "speed_to_lead", "stopped")),
    ("speed_to_lead", CadenceState.ACTIVE, "booking", ("cadence_stopped", "speed_to_lead", "stopped")),
    ("speed_to_lead", CadenceState.ACTIVE, "opt_out", ("cadence_stopped", "speed_to_lead", "stopped")),
    ("speed_to_lead", CadenceState.ACTIVE, "complaint", ("cadence_stopped", "speed_to_lead", "stopped")),
    ("speed_to_lead", CadenceState.ACTIVE, "cancellation", ("cadence_stopped", "speed_to_lead", "stopped")),
    ("speed_to_lead", CadenceState.ACTIVE, "bounce", ("cadence_stopped", "speed_to_lead", "stopped")),
    ("speed_to_lead", CadenceState.PAUSED, "reply", ("cadence_stopped", "speed_to_lead", "stopped")),
    ("speed_to_lead", CadenceState.DONE, "reply", ("", "speed_to_lead", "done")),  # withdraws only
    ("speed_to_lead", CadenceState.STOPPED, "reply", CONTINUES),
    ("fourteen_day", CadenceState.ACTIVE, "reply", ("cadence_stopped", "fourteen_day", "stopped")),
    ("fourteen_day", CadenceState.ACTIVE, "booking", ("cadence_stopped", "fourteen_day", "stopped")),
    ("abandoned_cart", CadenceState.ACTIVE, "reply", ("cadence_stopped", "abandoned_cart", "stopped")),
    ("abandoned_cart", CadenceState.ACTIVE, "opt_out", ("cadence_stopped", "abandoned_cart", "stopped")),
    ("post_quote", CadenceState.ACTIVE, "reply", ("cadence_stopped", "post_quote", "stopped")),
    ("post_quote", CadenceState.ACTIVE, "booking", ("cadence_stopped", "post_quote", "stopped")),
    ("post_quote", CadenceState.ACTIVE, "complaint", ("cadence_stopped", "post_quote", "stopped")),
    ("post_quote", CadenceState.ACTIVE, "opt_out", ("cadence_stopped", "post_quote", "stopped")),
    ("post_service", CadenceState.ACTIVE, "reply", ("cadence_stopped", "post_service", "stopped")),
    (
        "post_service",
        CadenceState.ACTIVE,
        "booking",
        CONTINUES,
    ),  # a booking is no reason to skip the review ask
    ("post_service", CadenceState.ACTIVE, "complaint", ("cadence_stopped", "post_service", "stopped")),
    ("post_service", CadenceState.ACTIVE, "opt_out", ("cadence_stopped", "post_service", "stopped")),
    ("post_service", CadenceState.ACTIVE, "cancellation", ("cadence_stopped", "post_service", "stopped")),
]


@pytest.mark.parametrize(("name", "state", "event", "expected"), EVENT_RULES)
def test_every_event_rule(name: str, state: CadenceState, event: str, expected: tuple | None) -> None:
    run = replace(active(name), state=state)
    change = react(run, CADENCES[name], event, START, DAY, CADENCES)
    if expected is None:
        assert change is None
        return
    assert change is not None
    assert (change.event, change.run.cadence, change.run.state) == expected
    assert change.withdraw  # what the old run wrote but did not send goes with it


def test_an_event_can_switch_to_another_cadence_and_opt_out_always_stops() -> None:
    booking_to_review = replace(SPEED, switch_on={"booking": "post_service", "opt_out": "post_quote"})
    change = react(active("speed_to_lead"), booking_to_review, "booking", START, DAY, CADENCES)
    assert change is not None and change.event == "cadence_switched"
    assert (change.run.cadence, change.run.state, change.run.step) == ("post_service", "active", 0)
    assert change.data == {"from": "speed_to_lead", "to": "post_service", "reason": "asked to book"}
    opt = react(active("speed_to_lead"), booking_to_review, "opt_out", START, DAY, CADENCES)
    assert opt is not None and opt.run.state == CadenceState.STOPPED  # no configuration keeps it going


STAGE_RULES = [
    # (cadence running or None, its state, old stage, new stage, expected (event, cadence, state) or None)
    (
        "speed_to_lead",
        CadenceState.ACTIVE,
        "contacted",
        "quoted",
        ("cadence_switched", "post_quote", "active"),
    ),
    (
        "speed_to_lead",
        CadenceState.ACTIVE,
        "contacted",
        "won",
        ("cadence_switched", "post_service", "active"),
    ),
    (
        "speed_to_lead",
        CadenceState.ACTIVE,
        "contacted",
        "lost",
        ("cadence_stopped", "speed_to_lead", "stopped"),
    ),
    (
        "speed_to_lead",
        CadenceState.ACTIVE,
        "contacted",
        "visit_scheduled",
        ("cadence_switched", "visit_reminder", "active"),  # waits for the visit time (none given here)
    ),
    (
        "speed_to_lead",
        CadenceState.ACTIVE,
        "contacted",
        "qualified",
        ("cadence_stopped", "speed_to_lead", "stopped"),
    ),
    (
        "speed_to_lead",
        CadenceState.PAUSED,
        "contacted",
        "quoted",
        ("cadence_switched", "post_quote", "active"),
    ),
    (
        "speed_to_lead",
        CadenceState.STOPPED,
        "contacted",
        "quoted",
        ("cadence_started", "post_quote", "active"),
    ),
    ("speed_to_lead", CadenceState.DONE, "contacted", "won", ("cadence_started", "post_service", "active")),
    (None, None, "new", "quoted", ("cadence_started", "post_quote", "active")),
    (None, None, "new", "lost", None),
    ("post_quote", CadenceState.ACTIVE, "quoted", "won", ("cadence_switched", "post_service", "active")),
    ("post_quote", CadenceState.ACTIVE, "quoted", "lost", ("cadence_stopped", "post_quote", "stopped")),
    ("post_quote", CadenceState.ACTIVE, "quoted", "qualified", None),  # post-quote ignores unmapped stages
    ("post_quote", CadenceState.ACTIVE, "visit_scheduled", "quoted", None),  # already post-quote
    ("post_service", CadenceState.ACTIVE, "won", "lost", ("cadence_stopped", "post_service", "stopped")),
    ("speed_to_lead", CadenceState.ACTIVE, "quoted", "quoted", None),
]


@pytest.mark.parametrize(("name", "state", "old", "new", "expected"), STAGE_RULES)
def test_every_stage_rule(
    name: str | None, state: CadenceState | None, old: str, new: str, expected: tuple | None
) -> None:
    run = replace(active(name), state=state) if name else Run()
    change = on_stage(run, CADENCES.get(name or ""), old, new, STAGES, CADENCES, START, DAY)
    if expected is None:
        assert change is None
        return
    assert change is not None
    assert (change.event, change.run.cadence, change.run.state) == expected
    if change.run.state == CadenceState.ACTIVE:  # a stage's cadence counts from the change
        assert change.run.started_at == START and change.run.step == 0


def test_keep_leaves_the_cadence_alone() -> None:
    stages = {**STAGES, "qualified": "keep"}
    assert (
        on_stage(active("speed_to_lead"), SPEED, "contacted", "qualified", stages, CADENCES, START, DAY)
        is None
    )


def test_what_a_message_means_to_a_cadence() -> None:
    assert stop_reason(SPEED, Triage(Category.LEAD_REPLY, 0.9), is_reply=True) == "the lead replied"
    assert stop_reason(SPEED, Triage(Category.OPT_OUT, 1.0), is_reply=True) == "opted out"
    frustrated = Triage(Category.ROUTINE_QUESTION, 0.9, (Signal(SignalName.FRUSTRATED, 0.9),))
    assert stop_reason(SPEED, frustrated, is_reply=True) == "complaint"
    assert stop_reason(SPEED, Triage(Category.BOOKING, 0.9), is_reply=True) == "asked to book"
    assert stop_reason(SPEED, Triage(Category.OTHER, 0.9), is_reply=False) is None
    only_optout = CadenceDef("x", SPEED.steps, frozenset({"opt_out"}))
    assert stop_reason(only_optout, Triage(Category.LEAD_REPLY, 0.9), is_reply=True) is None


def test_a_step_can_add_its_own_stop_event() -> None:
    defn = CadenceDef(
        "x", (Step(0, "first_reply"), Step(24, "follow_up", stop_on=frozenset({"booking"}))), frozenset()
    )
    early, later = active("speed_to_lead", 1), active("speed_to_lead", 2)
    assert react(replace(early, cadence="x"), defn, "booking", START, DAY, CADENCES) is None
    assert react(replace(later, cadence="x"), defn, "booking", START, DAY, CADENCES).run.state == "stopped"


# --- the walk of one cadence -------------------------------------------------------------------


def test_speed_to_lead_waits_for_the_first_reply_then_walks_its_steps() -> None:
    started = start(SPEED, START, DAY, first_reply_now=True)
    assert (started.run.state, started.run.step, started.run.next_at) == ("active", 1, None)
    assert advance(started.run, SPEED, START + timedelta(days=9), DAY) is None  # no clock yet
    clock = begin_clock(started.run, SPEED, START, DAY)
    assert clock is not None and clock.run.next_at == START + timedelta(hours=24)
    assert advance(clock.run, SPEED, START + timedelta(hours=23), DAY) is None
    first = advance(clock.run, SPEED, START + timedelta(hours=24), DAY)
    assert first is not None and first.fire.template == "follow_up" and first.fired_step == 1
    assert advance(first.run, SPEED, START + timedelta(hours=24), DAY, expect_step=1) is None  # once
    final = advance(first.run, SPEED, START + timedelta(hours=72), DAY)
    assert final.fire.template == "final_outreach" and final.fire.approval
    assert final.run.state == CadenceState.DONE and final.run.next_at is None


def test_pause_and_resume_keep_the_step() -> None:
    run = active("speed_to_lead")
    paused = rules.pause(run, "paused by Dana")
    assert paused.run.state == "paused" and rules.pause(paused.run, "again") is None
    later = START + timedelta(hours=30)  # past the 24 h touch: it goes now, not lost
    resumed = rules.resume(paused.run, SPEED, later, DAY, None)
    assert resumed.run.state == "active" and resumed.run.step == 1 and resumed.run.next_at == later


# --- daylight saving (America/Chicago: 8 March and 1 November 2026) ---------------------------


def test_a_day_step_keeps_the_local_time_across_the_march_change() -> None:
    sat = datetime(2026, 3, 7, 16, 0, tzinfo=UTC)  # Sat 10:00 CST (UTC-6)
    sun = add_days(sat, 1, "America/Chicago")
    assert local(sun).hour == 10 and local(sun).day == 8 and sun - sat == timedelta(hours=23)
    hours_step = CadenceDef("h", (Step(24, "follow_up"),), frozenset())
    assert local(due_at(hours_step, sat, 0)).hour == 11  # exact hours: 24 h later is 11:00 CDT
    gap = add_days(datetime(2026, 3, 7, 8, 30, tzinfo=UTC), 1, "America/Chicago")  # 02:30 does not exist
    assert local(gap).hour == 3 and local(gap).minute == 30


def test_a_day_step_keeps_the_local_time_across_the_november_change() -> None:
    sat = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)  # Sat 10:00 CDT (UTC-5)
    sun = add_days(sat, 1, "America/Chicago")
    assert local(sun).hour == 10 and sun - sat == timedelta(hours=25)
    twice = add_days(datetime(2026, 10, 31, 6, 30, tzinfo=UTC), 1, "America/Chicago")  # 01:30 happens twice
    assert twice == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # the first one (CDT)


@pytest.mark.parametrize(
    ("night", "morning"),
    [
        (
            datetime(2026, 3, 8, 10, 0, tzinfo=UTC),
            datetime(2026, 3, 8, 13, 0, tzinfo=UTC),
        ),  # 05:00 CDT → 08:00 CDT
        (
            datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
            datetime(2026, 3, 8, 13, 0, tzinfo=UTC),
        ),  # 01:30 CST, before the jump
        (
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
            datetime(2026, 11, 1, 14, 0, tzinfo=UTC),
        ),  # 01:30 CDT → 08:00 CST
        (
            datetime(2026, 11, 1, 7, 30, tzinfo=UTC),
            datetime(2026, 11, 1, 14, 0, tzinfo=UTC),
        ),  # 01:30 CST (again)
    ],
)
def test_quiet_hours_end_at_eight_local_on_the_change_days(night: datetime, morning: datetime) -> None:
    assert not allowed(night, DAY)
    assert next_allowed(night, DAY) == morning and local(morning).hour == 8


# --- quiet hours in the lead's zone --------------------------------------------------------------


def test_quiet_hours_are_the_leads_in_berlin_while_the_business_is_in_chicago() -> None:
    berlin = Window("Europe/Berlin", time(21), time(8), None, "America/Chicago")
    afternoon_in_chicago = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # 15:00 Chicago, 22:00 Berlin
    assert allowed(afternoon_in_chicago, DAY) and not allowed(afternoon_in_chicago, berlin)
    moved = next_allowed(afternoon_in_chicago, berlin)
    assert local(moved, "Europe/Berlin").hour == 8 and moved == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    # keeping to the business's hours too: 08:00 Berlin is 01:00 in Chicago, closed; the first
    # moment both allow is 08:00 in Chicago (15:00 in Berlin)
    hours = BusinessHours({d: (time(8), time(18)) for d in range(5)})
    both = replace(berlin, business_hours=hours)
    moved = next_allowed(afternoon_in_chicago, both)
    assert local(moved).hour == 8 and local(moved, "Europe/Berlin").hour == 15
    # a touch due in Berlin's night fires in the morning there, however it was planned
    run = Run("speed_to_lead", CadenceState.ACTIVE, 1, START, afternoon_in_chicago)
    deferred = advance(run, SPEED, afternoon_in_chicago, berlin)
    assert deferred.event == "cadence_deferred" and deferred.fire is None
    assert deferred.run.next_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def test_business_hours_only_skips_closed_days() -> None:
    hours = BusinessHours({d: (time(8), time(18) if d < 4 else time(17)) for d in range(5)})
    window = Window("America/Chicago", time(21), time(8), hours)
    saturday = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # Saturday 11:00 in Chicago
    moved = next_allowed(saturday, window)
    assert local(moved).weekday() == 0 and local(moved).hour == 8


# --- catch-up after downtime -----------------------------------------------------------------


def test_catch_up_sends_one_touch_and_keeps_the_spacing() -> None:
    run = active("speed_to_lead")  # follow-up due at +24 h, final at +72 h
    back = START + timedelta(hours=80)  # the workers were down for two days
    first = advance(run, SPEED, back, DAY)
    assert first.fire.template == "follow_up" and first.data["late_s"] == 56 * 3600
    assert first.run.next_at == back + timedelta(hours=48)  # not at once: 48 h as the cadence meant
    assert advance(first.run, SPEED, back + timedelta(minutes=1), DAY) is None
    assert rules.spread(3, 60) == [0.0, 0.5, 1.0]
    assert len(rules.spread(10_000, 60)) == 120  # the rest wait for the next tick


def test_catch_up_never_lands_in_the_leads_night() -> None:
    berlin = Window("Europe/Berlin", time(21), time(8))
    run = active("speed_to_lead")
    back = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # midnight in Berlin
    deferred = advance(run, SPEED, back, berlin)
    assert deferred.fire is None and local(deferred.run.next_at, "Europe/Berlin").hour == 8


# --- the card line ---------------------------------------------------------------------------


def test_the_follow_up_line() -> None:
    thu_10 = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    run = Run("post_quote", CadenceState.ACTIVE, 0, START, thu_10)
    line = followup_line(run, CADENCES["post_quote"], "America/Chicago", "sms", START)
    assert line == "Follow-up: post-quote, next touch Thu 10:00 by SMS"
    assert followup_line(Run(), None, "America/Chicago", "sms") is None
    stopped = Run("speed_to_lead", CadenceState.STOPPED, 1, START, None, "the lead replied")
    assert (
        followup_line(stopped, SPEED, "UTC", "email")
        == "Follow-up: speed-to-lead, stopped (the lead replied)"
    )
    waiting = Run("speed_to_lead", CadenceState.ACTIVE, 1)
    assert followup_line(waiting, SPEED, "UTC", "email") == (
        "Follow-up: speed-to-lead, starts when the first reply goes out"
    )


def test_learning_the_leads_zone_moves_a_touch_out_of_their_night() -> None:
    berlin = Window("Europe/Berlin", time(21), time(8))
    run = Run("speed_to_lead", CadenceState.ACTIVE, 1, START, datetime(2026, 11, 25, 21, 0, tzinfo=UTC))
    moved = rules.replan(run, berlin)  # 15:00 in Chicago is 22:00 in Berlin
    assert moved is not None and moved.run.next_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert rules.replan(run, DAY) is None  # fine where it was
