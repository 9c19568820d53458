"""The lead's time zone, from what they gave us: a form field (best: they said so), the region
of their phone number, or the UTC offset in their email's Date header (weakest: an offset is
not a zone). Quiet hours are theirs once we know it (domain.cadence.Window)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from sheepdog.domain.extract import calendar_date

RANK = {"form": 3, "phone": 2, "email date": 1}
"""A zone from a stronger source replaces one from a weaker; never the other way round."""

FORM_FIELDS = ("timezone", "time_zone", "tz")

ALIASES = {
    "eastern": "America/New_York",
    "central": "America/Chicago",
    "mountain": "America/Denver",
    "pacific": "America/Los_Angeles",
    "est": "America/New_York",
    "edt": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "gmt": "Europe/London",
    "bst": "Europe/London",
    "utc": "UTC",
}


def valid_zone(name: str | None) -> str | None:
    """An IANA zone name (or a common alias such as 'Central'), else None."""
    if not name:
        return None
    name = name.strip()
    alias = ALIASES.get(name.lower().removesuffix(" time"))
    if alias:
        return alias
    if "/" not in name and name != "UTC":
        return None  # "Berlin", "+1": not a zone name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def from_fields(fields: dict[str, str]) -> str | None:
    for key in FORM_FIELDS:
        if zone := valid_zone(fields.get(key)):
            return zone
    return None


def from_phone(e164: str | None) -> str | None:
    """The zone of the phone number's region, when the numbering plan gives exactly one
    (a German mobile: Europe/Berlin; a Chicago area code: America/Chicago)."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    zones = [z for z in phone_timezones.time_zones_for_number(number) if valid_zone(z)]
    return zones[0] if len(zones) == 1 else None


def from_offset(offset_min: int | None, at: datetime, preferred: tuple[str, ...] = ()) -> str | None:
    """A zone for an email Date offset: the first of `preferred` (the business's zone, the zone
    of the lead's phone country) that has this offset at that moment; else a fixed-offset zone
    (Etc/GMT±h) for whole hours. -0000 ("unknown") and impossible offsets give None."""
    if offset_min is None or (offset_min == 0 and not preferred):
        return None
    if abs(offset_min) > 14 * 60:
        return None
    wanted = timedelta(minutes=offset_min)
    for zone in preferred:
        if zone and at.astimezone(ZoneInfo(zone)).utcoffset() == wanted:
            return zone
    if offset_min % 60:
        return None
    hours = offset_min // 60
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"  # POSIX sign: Etc/GMT+6 is UTC-6


def best(
    current: str | None,
    current_source: str | None,
    *,
    fields: dict[str, str],
    phone: str | None,
    date_offset_min: int | None,
    at: datetime,
    business_tz: str,
) -> tuple[str, str] | None:
    """The (zone, source) to store when it is better than what we have, else None."""
    found: list[tuple[str, str]] = []
    if zone := from_fields(fields):
        found.append((zone, "form"))
    if zone := from_phone(phone):
        found.append((zone, "phone"))
    if zone := from_offset(date_offset_min, at.astimezone(UTC), (business_tz,)):
        found.append((zone, "email date"))
    have = RANK.get(current_source or "", 0) if current else 0
    for zone, source in found:
        if RANK[source] > have or (RANK[source] == have and zone != current and source != "email date"):
            return zone, source
    return None


def local_time(zone: str, at: datetime) -> str:
    """'14:05 there' for the brief."""
    return f"{at.astimezone(ZoneInfo(zone)):%H:%M} there"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$", re.IGNORECASE)


_PICKED = re.compile(r"^(\d{4}-\d{2}-\d{2})[t ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?$", re.IGNORECASE)
"""What a date-and-time picker sends: '2026-12-03T09:00' (datetime-local), '2026-12-03 09:00'."""


