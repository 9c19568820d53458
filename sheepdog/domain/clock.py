"""One clock for every surface: times in the business's zone, with the day when it is not today.

A card said "sent 23:03" while the mail tab said "5:03 AM" for the same send (browser time); every
time a person reads now comes from here, in the business's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def shown_time(at: datetime | None, tz: str, now: datetime | None = None) -> str:
    """'14:02' today, 'yesterday 14:02', 'Mon 27 Nov 14:02' this year, '27 Nov 2025 14:02' before."""
    if at is None:
        return ""
    zone = ZoneInfo(tz)
    if at.tzinfo is None:  # stored times are UTC; a naive one is read as such
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(zone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    clock = f"{local:%H:%M}"
    if local.date() == today:
        return clock
    if local.date() == today - timedelta(days=1):
        return f"yesterday {clock}"
    if local.year == today.year:
        return f"{local:%a} {local.day} {local:%b} {clock}"
    return f"{local.day} {local:%b %Y} {clock}"


def minutes_words(seconds: float) -> str:
    """'1 minute', '15 minutes', '2 hours', '3 days': a duration as a person says it."""
    minutes = max(0, round(seconds / 60))
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    if hours < 36:
        return f"{hours} hours"
    return f"{round(hours / 24)} days"


def shown_span(start: datetime, end: datetime, tz: str, now: datetime | None = None) -> str:
    """A half-open period as a person reads it, in the business's zone: whole days as days
    ('Mon 23 Nov – Sun 29 Nov'), else times with the day ('Mon 23 Nov 08:00 – now')."""
    zone = ZoneInfo(tz)
    now = now or datetime.now(UTC)
    first, after = start.astimezone(zone), end.astimezone(zone)
    year = now.astimezone(zone).year

    def day(d: datetime) -> str:
        return f"{d:%a} {d.day} {d:%b}" + ("" if d.year == year else f" {d.year}")

    if first.time() == after.time() == datetime.min.time():
        last = (after - timedelta(days=1)).date()
        last_dt = datetime.combine(last, datetime.min.time())
        return day(first) if last == first.date() else f"{day(first)} – {day(last_dt)}"
    tail = "now" if abs((end - now).total_seconds()) < 60 else f"{day(after)} {after:%H:%M}"
    return f"{day(first)} {first:%H:%M} – {tail}"
