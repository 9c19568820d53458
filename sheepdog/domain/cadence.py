"""Cadence state machine: when the next touch is due, and what stops or pauses a cadence.

Cadences are data (config): steps at hours after the lead's first message. A reply, booking,
opt-out, complaint or a stage change stops the cadence, so no lead is asked "still interested?"
after a quote. No automated touch lands in quiet hours (or outside business hours if asked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sheepdog.domain.models import BusinessHours, Category, SignalName, Triage


@dataclass(frozen=True)
class Step:
    after_h: float
    template: str
    approval: bool = False


@dataclass(frozen=True)
class CadenceDef:
    name: str
    steps: tuple[Step, ...]
    stop_on: frozenset[str]


@dataclass(frozen=True)
class Window:
    """When automated touches may go out, in the lead's (else the business's) time zone."""

    tz: str
    quiet_start: time
    quiet_end: time
    business_hours: BusinessHours | None = None  # set when touches keep to business hours


def stop_reason(cadence: CadenceDef, triage: Triage, *, is_reply: bool) -> str | None:
    """Why an inbound message ends the cadence, or None when it goes on."""
    cat = triage.category
    checks = (
        ("opt_out", cat == Category.OPT_OUT, "opted out"),
        ("complaint", cat == Category.COMPLAINT or triage.has(SignalName.FRUSTRATED), "complaint"),
        ("booking", cat == Category.BOOKING, "asked to book"),
        ("reply", is_reply, "the lead replied"),
    )
    for key, hit, why in checks:
        if hit and key in cadence.stop_on:
            return why
    if cat == Category.CANCELLATION:
        return "asked to cancel"
    return None


def stage_change_stops(cadence: CadenceDef, old: str, new: str) -> str | None:
    if old != new and "stage_change" in cadence.stop_on:
        return f"stage changed from {old} to {new}"
    return None


def due_at(cadence: CadenceDef, started_at: datetime, step_index: int) -> datetime | None:
    """When step `step_index` is due, or None when the cadence has no more steps."""
    if step_index >= len(cadence.steps):
        return None
    return started_at + timedelta(hours=cadence.steps[step_index].after_h)


def _in_quiet(local: time, window: Window) -> bool:
    start, end = window.quiet_start, window.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_allowed(at: datetime, window: Window) -> datetime:
    """The first moment at or after `at` outside quiet hours (and inside business hours if set)."""
    zone = ZoneInfo(window.tz)
    local = at.astimezone(zone)
    for _ in range(24 * 8 * 4):  # at most eight days ahead in quarter hours
        if not _in_quiet(local.time(), window) and _open(local, window):
            return local.astimezone(at.tzinfo)
        local = (local + timedelta(minutes=15)).replace(second=0, microsecond=0)
        local = local.replace(minute=local.minute - local.minute % 15)
    return at


def _open(local: datetime, window: Window) -> bool:
    if window.business_hours is None:
        return True
    span = window.business_hours.days.get(local.weekday())
    return span is not None and span[0] <= local.time() < span[1]
