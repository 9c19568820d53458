"""The lead's time zone: from a form field, their phone's region, or their email's Date offset;
and the times people type for a visit ('thu 9am')."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sheepdog.channels.email import parse_email_bytes
from sheepdog.domain import timezones
from tests.conftest import fixture_bytes

NOV = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
JUL = datetime(2026, 7, 14, 16, 0, tzinfo=UTC)


def test_from_the_phone_region() -> None:
    assert timezones.from_phone("+493090182000") == "Europe/Berlin"
    assert timezones.from_phone("+13125550123") == "America/Chicago"  # a Chicago area code
    assert timezones.from_phone("+61291234567") == "Australia/Sydney"
    assert timezones.from_phone("+15555550123") is None  # no single zone for it
    assert timezones.from_phone("not a phone") is None


def test_from_a_form_field() -> None:
    assert timezones.from_fields({"timezone": "Europe/Berlin"}) == "Europe/Berlin"
    assert timezones.from_fields({"tz": "Central"}) == "America/Chicago"
    assert timezones.from_fields({"timezone": "Mars/Olympus"}) is None
    assert timezones.from_fields({"timezone": "Berlin"}) is None


def test_from_an_email_date_offset() -> None:
    assert timezones.from_offset(-360, NOV, ("America/Chicago",)) == "America/Chicago"  # CST
    assert timezones.from_offset(-300, JUL, ("America/Chicago",)) == "America/Chicago"  # CDT
    assert timezones.from_offset(-300, NOV, ("America/Chicago",)) == "Etc/GMT+5"  # not Chicago in November
    assert timezones.from_offset(540, NOV, ("America/Chicago",)) == "Etc/GMT-9"
    assert timezones.from_offset(330, NOV, ()) is None  # half-hour offsets have no fixed Etc zone
    assert timezones.from_offset(None, NOV, ("America/Chicago",)) is None


@pytest.mark.parametrize(
    ("folder", "fixture", "offset"),
    [
        ("email", "message__text_only.eml", 240),  # Date: … +0400
        ("email", "message__iso_2022_jp.eml", 540),  # Date: … +0900
        ("email", "auto__outlook_automatic_reply.eml", 0),  # +0000: UTC, said so
        ("loop", "email__reply_template.eml", -360),  # Date: … -0600
    ],
)
def test_the_email_parser_reads_the_date_offset(folder: str, fixture: str, offset: int) -> None:
    assert parse_email_bytes(fixture_bytes(folder, fixture)).sender_utc_offset_min == offset


def test_no_date_or_minus_zero_says_nothing() -> None:
    raw = fixture_bytes("email", "message__text_only.eml")
    dated = next(line for line in raw.split(b"\n") if line.startswith(b"Date:"))
    assert (
        parse_email_bytes(raw.replace(dated, b"Date: Thu, 29 Dec 2011 14:06:53 -0000")).sender_utc_offset_min
        is None
    )
    assert parse_email_bytes(raw.replace(dated + b"\n", b"")).sender_utc_offset_min is None


def test_a_stronger_source_wins_and_a_weaker_never_replaces_it() -> None:
    best = timezones.best
    common = {"at": NOV, "business_tz": "America/Chicago"}
    assert best(None, None, fields={}, phone="+493090182000", date_offset_min=None, **common) == (
        "Europe/Berlin",
        "phone",
    )
    assert best("Europe/Berlin", "phone", fields={}, phone=None, date_offset_min=-360, **common) is None
    assert best(
        "Etc/GMT-1", "email date", fields={}, phone="+493090182000", date_offset_min=None, **common
    ) == (
        "Europe/Berlin",
        "phone",
    )
    form = {"timezone": "Europe/Lisbon"}
    assert best(
        "Europe/Berlin", "phone", fields=form, phone="+493090182000", date_offset_min=None, **common
    ) == (
        "Europe/Lisbon",
        "form",
    )
    assert best(None, None, fields={}, phone=None, date_offset_min=-360, **common) == (
        "America/Chicago",
        "email date",
    )


@pytest.mark.parametrize(
    ("words", "local"),
    [
        ("thu 9am", "2026-11-26 09:00"),
        ("thursday 9:30 am", "2026-11-26 09:30"),
        ("tomorrow 14:30", "2026-11-25 14:30"),
        ("today 3pm", "2026-11-24 15:00"),
        ("tue 9am", "2026-12-01 09:00"),  # Tuesday 9:00 has passed today: next week's
        ("2026-12-03 9:00", "2026-12-03 09:00"),
        ("9pm", "2026-11-24 21:00"),
        ("thu 14", "2026-11-26 14:00"),  # past 12 without am/pm: only the afternoon
        ("2026-12-03T09:00", "2026-12-03 09:00"),  # a datetime-local input
        ("2026-12-03 16:45", "2026-12-03 16:45"),  # Slack's date and time pickers
    ],
)
def test_visit_times_are_read_in_the_business_zone(words: str, local: str) -> None:
    at = timezones.parse_when(words, NOV, "America/Chicago")  # Tue 10:00 in Chicago
    assert at.tzinfo == UTC and at.astimezone(ZoneInfo("America/Chicago")).strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ("someday 9am", "'someday' is not a day"),
        ("thu 25pm", "'25pm' is not a time"),
        ("today 8am", "Tue 24 Nov 08:00 has already passed"),
        ("2026-11-23T10:00", "Mon 23 Nov 10:00 has already passed"),
        ("", "say when"),
        ("thumb 9am", "'thumb' is not a day"),
        # never a guess: a day alone, an hour that could be either, a time the clocks skip or repeat
        ("thu", "at what time on 'thu'?"),
        ("tomorrow", "at what time on 'tomorrow'?"),
        ("thu 9", "'9' could be morning or evening: say 9am or 9pm (or 09:00)"),
        ("12", "'12' could be morning or evening"),
        ("2027-03-14 02:30", "Sun 14 Mar 02:30 is skipped or happens twice when the clocks change"),
        ("2027-11-07 01:30", "Sun 07 Nov 01:30 is skipped or happens twice when the clocks change"),
    ],
)
def test_unreadable_unclear_or_past_visit_times_are_refused(words: str, said: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(said)):
        timezones.parse_when(words, NOV, "America/Chicago")


@pytest.mark.parametrize(
    ("asked", "day", "at"),
    [
        ("Friday at 10am", "2026-11-27", "10:00"),
        ("tomorrow 14:30", "2026-11-25", "14:30"),
        ("Thursday Dec 3, 8–11", "2026-12-03", None),  # a window: the team picks the time
        ("Dec 3 at noon", "2026-12-03", "12:00"),
        ("Monday morning", "2026-11-30", None),
        ("next Tuesday 2pm", "2026-12-01", "14:00"),
        ("Tuesday 2pm", "2026-11-24", "14:00"),  # today, still ahead
        ("Friday at 10", "2026-11-27", None),  # 10 in the morning or the evening: not guessed
        ("today 9am", None, None),  # already gone (Tue 10:00 in Chicago)
        ("Nov 20", None, None),
        ("sunny afternoons", None, None),
        (None, None, None),
    ],
)
def test_the_time_a_customer_asked_for_prefills_a_visit_picker_only_when_ahead(
    asked: str | None, day: str | None, at: str | None
) -> None:
    got_day, got_at = timezones.suggested_visit(asked, NOV, "America/Chicago")
    assert (str(got_day) if got_day else None, f"{got_at:%H:%M}" if got_at else None) == (day, at)
