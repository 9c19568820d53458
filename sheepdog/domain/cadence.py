"""The follow-up state machine: one place that knows what a cadence is, when its next touch is
due, and what a reply, an opt-out or a stage change does to it.

Cadences are data (config): steps at a delay after the cadence started (hours, exact; or days,
the same wall-clock time in the lead's zone, so a "day 3, 10:00" touch stays at 10:00 across a
daylight-saving change). Transitions are pure: they take the lead's cadence `Run` and return a
`Change` (the new run, the event to log, whether unsent touches are now stale); handlers and jobs
apply it and never write a state string themselves. "24 h after what?" is answered here alone:
after our first reply actually went out (a reply held for approval starts the clock when sent),
or after the switch that started the cadence.

No automated touch lands in the lead's quiet hours (or, if asked, outside the business's hours):
a touch is planned in an allowed moment and checked again when it fires and when it is sent.

A visit reminder cadence counts its steps back from the booked visit instead (`before_h` hours
before it, or `before_d` days before at a wall-clock time `at` in the lead's zone). Such a touch
is never sent late: a reminder whose moment has passed when the visit is booked is skipped, one
that falls in quiet hours moves earlier the same day (or later, while still well ahead of the
visit) or is skipped, and the visit time arriving ends the cadence and withdraws what is unsent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sheepdog.domain.models import BusinessHours, Category, SignalName, Triage


class CadenceState(StrEnum):
    ACTIVE = "active"  # touches are planned (its clock may still wait for the first reply)
    PAUSED = "paused"  # a person paused it; resume picks up where it was
    STOPPED = "stopped"  # ended early (a reply, an opt-out, a stage with no cadence…), for good
    DONE = "done"  # every step went out


class OutboxState(StrEnum):
    """One outbox row's life: queued → sending → sent | failed | uncertain (the outcome is unknown:
    a person checks), or cancelled before sending."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    CANCELLED = "cancelled"


LIVE = frozenset({CadenceState.ACTIVE, CadenceState.PAUSED})
"""A cadence in these states can still send; a stop applies to them."""


class Event(StrEnum):
    """What can happen to a lead that a cadence reacts to (stop_on / switch_on keys)."""

    REPLY = "reply"
    BOOKING = "booking"
    OPT_OUT = "opt_out"
    COMPLAINT = "complaint"
    CANCELLATION = "cancellation"
    BOUNCE = "bounce"
    STAGE_CHANGE = "stage_change"  # a stage with no entry in the stage map


ALWAYS_STOP = frozenset({Event.OPT_OUT, Event.CANCELLATION, Event.BOUNCE})
"""No configuration keeps a cadence going after these: the law (opt-out) and common sense."""

EVENT_WORDS = {
    Event.REPLY: "the lead replied",
    Event.BOOKING: "asked to book",
    Event.OPT_OUT: "opted out",
    Event.COMPLAINT: "complaint",
    Event.CANCELLATION: "asked to cancel",
    Event.BOUNCE: "our email bounced",
}

NO_CADENCE = "none"
"""Stage map value: this stage ends the follow-ups."""

KEEP_CADENCE = "keep"
"""Stage map value: this stage leaves the running cadence alone."""

CATCH_UP_AFTER = timedelta(minutes=10)
"""A touch firing later than this (the workers were down) is a catch-up: the lead's next touch is
pushed back to keep the cadence's spacing, so a lead never gets two touches in a row."""

CATCH_UP_SPACING_S = 0.5
"""Catch-up touches of different leads go out this many seconds apart, not all at once."""


