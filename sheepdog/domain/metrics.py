"""Metrics computed from the event log: pure functions over plain rows, no database.

The log is the one source of truth ("every step appends to an event log"), so every number in
`/sheepdog metrics`, the pipeline and the weekly report is reproducible from it alone. Each metric
is defined in the README (section "Metrics"); the definitions below are the code of record.

A period is half-open, [start, end). Lead metrics look at the *cohort*: the leads created in the
period, followed up to its end (a lead created on the 30th and won on the 2nd of the next month
counts as open in November's figures). Message metrics look at the inbound messages of the period.
Percentiles are nearest-rank (p50 of 1, 2, 3, 4 is 2): a value that really happened, easy to check
by hand.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

FUNNEL = ("contacted", "qualified", "visit_scheduled", "quoted")
"""Stages a lead passes on the way to won, in order; conversion by stage is won / reached, each."""

QUALIFIED_STAGES = frozenset({"qualified", "visit_scheduled", "quoted", "won"})
SUPPORT_CATEGORIES = frozenset(
    {"routine_question", "status_inquiry", "booking", "cancellation", "refund_request", "complaint"}
)
"""Inbound categories that are customer service, not sales (support resolution is measured on these)."""

HUMAN_TOUCHES = frozenset(
    {
        "lead_claimed",
        "team_reply",
        "note_added",
        "stage_changed",
        "draft_approved",
        "draft_edited",
        "outcome",
    }
)
"""Events by a person that count as a meaningful touch (a claim, a reply, a note, a decision)."""

CLOSER_SLOT = timedelta(minutes=15)
"""Closer time is counted in slots: each quarter-hour in which a person acted on leads is 15 minutes."""

DEFAULT_DAYS = 7


@dataclass(frozen=True)
class EventRow:
    kind: str
    lead_id: int | None
    at: datetime
    data: dict[str, Any]
    actor: str | None = None


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, with the words a person used for it."""

    start: datetime
    end: datetime
    label: str

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of the same length just before: what a figure is compared with."""
        return Period(self.start - self.length, self.start, f"the {self.length.days} days before")

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Metrics:
    leads: int
    first_auto_p50_s: float | None  # lead created → first automated reply
    first_auto_p90_s: float | None
    first_human_p50_s: float | None  # lead created → first reply a person sent or approved
    first_human_p90_s: float | None
    reply_rate: float | None  # leads that wrote back after our first message / leads we contacted
    qualification_rate: float | None  # leads that reached qualified (or further) / leads
    handoff_rate: float | None  # leads handed to a human / leads
    conversion: float | None  # won / leads
    conversion_by_stage: dict[str, float | None]  # stage → won / leads that reached it
    opt_out_by_cadence: dict[str, float | None]  # cadence → opted out / leads on it
    first_touch_p50_s: float | None  # lead created → first meaningful touch by a person
    first_touch_p90_s: float | None
    revenue_per_closer_hour: Decimal | None  # won value in the period / closer hours
    closer_hours: float
    support_messages: int
    support_resolved_rate: float | None  # support messages answered without escalation / support
    messages: int  # inbound messages in the period
    owner_messages: int  # of which needed a person (approval or handoff)
    won: int
    lost: int
    won_value: Decimal  # value of the cohort's won leads
    revenue: Decimal  # value of every win recorded in the period (revenue per hour uses it)
    stage_reached: dict[str, int] = field(default_factory=dict)

    @property
    def owner_share(self) -> float | None:
        return _rate(self.owner_messages, self.messages)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered)))
    return float(ordered[rank - 1])


def _value(data: dict[str, Any]) -> Decimal:
    try:
        value = Decimal(str(data.get("value") or 0))
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


def _automated(data: dict[str, Any]) -> bool:
    return data.get("automated") in (True, "True", "true")


def _person(actor: str | None) -> bool:
    return bool(actor) and not str(actor).startswith("Sheepdog")


def compute(events: list[EventRow], period: Period | None = None) -> Metrics:
    """One pass over the log, oldest first. Without a period every event counts (the whole log)."""
    if period is None:
        stamps = [e.at for e in events] or [datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))]
        period = Period(min(stamps), max(stamps) + timedelta(seconds=1), "all time")
    rows = sorted((e for e in events if e.at < period.end), key=lambda e: e.at)

    created: dict[int, datetime] = {}
    first_auto: dict[int, datetime] = {}
    first_human: dict[int, datetime] = {}
    first_sent: dict[int, datetime] = {}
    first_touch: dict[int, datetime] = {}
    replied: set[int] = set()
    handed: set[int] = set()
    reached: dict[str, set[int]] = defaultdict(set)
    outcome: dict[int, tuple[str, Decimal]] = {}
    cadence_of: dict[int, str] = {}
    opted: set[int] = set()
    revenue = Decimal(0)
    slots: set[tuple[str, int]] = set()
    # Each inbound message of the period and what followed it until the lead's next one: an
    # automated answer, an escalation, a person needed (a draft waiting for approval, a handoff).
    inbound: list[dict[str, Any]] = []
    open_msg: dict[int, dict[str, Any]] = {}

    for e in rows:
        lead = e.lead_id
        if (
            _person(e.actor)
            and e.kind in HUMAN_TOUCHES | {"draft_skipped", "lead_unclaimed"}
            and period.holds(e.at)
        ):
            slots.add((str(e.actor), int(e.at.timestamp() // CLOSER_SLOT.total_seconds())))
        if e.kind == "outcome" and e.data.get("result") == "won" and period.holds(e.at):
            revenue += _value(e.data)
        if lead is None:
            continue
        if e.kind in ("lead_created", "message_received"):
            # Both carry the message's category; what the brain decided about it (a handoff, a
            # draft waiting for approval) is logged in the same transaction, right after.
            msg = {"category": e.data.get("category"), "answered": False, "escalated": False, "owner": False}
            open_msg[lead] = msg
            if period.holds(e.at):
                inbound.append(msg)
        if e.kind == "lead_created":
            if period.holds(e.at):
                created.setdefault(lead, e.at)
        elif e.kind == "sent":
            first_sent.setdefault(lead, e.at)
            if _automated(e.data):
                first_auto.setdefault(lead, e.at)
                msg = open_msg.get(lead)
                if msg is not None:
                    msg["answered"] = True
            else:
                first_human.setdefault(lead, e.at)
        elif e.kind == "message_received" and lead in first_sent and e.at > first_sent[lead]:
            replied.add(lead)
        elif e.kind in ("handoff", "sla_escalated"):
            if e.kind == "handoff":
                handed.add(lead)
            msg = open_msg.get(lead)
            if msg is not None:
                msg["escalated"] = msg["owner"] = True
        elif e.kind == "draft_created" and e.data.get("decision") in ("approve", "handoff"):
            msg = open_msg.get(lead)
            if msg is not None:
                msg["owner"] = True
        elif e.kind == "stage_changed":
            reached[str(e.data.get("new"))].add(lead)
        elif e.kind == "outcome" and e.data.get("result") in ("won", "lost"):
            outcome[lead] = (str(e.data["result"]), _value(e.data))
        elif e.kind == "cadence_started" and e.data.get("cadence"):
            cadence_of.setdefault(lead, str(e.data["cadence"]))
        elif e.kind == "opted_out":
            opted.add(lead)
        if _person(e.actor) and (e.kind in HUMAN_TOUCHES or (e.kind == "sent" and not _automated(e.data))):
            first_touch.setdefault(lead, e.at)

    def spans(firsts: dict[int, datetime]) -> list[float]:
        return [(firsts[lead] - at).total_seconds() for lead, at in created.items() if lead in firsts]

    auto, human, touch = spans(first_auto), spans(first_human), spans(first_touch)
    leads = len(created)
    cohort = set(created)
    won_leads = [lead for lead, (r, _) in outcome.items() if r == "won" and lead in cohort]
    reached["contacted"] |= set(first_sent)
    by_stage: dict[str, float | None] = {}
    stage_reached: dict[str, int] = {}
    for stage in FUNNEL:
        got = reached[stage] & cohort
        stage_reached[stage] = len(got)
        by_stage[stage] = _rate(len(got & set(won_leads)), len(got))
    qualified = {lead for s in QUALIFIED_STAGES for lead in reached[s]} | set(won_leads)
    per_cadence: dict[str, list[int]] = defaultdict(list)
    for lead, name in cadence_of.items():
        if lead in cohort:
            per_cadence[name].append(lead)
    hours = len(slots) * CLOSER_SLOT.total_seconds() / 3600
    support = [m for m in inbound if m["category"] in SUPPORT_CATEGORIES]
    return Metrics(
        leads=leads,
        first_auto_p50_s=percentile(auto, 0.5),
        first_auto_p90_s=percentile(auto, 0.9),
        first_human_p50_s=percentile(human, 0.5),
        first_human_p90_s=percentile(human, 0.9),
        reply_rate=_rate(len(replied & cohort & set(first_sent)), len(cohort & set(first_sent))),
        qualification_rate=_rate(len(qualified & cohort), leads),
        handoff_rate=_rate(len(handed & cohort), leads),
        conversion=_rate(len(won_leads), leads),
        conversion_by_stage=by_stage,
        opt_out_by_cadence={
            name: _rate(sum(1 for lead in members if lead in opted), len(members))
            for name, members in sorted(per_cadence.items())
        },
        first_touch_p50_s=percentile(touch, 0.5),
        first_touch_p90_s=percentile(touch, 0.9),
        revenue_per_closer_hour=(revenue / Decimal(str(hours))).quantize(Decimal("0.01")) if hours else None,
        closer_hours=hours,
        support_messages=len(support),
        support_resolved_rate=_rate(
            sum(1 for m in support if m["answered"] and not m["escalated"]), len(support)
        ),
        messages=len(inbound),
        owner_messages=sum(1 for m in inbound if m["owner"]),
        won=len(won_leads),
        lost=sum(1 for lead, (r, _) in outcome.items() if r == "lost" and lead in cohort),
        won_value=sum((outcome[lead][1] for lead in won_leads), Decimal(0)),
        revenue=revenue,
        stage_reached=stage_reached,
    )


# ---- periods ------------------------------------------------------------------------------------

_DAYS = re.compile(r"^(\d{1,4})\s*(d|day|days|w|week|weeks)$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|to|–|—)\s*(\d{4}-\d{2}-\d{2})$")


class PeriodError(ValueError):
    """The words do not name a period; the message says what would."""


def parse_period(text: str, now: datetime, tz: str) -> Period:
    """'7d', '30 days', '2w', or '2026-11-01..2026-11-30' (both days whole, in the business's zone).
    Empty means the last 7 days."""
    words = (text or "").strip().lower()
    if not words:
        words = f"{DEFAULT_DAYS}d"
    m = _DAYS.match(words)
    if m:
        n = int(m.group(1)) * (7 if m.group(2).startswith("w") else 1)
        if not 1 <= n <= 3660:
            raise PeriodError(f"{text!r}: a period is 1 to 3660 days")
        return Period(now - timedelta(days=n), now, f"the last {n} days")
    m = _RANGE.match(words)
    if m:
        try:
            first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        except ValueError as exc:
            raise PeriodError(f"{text!r}: {exc}") from None
        if last < first:
            raise PeriodError(f"{text!r}: the end comes before the start")
        if (last - first).days > 3660:
            raise PeriodError(f"{text!r}: a period is at most 3660 days")
        zone = ZoneInfo(tz)
        start = datetime.combine(first, time(0), zone).astimezone(ZoneInfo("UTC"))
        end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(ZoneInfo("UTC"))
        return Period(start, end, f"{first.isoformat()} to {last.isoformat()}")
    raise PeriodError(f"{text!r} is not a period: say 7d, 30d, 2w or 2026-11-01..2026-11-30")


def week_before(now: datetime, tz: str) -> Period:
    """The last whole week, Monday 00:00 to Monday 00:00 in the business's zone (the weekly report's)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), zone)
    start = datetime.combine(monday.date() - timedelta(days=7), time(0), zone)
    utc = ZoneInfo("UTC")
    return Period(start.astimezone(utc), monday.astimezone(utc), f"week of {start.date().isoformat()}")


