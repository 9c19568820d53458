"""Visit reminders, pure: steps timed back from the booked visit in the lead's zone (the evening
before at 18:00, two hours before), across daylight-saving changes, out of quiet hours, skipped
rather than sent late; rescheduling moves them, cancelling / STOP / Lost / the visit time end them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sheepdog.config import load_settings
from sheepdog.domain import cadence as rules
from sheepdog.domain.cadence import CadenceDef, CadenceState, Run, Step, Window
from sheepdog.domain.followup import followup_line, visit_words
from sheepdog.domain.guardrails import check_draft
from sheepdog.domain.models import Category, Channel, Triage

SETTINGS = load_settings()
CADENCES = SETTINGS.followup.to_domain()
STAGES = SETTINGS.followup.stages
REMIND = CADENCES["visit_reminder"]
CHI = "America/Chicago"
DAY = Window(CHI, time(21), time(8))  # the shipped quiet hours, 21:00-08:00
ALWAYS = Window(CHI, time(0), time(0))  # no quiet hours: the timing alone


def chi(y: int, mo: int, d: int, h: int, mi: int = 0, tz: str = CHI) -> datetime:
    """A wall-clock time in `tz`, as UTC."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def planned(visit: datetime, booked: datetime, window: Window = DAY, defn: CadenceDef = REMIND) -> Run:
    change = rules.start(defn, booked, window, why="visit booked", visit_at=visit)
    assert change.event == "cadence_started" and change.run.state == CadenceState.ACTIVE
    return change.run


# (case, visit (Chicago wall clock), booked at, expected: (step, next touch) — None: no reminder left)
TIMING = [
    (
        "9:00 visit, booked two days ahead: the evening before at 18:00",
        chi(2026, 12, 3, 9),
        chi(2026, 12, 1, 10),
        (0, chi(2026, 12, 2, 18)),
    ),
    (
        "booked at 22:00 the night before: 18:00 has passed, skipped; 07:00 is quiet, so 08:00",
        chi(2026, 12, 3, 9),
        chi(2026, 12, 2, 22),
        (1, chi(2026, 12, 3, 8)),
    ),
    (
        "an 8:30 visit: 06:30 is quiet and 08:00 is too close to the visit: no second reminder",
        chi(2026, 12, 3, 8, 30),
        chi(2026, 12, 2, 22),
        None,
    ),
    (
        "an afternoon visit booked that morning: two hours before",
        chi(2026, 12, 3, 14),
        chi(2026, 12, 3, 9),
        (1, chi(2026, 12, 3, 12)),
    ),
    (
        "booked one hour before the visit: every reminder's moment has passed",
        chi(2026, 12, 3, 14),
        chi(2026, 12, 3, 13),
        None,
    ),
    (
        "a 23:30 visit: 21:30 is quiet, so the last allowed quarter hour before it that day",
        chi(2026, 12, 3, 23, 30),
        chi(2026, 12, 3, 19),
        (1, chi(2026, 12, 3, 20, 45)),
    ),
    (
        "March change: Sunday 18:00 CDT, the evening before a Monday visit",
        chi(2026, 3, 9, 9),
        chi(2026, 3, 6, 10),
        (0, datetime(2026, 3, 8, 23, 0, tzinfo=UTC)),
    ),
    (
        "November change: Sunday 18:00 CST, the evening before a Monday visit",
        chi(2026, 11, 2, 9),
        chi(2026, 10, 30, 10),
        (0, datetime(2026, 11, 2, 0, 0, tzinfo=UTC)),
    ),
]


@pytest.mark.parametrize(("case", "visit", "booked", "expected"), TIMING, ids=[t[0][:40] for t in TIMING])
def test_reminders_are_timed_back_from_the_visit(
    case: str, visit: datetime, booked: datetime, expected: tuple[int, datetime] | None
) -> None:
    run = planned(visit, booked)
    if expected is None:  # nothing left to send: the run waits for the visit itself, which ends it
        assert (run.step, run.next_at) == (len(REMIND.steps), visit), case
    else:
        assert (run.step, run.next_at) == expected, case
        assert rules.allowed(run.next_at, DAY) and booked < run.next_at < visit


def test_exact_hours_are_elapsed_time_across_the_march_change() -> None:
    """Twelve hours before Sunday 12:00 CDT is Saturday 23:00 CST: 13 wall-clock hours, 12 real."""
    defn = CadenceDef("r", (Step(0, "visit_reminder", before_h=12),), frozenset())
    visit = chi(2026, 3, 8, 12)
    run = planned(visit, chi(2026, 3, 6, 10), ALWAYS, defn)
    assert run.next_at == visit - timedelta(hours=12) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert run.next_at.astimezone(ZoneInfo(CHI)).hour == 23