@dataclass(frozen=True)
class Step:
    """One touch: when (after_h hours, or `days` calendar days in the lead's zone, after the start),
    what the brain writes (a template name, with an optional brief), on which channel ("lead": the
    one they used), whether it always waits for approval, and events that stop the cadence from
    this step on (beside the cadence's own)."""

    after_h: float
    template: str
    approval: bool = False
    days: int | None = None
    channel: str = "lead"
    brief: str | None = None
    stop_on: frozenset[str] = frozenset()
    incentive: bool = False  # may offer the policy's time-limited incentive (guardrails check it)
    before_h: float | None = None  # a visit reminder: this many hours before the visit (exact) …
    before_d: int | None = None  # … or this many calendar days before it, at `at` in the lead's zone
    at: time | None = None

    @property
    def to_visit(self) -> bool:
        """Timed back from the booked visit, not forward from the cadence's start."""
        return self.before_h is not None or self.before_d is not None


@dataclass(frozen=True)
class CadenceDef:
    name: str
    steps: tuple[Step, ...]
    stop_on: frozenset[str]
    switch_on: dict[str, str] = field(default_factory=dict)  # event -> another cadence
    repeat: Step | None = None  # after the last step, this touch every repeat.days days …
    repeat_limit: int = 0  # … at most this many times
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", "-")

    @property
    def touches(self) -> int:
        return len(self.steps) + (self.repeat_limit if self.repeat else 0)

    @property
    def to_visit(self) -> bool:
        """A visit reminder: its steps count back from the lead's booked visit."""
        return any(s.to_visit for s in self.steps)

    def step(self, index: int) -> Step | None:
        if 0 <= index < len(self.steps):
            return self.steps[index]
        if self.repeat is not None and 0 <= index - len(self.steps) < self.repeat_limit:
            return self.repeat
        return None


@dataclass(frozen=True)
class Window:
    """When automated touches may go out: outside quiet hours in the lead's zone (else the
    business's) and, when set, inside the business's opening hours in the business's zone."""

    tz: str
    quiet_start: time
    quiet_end: time
    business_hours: BusinessHours | None = None
    business_tz: str | None = None  # the zone business_hours are in (default: tz)


@dataclass(frozen=True)
class Run:
    """A lead's cadence as stored: which one, its state, the index of the next step, when its
    clock started (None: waiting for the first reply to go out) and when the next touch is due."""

    cadence: str | None = None
    state: CadenceState | None = None
    step: int = 0
    started_at: datetime | None = None
    next_at: datetime | None = None
    stop_reason: str | None = None
    visit_at: datetime | None = None  # the lead's booked visit (a fact of the lead, read-only here)


@dataclass(frozen=True)
class Change:
    """What a transition did: the new run, the event to log (with its data), whether touches
    written for the old run but not yet sent must be withdrawn, and the step to write now."""

    run: Run
    event: str
    data: dict[str, Any] = field(default_factory=dict)
    withdraw: bool = False
    fire: Step | None = None
    fired_step: int | None = None


# --- time ------------------------------------------------------------------------------------


def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _in_quiet(local: time, window: Window) -> bool:
    start, end = window.quiet_start, window.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _open(at: datetime, window: Window) -> bool:
    if window.business_hours is None:
        return True
    local = at.astimezone(_zone(window.business_tz or window.tz))
    span = window.business_hours.days.get(local.weekday())
    return span is not None and span[0] <= local.time() < span[1]


def allowed(at: datetime, window: Window) -> bool:
    """May an automated touch go out at `at`?"""
    return not _in_quiet(at.astimezone(_zone(window.tz)).time(), window) and _open(at, window)


def next_allowed(at: datetime, window: Window) -> datetime:
    """The first moment at or after `at` when a touch may go out. Walks in UTC quarter hours (a
    zone's wall clock jumps at daylight-saving changes; UTC does not), up to eight days ahead."""
    if allowed(at, window):
        return at
    probe = at.astimezone(UTC).replace(second=0, microsecond=0)
    probe -= timedelta(minutes=probe.minute % 15)
    for _ in range(24 * 4 * 8):
        probe += timedelta(minutes=15)
        if allowed(probe, window):
            return probe.astimezone(at.tzinfo)
    return at  # never open (a window no touch fits): go out rather than never