# ---- stuck leads (one definition: the pipeline, the SLA job and the report use it) -----------------


@dataclass(frozen=True)
class LeadState:
    """What 'stuck' needs to know of a lead."""

    stage: str
    owner: str | None
    needs_attention: str | None
    created_at: datetime
    last_activity_at: datetime | None
    opted_out: bool = False


STUCK_IDLE = timedelta(days=3)
"""An open lead with an owner and nothing happening on it for this long is stuck."""


UNCLAIMED = "unclaimed past the SLA"


def unclaimed_past_sla(owner: str | None, created_at: datetime, now: datetime, claim_sla: timedelta) -> bool:
    """Nobody claimed it and the claim SLA has run out: stuck here, escalated by the SLA job."""
    return owner is None and created_at <= now - claim_sla


def stuck_reason(lead: LeadState, now: datetime, claim_sla: timedelta) -> str | None:
    """Why an open lead is stuck, or None. Won, lost and opted-out leads never are.
    - someone must look (a draft waits, a handoff, a failed send): the card's own line;
    - nobody claimed it within the claim SLA;
    - claimed, but nothing happened on it for STUCK_IDLE."""
    if lead.stage in ("won", "lost") or lead.opted_out:
        return None
    if lead.needs_attention:
        return lead.needs_attention
    if lead.owner is None:
        return UNCLAIMED if unclaimed_past_sla(lead.owner, lead.created_at, now, claim_sla) else None
    last = lead.last_activity_at or lead.created_at
    if last <= now - STUCK_IDLE:
        return f"no activity for {(now - last).days} days"
    return None


# ---- words ----------------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """'45 s', '12 min', '3.5 h', or '—' when there is nothing to measure."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def change(now: float | Decimal | None, before: float | Decimal | None, *, kind: str = "rate") -> str:
    """'(+5 pts)', '(−30 s)', '(+12%)' against the period before; '' when either side is unknown.
    Rates move in points, durations in time, money and counts in percent."""
    if now is None or before is None:
        return ""
    delta = float(now) - float(before)
    if kind == "rate":
        return f"({delta * 100:+.0f} pts)"
    if kind == "duration":
        sign = "+" if delta >= 0 else "−"
        return f"({sign}{duration(abs(delta))})"
    if float(before) == 0:
        return "(new)" if delta else "(=)"
    return f"({delta / float(before):+.0%})"


__all__ = [
    "EventRow",
    "LeadState",
    "Metrics",
    "Period",
    "PeriodError",
    "change",
    "compute",
    "duration",
    "parse_period",
    "percent",
    "percentile",
    "stuck_reason",
    "week_before",
]