def test_a_day_before_time_the_spring_change_skips_moves_forward_by_the_gap() -> None:
    defn = CadenceDef("r", (Step(0, "visit_reminder", before_d=1, at=time(2, 30)),), frozenset())
    run = planned(chi(2026, 3, 9, 9), chi(2026, 3, 6, 10), ALWAYS, defn)
    assert run.next_at == datetime(2026, 3, 8, 8, 30, tzinfo=UTC)  # 03:30 CDT: 02:30 never happened
    autumn = planned(
        chi(2026, 11, 2, 9),
        chi(2026, 10, 30, 10),
        ALWAYS,
        replace(defn, steps=(Step(0, "visit_reminder", before_d=1, at=time(1, 30)),)),
    )
    assert autumn.next_at == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # the first 01:30 (CDT)


def test_the_evening_before_is_the_leads_evening() -> None:
    """A lead in Berlin, a business in Chicago: 18:00 in Berlin the day before their visit."""
    berlin = Window("Europe/Berlin", time(21), time(8))
    visit = chi(2026, 12, 3, 17, tz="Europe/Berlin")
    run = planned(visit, chi(2026, 12, 1, 10), berlin)
    assert run.next_at == chi(2026, 12, 2, 18, tz="Europe/Berlin") == datetime(2026, 12, 2, 17, tzinfo=UTC)


def test_a_visit_reminder_walks_and_ends_at_the_visit() -> None:
    visit = chi(2026, 12, 3, 14)
    run = planned(visit, chi(2026, 12, 1, 10))
    first = rules.advance(run, REMIND, run.next_at, DAY, expect_step=0)
    assert first is not None and first.event == "cadence_touch" and first.fire is REMIND.steps[0]
    assert (first.run.step, first.run.next_at) == (1, chi(2026, 12, 3, 12))
    assert rules.advance(first.run, REMIND, run.next_at, DAY, expect_step=0) is None  # never twice
    second = rules.advance(first.run, REMIND, chi(2026, 12, 3, 12), DAY, expect_step=1)
    assert second is not None and second.fired_step == 1
    assert (second.run.step, second.run.next_at, second.run.state) == (2, visit, CadenceState.ACTIVE)
    assert rules.advance(second.run, REMIND, visit - timedelta(minutes=1), DAY) is None
    end = rules.advance(second.run, REMIND, visit, DAY)
    assert end is not None and end.fire is None and end.run.state == CadenceState.DONE
    assert end.withdraw and end.data["reason"] == "the visit time came"  # an unapproved reminder goes


def test_after_downtime_only_the_latest_reminder_goes_and_never_after_the_visit() -> None:
    visit = chi(2026, 12, 3, 14)
    run = planned(visit, chi(2026, 12, 1, 10))
    back = rules.advance(run, REMIND, chi(2026, 12, 3, 12, 10), DAY, expect_step=0)
    assert back is not None and back.fired_step == 1 and back.data["skipped"] == 1
    assert back.run.step == 2 and back.run.next_at == visit
    gone = rules.advance(run, REMIND, visit + timedelta(hours=1), DAY, expect_step=0)
    assert gone is not None and gone.fire is None and gone.run.state == CadenceState.DONE and gone.withdraw
    # Late by more than half its lead time (12:00 reminder at 13:10 for a 14:00 visit): skipped.
    one = replace(run, step=1, next_at=chi(2026, 12, 3, 12))
    stale = rules.advance(one, REMIND, chi(2026, 12, 3, 13, 10), DAY, expect_step=1)
    assert stale is not None and stale.fire is None and stale.event == "cadence_skipped"
    assert stale.data["reason"] == "too close to the visit" and stale.run.next_at == visit


def test_a_reminder_that_finds_quiet_hours_is_skipped_not_deferred() -> None:
    visit = chi(2026, 12, 3, 9)
    run = planned(visit, chi(2026, 12, 1, 10))
    late = rules.advance(run, REMIND, chi(2026, 12, 2, 21, 30), DAY, expect_step=0)
    assert late is not None and late.fire is None and late.data["reason"] == "quiet hours"
    assert (late.run.step, late.run.next_at) == (1, chi(2026, 12, 3, 8))


def test_rescheduling_moves_the_reminders_and_withdraws_the_old_ones() -> None:
    visit = chi(2026, 12, 3, 14)
    run = planned(visit, chi(2026, 12, 1, 10))
    sent = rules.advance(run, REMIND, run.next_at, DAY).run  # the evening-before reminder went
    moved = rules.on_visit(
        replace(sent, visit_at=chi(2026, 12, 10, 9)), REMIND, STAGES, CADENCES, chi(2026, 12, 2, 19), DAY
    )
    assert moved is not None and moved.event == "cadence_visit_moved" and moved.withdraw
    assert (moved.run.step, moved.run.next_at) == (0, chi(2026, 12, 9, 18))  # from the first step again
    done = replace(sent, state=CadenceState.DONE, next_at=None, visit_at=chi(2026, 12, 10, 9))
    again = rules.on_visit(done, REMIND, STAGES, CADENCES, chi(2026, 12, 4, 10), DAY)
    assert (
        again is not None and again.event == "cadence_started" and again.run.next_at == chi(2026, 12, 9, 18)
    )
    off = {**STAGES, "visit_scheduled": "none"}
    assert rules.on_visit(Run(visit_at=visit), None, off, CADENCES, chi(2026, 12, 1, 10), DAY) is None