def add_days(at: datetime, days: int, tz: str) -> datetime:
    """The same wall-clock time `days` days later in `tz` (10:00 stays 10:00 across a DST change).
    A time the spring change skips moves forward by the gap; a repeated autumn hour takes its
    first occurrence."""
    zone = _zone(tz)
    local = at.astimezone(zone)
    wall = (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=zone, fold=0)
    back = wall.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != wall.replace(tzinfo=None):  # skipped by the spring change
        wall = back
    return wall.astimezone(UTC)


def raw_due(defn: CadenceDef, started_at: datetime, index: int, tz: str) -> datetime | None:
    """When step `index` is due by the cadence alone (before quiet hours), or None past the end."""
    step = defn.step(index)
    if step is None:
        return None
    if index >= len(defn.steps):  # a repeat: counted from the last regular step
        base = raw_due(defn, started_at, len(defn.steps) - 1, tz) if defn.steps else started_at
        assert base is not None
        return add_days(base, (step.days or 30) * (index - len(defn.steps) + 1), tz)
    if step.days is not None:
        return add_days(started_at, step.days, tz)
    return started_at + timedelta(hours=step.after_h)


def due_at(
    defn: CadenceDef, started_at: datetime, index: int, window: Window | None = None
) -> datetime | None:
    """When step `index` goes out: its due time moved into the allowed window, if one is given."""
    tz = window.tz if window else "UTC"
    due = raw_due(defn, started_at, index, tz)
    if due is None or window is None:
        return due
    return next_allowed(due, window)


# --- visit reminders ------------------------------------------------------------------------

VISIT_MIN_AHEAD = timedelta(minutes=45)
"""A reminder moved out of quiet hours towards the visit must still go out this long before it."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def wall_time(day: date, at: time, tz: str) -> datetime:
    """`at` on `day` in `tz`, as UTC. A time the spring change skips moves forward by the gap; a
    repeated autumn hour takes its first occurrence (as add_days)."""
    zone = _zone(tz)
    wall = datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    back = wall.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != wall.replace(tzinfo=None):
        wall = back
    return wall.astimezone(UTC)


def visit_due(step: Step, visit_at: datetime, tz: str) -> datetime:
    """When a visit reminder step is due by its definition alone (before quiet hours): `before_h`
    exact hours before the visit, or `before_d` calendar days before its date at `at` in `tz`."""
    if step.before_d is not None:
        day = visit_at.astimezone(_zone(tz)).date() - timedelta(days=step.before_d)
        return wall_time(day, step.at or time(18, 0), tz)
    return visit_at - timedelta(hours=step.before_h or 0.0)


def _last_allowed_same_day(at: datetime, window: Window) -> datetime | None:
    """The last allowed quarter hour before `at` on the same day in the lead's zone, if any."""
    zone = _zone(window.tz)
    day = at.astimezone(zone).date()
    probe = at.astimezone(UTC).replace(second=0, microsecond=0)
    probe -= timedelta(minutes=probe.minute % 15)
    if probe >= at:
        probe -= timedelta(minutes=15)
    while probe.astimezone(zone).date() == day:
        if allowed(probe, window):
            return probe
        probe -= timedelta(minutes=15)
    return None


def plan_reminder(step: Step, visit_at: datetime, window: Window, not_before: datetime) -> datetime | None:
    """When a visit reminder goes out, or None when it is skipped. Its due moment when that is
    allowed; else the last allowed moment earlier the same day; else the first allowed moment
    after it if that is still VISIT_MIN_AHEAD before the visit. Never at or before `not_before`
    (now, or the reminder before it): a reminder is skipped, never sent late or twice in a row;
    never at or after the visit."""
    due = visit_due(step, visit_at, window.tz)
    at: datetime | None = due if allowed(due, window) else None
    if at is None:
        earlier = _last_allowed_same_day(due, window)
        if earlier is not None and earlier > not_before:
            at = earlier
        else:
            later = next_allowed(due, window)
            if allowed(later, window) and later <= visit_at - VISIT_MIN_AHEAD:
                at = later
    if at is None or at <= not_before or at >= visit_at:
        return None
    return at


