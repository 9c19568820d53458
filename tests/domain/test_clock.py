"""domain.clock: one clock, the business's, with the day when it is not today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sheepdog.domain.clock import minutes_words, shown_span, shown_time

NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)  # 13:00 in Chicago (CDT from 8 March)


def test_times_are_the_business_zone_with_the_day_when_not_today() -> None:
    tz = "America/Chicago"
    assert shown_time(datetime(2026, 3, 10, 19, 2, tzinfo=UTC), tz, NOW) == "14:02"
    assert shown_time(datetime(2026, 3, 10, 4, 3, tzinfo=UTC), tz, NOW) == "yesterday 23:03"  # UTC says today
    assert shown_time(datetime(2026, 3, 2, 15, 0, tzinfo=UTC), tz, NOW) == "Mon 2 Mar 09:00"
    assert shown_time(datetime(2025, 12, 24, 15, 0, tzinfo=UTC), tz, NOW) == "24 Dec 2025 09:00"
    assert shown_time(datetime(2026, 3, 10, 19, 2), tz, NOW) == "14:02"  # naive means UTC
    assert shown_time(None, tz, NOW) == ""


def test_durations_in_words() -> None:
    assert [minutes_words(s) for s in (60, 900, 5400, 7200, 4 * 86400)] == [
        "1 minute",
        "15 minutes",
        "2 hours",
        "2 hours",
        "4 days",
    ]


def test_periods_read_as_days_when_whole_else_with_times() -> None:
    tz = "America/Chicago"
    # 1-7 March 2026, whole local days (CST, UTC-6): the end is exclusive, so it reads '– Sat 7 Mar'.
    start, end = datetime(2026, 3, 1, 6, tzinfo=UTC), datetime(2026, 3, 8, 6, tzinfo=UTC)
    assert shown_span(start, end, tz, NOW) == "Sun 1 Mar – Sat 7 Mar"
    assert shown_span(start, start + timedelta(days=1), tz, NOW) == "Sun 1 Mar"
    assert shown_span(NOW - timedelta(days=7), NOW, tz, NOW) == "Tue 3 Mar 12:00 – now"
    assert shown_span(NOW - timedelta(days=14), NOW - timedelta(days=7), tz, NOW) == (
        "Tue 24 Feb 12:00 – Tue 3 Mar 12:00"
    )
    assert shown_span(datetime(2025, 12, 1, 6, tzinfo=UTC), datetime(2026, 1, 1, 6, tzinfo=UTC), tz, NOW) == (
        "Mon 1 Dec 2025 – Wed 31 Dec 2025"
    )