def test_a_visit_without_a_time_waits_for_one() -> None:
    waiting = rules.on_stage(
        Run(), None, "contacted", "visit_scheduled", STAGES, CADENCES, chi(2026, 12, 1, 10), DAY
    )
    assert (
        waiting is not None and waiting.run.next_at is None and waiting.data["waits_for"] == "the visit time"
    )
    assert (
        followup_line(waiting.run, REMIND, CHI, "sms")
        == "Follow-up: visit reminder, waits for the visit time"
    )
    timed = rules.on_visit(
        replace(waiting.run, visit_at=chi(2026, 12, 3, 9)),
        REMIND,
        STAGES,
        CADENCES,
        chi(2026, 12, 1, 11),
        DAY,
    )
    assert timed is not None and timed.run.next_at == chi(2026, 12, 2, 18)
    line = followup_line(timed.run, REMIND, CHI, "sms", chi(2026, 12, 1, 11))
    assert line == "Follow-up: visit reminder, next touch Wed 18:00 by SMS"


ACTIVE_RUN = Run(
    "visit_reminder",
    CadenceState.ACTIVE,
    0,
    chi(2026, 12, 1, 10),
    chi(2026, 12, 2, 18),
    visit_at=chi(2026, 12, 3, 9),
)
STOPS = [
    # (what happens, expected: (event, cadence after, state after) or None: the reminders go on)
    ("reply", None),  # "thanks, see you then" keeps them
    ("booking", None),
    ("opt_out", ("cadence_stopped", "visit_reminder", "stopped")),
    ("cancellation", ("cadence_stopped", "visit_reminder", "stopped")),
    ("complaint", ("cadence_stopped", "visit_reminder", "stopped")),
    ("bounce", ("cadence_stopped", "visit_reminder", "stopped")),
    ("stage:lost", ("cadence_stopped", "visit_reminder", "stopped")),
    ("stage:quoted", ("cadence_switched", "post_quote", "active")),
    ("stage:won", ("cadence_switched", "post_service", "active")),
    ("stage:qualified", ("cadence_stopped", "visit_reminder", "stopped")),
    ("visit cancelled", ("cadence_stopped", "visit_reminder", "stopped")),
]


@pytest.mark.parametrize(("what", "expected"), STOPS)
def test_what_stops_a_visit_reminder(what: str, expected: tuple[str, str, str] | None) -> None:
    now = chi(2026, 12, 1, 12)
    if what.startswith("stage:"):
        change = rules.on_stage(ACTIVE_RUN, REMIND, "visit_scheduled", what[6:], STAGES, CADENCES, now, DAY)
    elif what == "visit cancelled":
        change = rules.cancel_visit(ACTIVE_RUN, REMIND)
    else:
        change = rules.react(ACTIVE_RUN, REMIND, what, now, DAY, CADENCES)
    if expected is None:
        assert change is None
        return
    assert change is not None and (change.event, change.run.cadence, change.run.state) == expected
    assert change.withdraw


def test_pause_and_resume_skip_what_passed_meanwhile() -> None:
    paused = rules.pause(ACTIVE_RUN, "paused by Dana")
    assert paused is not None
    resumed = rules.resume(paused.run, REMIND, chi(2026, 12, 2, 19), DAY, None)
    assert resumed is not None and (resumed.run.step, resumed.run.next_at) == (1, chi(2026, 12, 3, 8))


def test_the_reminder_confirms_the_booked_time_and_guardrails_hold_any_other() -> None:
    visit, now = chi(2026, 12, 3, 9), chi(2026, 12, 2, 18)
    words = visit_words(visit, now, CHI)
    assert words == "tomorrow, Thursday 3 December at 9:00 am"
    assert visit_words(visit, chi(2026, 12, 3, 7), CHI) == "today at 9:00 am"
    assert visit_words(visit, chi(2026, 11, 30, 7), CHI) == "Thursday 3 December at 9:00 am"
    business, triage = SETTINGS.business.to_domain(), Triage(Category.SALES_INQUIRY, 1.0)

    def reasons(text: str, booked: str | None = words) -> tuple[str, ...]:
        return check_draft(
            text, business, inbound_text="", triage=triage, channel=Channel.SMS, max_chars=None, booked=booked
        ).reasons

    booked = f"A quick reminder that your visit is booked for {words}."
    assert reasons(booked) == ()
    assert reasons(booked.replace("tomorrow, ", "")) == ()  # the date without "tomorrow"
    assert reasons(booked, None)  # without the booking, a date is a promise
    assert reasons("Your visit is booked for Friday 4 December at 10:00 am.")  # not the booked time
    assert reasons(f"{booked} We'll be there by 8:30 am, guaranteed.")  # nothing beyond it