def next_reminder(
    defn: CadenceDef, visit_at: datetime, index: int, window: Window, not_before: datetime
) -> tuple[int, datetime] | None:
    """The first reminder from step `index` on that still goes out, and when (None: none left)."""
    for i in range(index, len(defn.steps)):
        at = plan_reminder(defn.steps[i], visit_at, window, not_before)
        if at is not None:
            return i, at
    return None


def _plan_visit(run: Run, defn: CadenceDef, index: int, now: datetime, window: Window) -> Run:
    """The run with its next reminder planned from step `index` on. No visit time yet: nothing
    planned. Past the last reminder the run waits for the visit time itself, which ends it (and
    withdraws a reminder still waiting for approval)."""
    if run.visit_at is None:
        return replace(run, step=index, next_at=None)
    found = next_reminder(defn, run.visit_at, index, window, now)
    if found is None:
        return replace(run, step=len(defn.steps), next_at=run.visit_at)
    return replace(run, step=found[0], next_at=found[1])


def _start_reminders(
    defn: CadenceDef, now: datetime, window: Window, visit_at: datetime | None, why: str
) -> Change:
    data: dict[str, Any] = {"cadence": defn.name, "reason": why}
    run = Run(defn.name, CadenceState.ACTIVE, 0, now, None, visit_at=visit_at)
    if visit_at is None:
        return Change(run, "cadence_started", {**data, "waits_for": "the visit time"})
    run = _plan_visit(run, defn, 0, now, window)
    data["visit_at"] = visit_at.isoformat()
    if run.step:
        data["skipped"] = run.step  # their moment had passed when the visit was booked
    return Change(run, "cadence_started", data)


def on_visit(
    run: Run,
    defn: CadenceDef | None,
    stage_map: dict[str, str],
    cadences: dict[str, CadenceDef],
    now: datetime,
    window: Window,
) -> Change | None:
    """The visit was booked at a (new) time, `run.visit_at`. A live visit reminder plans again from
    its first step, and touches written for the old time are withdrawn: the reminders move, never
    double. Otherwise (finished, stopped, none) the stage map's visit reminder starts afresh."""
    if defn is not None and defn.to_visit and run.state in LIVE:
        data = {"cadence": defn.name, "visit_at": run.visit_at.isoformat() if run.visit_at else None}
        if run.state == CadenceState.PAUSED:  # resume plans it
            return Change(replace(run, step=0, next_at=None), "cadence_visit_moved", data, withdraw=True)
        new = _plan_visit(replace(run, started_at=now), defn, 0, now, window)
        return Change(new, "cadence_visit_moved", {**data, "reason": "the visit was moved"}, withdraw=True)
    target = cadences.get(stage_map.get("visit_scheduled", ""))
    if target is None or not target.to_visit:
        return None
    return switch(run, target, now, window, "visit booked")


def cancel_visit(run: Run, defn: CadenceDef | None) -> Change | None:
    """The visit was called off: its reminders stop (and what is written but unsent goes)."""
    if defn is None or not defn.to_visit or run.state not in LIVE:
        return None
    return stop(run, "the visit was cancelled")


