"""Metrics computed from the event log: pure functions over plain rows, no database.

The log is the one source of truth ("every step appends to an event log"), so the numbers in
/sheepdog metrics are reproducible from it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from statistics import median
from typing import Any


@dataclass(frozen=True)
class EventRow:
    kind: str
    lead_id: int | None
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Metrics:
    leads: int
    first_auto_s: float | None  # median seconds from lead to first automated reply
    first_human_s: float | None  # median seconds from lead to first reply a person sent or approved
    reply_rate: float | None  # leads that answered after our first message / leads we contacted
    handoff_rate: float | None  # leads handed to a human / leads
    conversion: float | None  # won / leads
    won: int
    lost: int
    won_value: Decimal


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def compute(events: list[EventRow]) -> Metrics:
    """One pass over the log, oldest first: per lead, when it arrived, was answered, replied, closed."""
    created: dict[int, datetime] = {}
    first_auto: dict[int, datetime] = {}
    first_human: dict[int, datetime] = {}
    first_sent: dict[int, datetime] = {}
    replied: set[int] = set()
    handed: set[int] = set()
    outcome: dict[int, tuple[str, Decimal]] = {}
    for e in sorted(events, key=lambda e: e.at):
        lead = e.lead_id
        if lead is None:
            continue
        if e.kind == "lead_created":
            created.setdefault(lead, e.at)
        elif e.kind == "sent":
            first_sent.setdefault(lead, e.at)
            target = first_auto if e.data.get("automated") in (True, "True", "true") else first_human
            target.setdefault(lead, e.at)
        elif e.kind == "message_received" and lead in first_sent and e.at > first_sent[lead]:
            replied.add(lead)
        elif e.kind == "handoff":
            handed.add(lead)
        elif e.kind == "outcome" and e.data.get("result") in ("won", "lost"):
            try:
                value = Decimal(str(e.data.get("value") or 0))
            except InvalidOperation:
                value = Decimal(0)
            outcome[lead] = (str(e.data["result"]), value)

    def med(firsts: dict[int, datetime]) -> float | None:
        spans = [(at - created[lead]).total_seconds() for lead, at in firsts.items() if lead in created]
        return float(median(spans)) if spans else None

    leads = len(created)
    won = [v for lead, (r, v) in outcome.items() if r == "won" and lead in created]
    lost = sum(1 for lead, (r, _) in outcome.items() if r == "lost" and lead in created)
    contacted = [lead for lead in first_sent if lead in created]
    return Metrics(
        leads=leads,
        first_auto_s=med(first_auto),
        first_human_s=med(first_human),
        reply_rate=_rate(sum(1 for lead in contacted if lead in replied), len(contacted)),
        handoff_rate=_rate(sum(1 for lead in handed if lead in created), leads),
        conversion=_rate(len(won), leads),
        won=len(won),
        lost=lost,
        won_value=sum(won, Decimal(0)),
    )


def duration(seconds: float | None) -> str:
    """'45 s', '12 min', '3.5 h', or '—' when there is nothing to measure."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


__all__ = ["EventRow", "Metrics", "compute", "duration", "percent", "timedelta"]
