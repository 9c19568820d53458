"""Metrics from the event log: pure, so each number is checked against a hand-made log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sheepdog.domain.metrics import EventRow, compute, duration, percent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ev(kind: str, lead: int, minutes: float, **data: object) -> EventRow:
    return EventRow(kind, lead, T0 + timedelta(minutes=minutes), dict(data))


def test_compute_from_a_small_log() -> None:
    log = [
        ev("lead_created", 1, 0),
        ev("sent", 1, 1, automated=True),
        ev("message_received", 1, 30),
        ev("outcome", 1, 60, result="won", value="4500"),
        ev("lead_created", 2, 0),
        ev("handoff", 2, 0),
        ev("sent", 2, 120, automated=False),
        ev("lead_created", 3, 0),
        ev("outcome", 3, 10, result="lost", reason="price"),
    ]
    m = compute(log)
    assert m.leads == 3
    assert m.first_auto_s == 60 and m.first_human_s == 7200
    assert m.reply_rate == 0.5 and m.handoff_rate == 1 / 3
    assert m.conversion == 1 / 3 and m.won == 1 and m.lost == 1 and m.won_value == Decimal("4500")


def test_empty_log_says_nothing_rather_than_zero() -> None:
    m = compute([])
    assert m.leads == 0 and m.reply_rate is None and percent(m.conversion) == "—"
    assert duration(None) == "—" and duration(45) == "45 s" and duration(600) == "10 min"