def _advance_reminder(run: Run, defn: CadenceDef, now: datetime, window: Window) -> Change | None:
    """advance for a visit reminder (its next_at is due). The visit time arriving ends it. Of
    several reminders due at once (the workers were down) only the latest goes; one that can no
    longer arrive well ahead of the visit, or that finds the window shut, is skipped, not deferred."""
    visit = run.visit_at
    if visit is None:
        return None
    if now >= visit or run.step >= len(defn.steps):
        new = replace(run, state=CadenceState.DONE, next_at=None)
        return Change(
            new, "cadence_done", {"cadence": defn.name, "reason": "the visit time came"}, withdraw=True
        )
    index = run.step
    planned = run.next_at or now
    for i in range(run.step + 1, len(defn.steps)):
        at = plan_reminder(defn.steps[i], visit, window, _EPOCH)
        if at is not None and at <= now:
            index, planned = i, at
    after = _plan_visit(run, defn, index + 1, now, window)
    data: dict[str, Any] = {"cadence": defn.name, "step": index}
    if index > run.step:
        data["skipped"] = index - run.step
    fresh = now <= planned + (visit - planned) / 2
    if not fresh or not allowed(now, window):
        data["reason"] = "too close to the visit" if not fresh else "quiet hours"
        return Change(after, "cadence_skipped", data)
    step = defn.steps[index]
    data["template"] = step.template
    late = now - (run.next_at or now)
    if late > CATCH_UP_AFTER:
        data["late_s"] = int(late.total_seconds())
    return Change(after, "cadence_touch", data, fire=step, fired_step=index)


# --- transitions -----------------------------------------------------------------------------


def start(
    defn: CadenceDef,
    now: datetime,
    window: Window,
    *,
    first_reply_now: bool = False,
    why: str = "",
    visit_at: datetime | None = None,
) -> Change:
    """A new lead's cadence. With `first_reply_now`, step 0 (after_h = 0) is the first reply being
    written at this moment; the clock for the later steps starts when it goes out (begin_clock).
    A visit reminder is planned back from `visit_at` (or waits for a visit time)."""
    if defn.to_visit:
        return _start_reminders(defn, now, window, visit_at, why)
    if first_reply_now:
        skip = 1 if defn.steps and defn.steps[0].after_h == 0 and defn.steps[0].days is None else 0
        run = Run(defn.name, CadenceState.ACTIVE, skip, None, None)
        return Change(run, "cadence_started", {"cadence": defn.name, "waits_for": "first reply"})
    run = Run(defn.name, CadenceState.ACTIVE, 0, now, due_at(defn, now, 0, window))
    return _finished_or(run, Change(run, "cadence_started", {"cadence": defn.name, "reason": why}))


def begin_clock(run: Run, defn: CadenceDef, now: datetime, window: Window) -> Change | None:
    """Our first reply went out: the follow-ups count from now."""
    if run.state != CadenceState.ACTIVE or run.started_at is not None:
        return None
    nxt = due_at(defn, now, run.step, window)
    new = replace(run, started_at=now, next_at=nxt)
    return _finished_or(new, Change(new, "cadence_clock_started", {"cadence": defn.name, "next_at": nxt}))


def replan(
    run: Run, window: Window, defn: CadenceDef | None = None, now: datetime | None = None
) -> Change | None:
    """The window changed (we learnt the lead's zone): the next touch moves into it if needed.
    A visit reminder is planned again in the new zone ("the day before at 18:00" is theirs)."""
    if defn is not None and defn.to_visit and now is not None:
        if run.state != CadenceState.ACTIVE or run.visit_at is None or run.step >= len(defn.steps):
            return None
        new = _plan_visit(run, defn, run.step, now, window)
        if new == run:
            return None
        data = {"until": new.next_at.isoformat() if new.next_at else None, "reason": "their time zone"}
        return Change(new, "cadence_deferred", data)
    if run.state != CadenceState.ACTIVE or run.next_at is None or allowed(run.next_at, window):
        return None
    later = next_allowed(run.next_at, window)
    return Change(
        replace(run, next_at=later),
        "cadence_deferred",
        {"until": later.isoformat(), "reason": "their quiet hours"},
    )


def pause(run: Run, why: str) -> Change | None:
    if run.state != CadenceState.ACTIVE:
        return None
    return Change(replace(run, state=CadenceState.PAUSED), "cadence_paused", {"reason": why})