def parse_when(text: str, now: datetime, tz: str) -> datetime:
    """'thu 9am', 'tomorrow 14:30', 'today 3pm', '2026-12-03 9:00', '2026-12-03T09:00' (a picker)
    in the business's zone → an aware UTC datetime in the future. A weekday means its next
    occurrence (today if the time is still ahead). Never a guess: a day without a time, an hour
    that could be morning or evening ('thu 9') and a time the clock change skips or repeats are
    refused like what is not understood, with a ValueError that says what to give instead."""
    text = text.strip()
    if picked := _PICKED.match(text):
        text = f"{picked.group(1)} {picked.group(2)}"
    words = text.lower().replace(",", " ").split()
    if not words:
        raise ValueError("say when, e.g. 'thu 9am' or 'tomorrow 14:30'")
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    day_word, time_words = words[0], " ".join(words[1:])
    if _TIME.match(day_word.replace(" ", "")) and not time_words:  # just a time: today, else tomorrow
        day_word, time_words = "", day_word
    if day_word in ("", "today"):
        day = local_now.date()
    elif day_word == "tomorrow":
        day = local_now.date() + timedelta(days=1)
    elif day_word[:3] in WEEKDAYS and DAY_NAMES[WEEKDAYS.index(day_word[:3])].startswith(day_word):
        ahead = (WEEKDAYS.index(day_word[:3]) - local_now.weekday()) % 7
        day = local_now.date() + timedelta(days=ahead)
    else:
        try:
            day = datetime.strptime(day_word, "%Y-%m-%d").date()
        except ValueError:
            raise ValueError(
                f"{day_word!r} is not a day (give mon…sun, today, tomorrow or 2026-12-03)"
            ) from None
    if not time_words:  # a day alone: the time is not guessed
        raise ValueError(f"at what time on {day_word!r}? e.g. '{day_word} 9am' or '{day_word} 14:30'")
    hour, minute = _clock(time_words)
    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    if at <= local_now and day_word[:3] in WEEKDAYS:
        at = datetime.combine(day + timedelta(days=7), at.timetz())
    if day_word == "" and at <= local_now:
        at = datetime.combine(day + timedelta(days=1), at.timetz())
    if at <= local_now:
        raise ValueError(f"{at:%a %d %b %H:%M} has already passed")
    if at.utcoffset() != at.replace(fold=1).utcoffset():  # the clocks change at that hour
        raise ValueError(
            f"{at:%a %d %b %H:%M} is skipped or happens twice when the clocks change; pick another time"
        )
    return at.astimezone(UTC)


def _clock(text: str) -> tuple[int, int]:
    m = _TIME.match(text.replace(" ", ""))
    if not m:
        raise ValueError(f"{text!r} is not a time (e.g. 9am, 9:30am, 14:30)")
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").replace(".", "")
    if not half and m.group(2) is None and 1 <= hour <= 12:
        raise ValueError(f"{text!r} could be morning or evening: say {hour}am or {hour}pm (or {hour:02d}:00)")
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(f"{text!r} is not a time")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time")
    return hour, minute


_ASKED_DAY = re.compile(
    r"\b(today|tonight|tomorrow)\b|\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.IGNORECASE
)
_ASKED_CLOCK = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s?(am|pm|a\.m\.|p\.m\.)|\b(\d{1,2}):(\d{2})\b|\b(noon|midday)\b", re.IGNORECASE
)
_ASKED_RANGE = re.compile(r"\d\s?(?:-|–|—|to|till|until|and)\s?\d", re.IGNORECASE)


def suggested_visit(asked: str | None, now: datetime, tz: str) -> tuple[date | None, time | None]:
    """The day and time a lead asked for ('Friday at 10am', 'Thursday Dec 3', 'tomorrow 14:30'),
    to prefill a visit picker in the business's zone: only what is still ahead. A time is given
    only when it is plain (9am, 14:30, noon); a window ('8–11') or a bare '10' leaves it empty for
    the team to pick, and a day already gone gives nothing."""
    if not asked:
        return None, None
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    today = local_now.date()
    day, on = None, calendar_date(asked, today)  # 'Dec 3', '12/3'
    if m := _ASKED_DAY.search(asked):
        word = m.group(0).lower()
        if m.group(1):
            day = today + timedelta(days=1 if word == "tomorrow" else 0)
        elif DAY_NAMES[(i := WEEKDAYS.index(word[:3]))].startswith(word):  # not 'sunny', 'monitor'
            ahead = (i - today.weekday()) % 7 or (7 if asked[: m.start()].lower().endswith("next ") else 0)
            # 'Thursday Dec 3': the date, when it is that weekday; else the weekday's next date
            day = on if on is not None and on.weekday() == i else today + timedelta(days=ahead)
    if day is None:
        day = on
    if day is None or day < today:
        return None, None
    clock = _ASKED_CLOCK.search(asked)
    at: time | None = None
    if clock is not None and not _ASKED_RANGE.search(asked):
        if clock.group(6):
            at = time(12, 0)
        elif clock.group(4):
            hour, minute = int(clock.group(4)), int(clock.group(5))
            at = time(hour, minute) if hour <= 23 and minute <= 59 else None
        else:
            hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
            if 1 <= hour <= 12 and minute <= 59:
                pm = clock.group(3).lower().startswith("p")
                at = time(hour % 12 + (12 if pm else 0), minute)
    if at is not None and datetime.combine(day, at, zone) <= local_now:
        return (None, None) if day == today else (day, None)
    return day, at