def resume(
    run: Run, defn: CadenceDef, now: datetime, window: Window, first_sent_at: datetime | None
) -> Change | None:
    """Back to active. Paused before the first reply went out: the clock that reply's send would
    have started starts at that send, so the follow-ups are not lost for good."""
    if run.state != CadenceState.PAUSED:
        return None
    if defn.to_visit:  # the reminders still ahead of the visit, planned from now
        new = _plan_visit(replace(run, state=CadenceState.ACTIVE), defn, run.step, now, window)
        return Change(new, "cadence_resumed", {"cadence": defn.name})
    started = run.started_at or first_sent_at
    nxt = None
    if started is not None:
        due = due_at(defn, started, run.step, window)
        nxt = next_allowed(max(due, now), window) if due else None
    new = replace(run, state=CadenceState.ACTIVE, started_at=started, next_at=nxt)
    return _finished_or(new, Change(new, "cadence_resumed", {"cadence": defn.name}))


def stop(run: Run, why: str) -> Change:
    """End the cadence for good. Touches written but unsent are withdrawn even when it had already
    finished (a final touch may still wait for approval)."""
    if run.state in LIVE:
        new = replace(run, state=CadenceState.STOPPED, next_at=None, stop_reason=why)
        return Change(new, "cadence_stopped", {"cadence": run.cadence, "reason": why}, withdraw=True)
    return Change(run, "", {}, withdraw=True)


def switch(run: Run, to: CadenceDef, now: datetime, window: Window, why: str) -> Change:
    """Leave the running cadence (if any) for `to`, starting now; the old one's unsent touches go."""
    started = start(to, now, window, why=why, visit_at=run.visit_at)
    data = {"from": run.cadence if run.state in LIVE else None, "to": to.name, "reason": why}
    data.update({k: v for k, v in started.data.items() if k in ("visit_at", "skipped", "waits_for")})
    event = "cadence_switched" if data["from"] else "cadence_started"
    return Change(started.run, event, data, withdraw=True)


def advance(
    run: Run, defn: CadenceDef, now: datetime, window: Window, expect_step: int | None = None
) -> Change | None:
    """The touch that is due now, if any: returns the run after it (next step planned) with
    `fire` set, or a deferral when the window is shut (quiet hours, closed), or None when nothing
    is due (not active, not yet due, or this step already went)."""
    if run.state != CadenceState.ACTIVE or run.started_at is None or run.next_at is None:
        return None
    if expect_step is not None and run.step != expect_step:
        return None
    if run.next_at > now:
        return None
    if defn.to_visit:
        return _advance_reminder(run, defn, now, window)
    step = defn.step(run.step)
    if step is None:
        new = replace(run, state=CadenceState.DONE, next_at=None)
        return Change(new, "cadence_done", {"cadence": defn.name})
    if not allowed(now, window):
        later = next_allowed(now, window)
        new = replace(run, next_at=later)
        return Change(
            new, "cadence_deferred", {"until": later.isoformat(), "reason": "quiet hours", "step": run.step}
        )
    index = run.step
    nxt = due_at(defn, run.started_at, index + 1, window)
    late = now - run.next_at
    if nxt is not None and late > CATCH_UP_AFTER:
        # Catch-up after downtime: keep the spacing the cadence meant between this touch and the
        # next, so several missed steps never arrive together.
        this_due = raw_due(defn, run.started_at, index, window.tz)
        next_due = raw_due(defn, run.started_at, index + 1, window.tz)
        assert this_due is not None and next_due is not None
        nxt = next_allowed(max(nxt, now + (next_due - this_due)), window)
    new = replace(run, step=index + 1, next_at=nxt)
    if nxt is None:
        new = replace(new, state=CadenceState.DONE)
    data = {"cadence": defn.name, "step": index, "template": step.template}
    if late > CATCH_UP_AFTER:
        data["late_s"] = int(late.total_seconds())
    return Change(new, "cadence_touch", data, fire=step, fired_step=index)


def _finished_or(run: Run, change: Change) -> Change:
    if run.started_at is not None and run.next_at is None and run.state == CadenceState.ACTIVE:
        done = replace(run, state=CadenceState.DONE)
        return replace(change, run=done)
    return change


# --- rules: what an event or a stage does ----------------------------------------------------


STOP = "stop"
CONTINUE = "continue"


def events_of(triage: Triage, *, is_reply: bool) -> list[Event]:
    """What an inbound message means to a cadence, strongest first."""
    cat = triage.category
    found = []
    if cat == Category.OPT_OUT:
        found.append(Event.OPT_OUT)
    if cat == Category.CANCELLATION:
        found.append(Event.CANCELLATION)
    if cat == Category.COMPLAINT or triage.has(SignalName.FRUSTRATED):
        found.append(Event.COMPLAINT)
    if cat == Category.BOOKING:
        found.append(Event.BOOKING)
    if is_reply:
        found.append(Event.REPLY)
    return found


def rule_for(defn: CadenceDef, step_index: int, event: str) -> str:
    """'stop', 'continue', or the name of the cadence to switch to, for this event at this step."""
    if event in ALWAYS_STOP:
        return STOP
    if event in defn.switch_on:
        return defn.switch_on[event]
    step = defn.step(max(step_index - 1, 0))  # the step that last went out (or the first)
    if event in defn.stop_on or (step is not None and event in step.stop_on):
        return STOP
    return CONTINUE


def stop_reason(defn: CadenceDef, triage: Triage, *, is_reply: bool) -> str | None:
    """Why an inbound message ends the cadence, or None when it goes on (kept for callers that
    only stop; `react` also switches)."""
    for event in events_of(triage, is_reply=is_reply):
        if rule_for(defn, 0, event) == STOP:
            return EVENT_WORDS.get(event, event)
    return None


def react(
    run: Run,
    defn: CadenceDef | None,
    event: str,
    now: datetime,
    window: Window,
    cadences: dict[str, CadenceDef],
    why: str | None = None,
) -> Change | None:
    """What `event` does to the run: a stop, a switch, or nothing (None)."""
    if defn is None or run.state not in (*LIVE, CadenceState.DONE):
        return None
    rule = rule_for(defn, run.step, event)
    words = why or EVENT_WORDS.get(event, event)  # type: ignore[call-overload]
    if rule == STOP:
        return stop(run, words)
    if rule == CONTINUE or run.state == CadenceState.DONE:
        return None
    target = cadences.get(rule)
    return switch(run, target, now, window, words) if target else stop(run, words)


def on_stage(
    run: Run,
    defn: CadenceDef | None,
    old: str,
    new: str,
    stage_map: dict[str, str],
    cadences: dict[str, CadenceDef],
    now: datetime,
    window: Window,
) -> Change | None:
    """The stage moved from `old` to `new`: switch to the stage's cadence (quoted → post-quote,
    won → review request), stop (`none`), or leave it (`keep`, or no entry and the cadence does not
    stop on stage changes). A stage's cadence starts even when nothing was running (the lead had
    replied), never twice for the same stage."""
    if old == new:
        return None
    why = f"stage changed from {old} to {new}".replace("_", " ")
    target = stage_map.get(new)
    if target == KEEP_CADENCE:
        return None
    if target is None:
        if defn is not None and run.state in LIVE and Event.STAGE_CHANGE in defn.stop_on:
            return stop(run, why)
        return None
    if target == NO_CADENCE:
        return stop(run, why) if run.cadence else None
    to = cadences.get(target)
    if to is None:
        return None
    if run.cadence == to.name and run.state in LIVE:
        return None
    return switch(run, to, now, window, why)


# --- catch-up -------------------------------------------------------------------------------


def spread(overdue: int, tick_s: float) -> list[float]:
    """Delays (seconds) for `overdue` catch-up touches found by one tick: CATCH_UP_SPACING_S
    apart, and no more than fit in one tick period (the rest wait for the next tick)."""
    fit = max(1, int(tick_s / CATCH_UP_SPACING_S))
    return [i * CATCH_UP_SPACING_S for i in range(min(overdue, fit))]
