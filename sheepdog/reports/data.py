"""Reads what the metrics, the pipeline and the weekly report need from storage, and words them.

The numbers come from domain.metrics (pure); this module only loads rows and renders text, so the
chat command, the console page, the CLI and the Monday report show the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from sheepdog.domain import metrics as rules
from sheepdog.domain.metrics import Metrics, Period
from sheepdog.domain.models import Money, Stage
from sheepdog.storage.db import Database
from sheepdog.storage.tables import Contact, Event, Lead

OPEN_STAGES = [s.value for s in Stage if s not in (Stage.WON, Stage.LOST)]


def load_events(db: Database, start: datetime, end: datetime) -> list[rules.EventRow]:
    """Every event in [start, end), oldest first (in the order they were written)."""
    with db.session() as s:
        return [
            rules.EventRow(e.kind, e.lead_id, e.at, e.data or {}, e.actor)
            for e in s.scalars(select(Event).where(Event.at >= start, Event.at < end).order_by(Event.id))
        ]


@dataclass(frozen=True)
class Comparison:
    """A period's metrics and those of the period of the same length just before."""

    period: Period
    now: Metrics
    before: Metrics


def compare(db: Database, period: Period) -> Comparison:
    before = period.previous()
    events = load_events(db, before.start, period.end)
    return Comparison(period, rules.compute(events, period), rules.compute(events, before))


def metrics_text(c: Comparison, currency: str) -> str:
    """The chat answer: every metric, each with its change against the period before."""
    m, b = c.now, c.before
    d, p, ch = rules.duration, rules.percent, rules.change

    def money(value: Decimal | None) -> str:
        return "—" if value is None else str(Money(value, currency))

    stages = ", ".join(
        f"{stage.replace('_', ' ')} {p(rate)}" for stage, rate in m.conversion_by_stage.items()
    )
    cadences = ", ".join(f"{name} {p(rate)}" for name, rate in m.opt_out_by_cadence.items()) or "—"
    lines = [
        f"*Metrics, {c.period.label}* — {m.leads} leads {ch(m.leads, b.leads, kind='count')}; "
        f"compared with {c.period.previous().label}",
        f"• First response, automated: p50 {d(m.first_auto_p50_s)} {ch(m.first_auto_p50_s, b.first_auto_p50_s, kind='duration')}, "
        f"p90 {d(m.first_auto_p90_s)}",
        f"• First response, human: p50 {d(m.first_human_p50_s)} {ch(m.first_human_p50_s, b.first_human_p50_s, kind='duration')}, "
        f"p90 {d(m.first_human_p90_s)}",
        f"• Time to first meaningful touch: p50 {d(m.first_touch_p50_s)} "
        f"{ch(m.first_touch_p50_s, b.first_touch_p50_s, kind='duration')}, p90 {d(m.first_touch_p90_s)}",
        f"• Reply rate {p(m.reply_rate)} {ch(m.reply_rate, b.reply_rate)} · "
        f"qualification rate {p(m.qualification_rate)} {ch(m.qualification_rate, b.qualification_rate)} · "
        f"handoff rate {p(m.handoff_rate)} {ch(m.handoff_rate, b.handoff_rate)}",
        f"• Conversion {p(m.conversion)} {ch(m.conversion, b.conversion)}: {m.won} won "
        f"({money(m.won_value)}), {m.lost} lost; from each stage: {stages}",
        f"• Opt-out rate per cadence: {cadences}",
        f"• Revenue per closer hour {money(m.revenue_per_closer_hour)} "
        f"{ch(m.revenue_per_closer_hour, b.revenue_per_closer_hour, kind='count')} "
        f"({money(m.revenue)} won over {m.closer_hours:g} h of team time)",
        f"• Support resolved without escalation {p(m.support_resolved_rate)} "
        f"{ch(m.support_resolved_rate, b.support_resolved_rate)} of {m.support_messages} support messages",
        f"• Messages that needed the owner: {m.owner_messages} of {m.messages} ({p(m.owner_share)}) "
        f"{ch(m.owner_share, b.owner_share)}",
    ]
    # A change that cannot be computed is '': close the gap it leaves.
    tidy = (
        " ".join(line.split()).replace(" ,", ",").replace(" :", ":").replace(" ·", " ·") for line in lines
    )
    return "\n".join(tidy)


def metrics_json(c: Comparison, currency: str) -> dict[str, Any]:
    """The same figures as metrics_text, as rows a page lays out: each metric's value now and in
    the period before, in words (domain.metrics' duration/percent/change) and as numbers."""
    m, b = c.now, c.before
    rules_words = {"duration": rules.duration, "rate": rules.percent}

    def words(value: Any, kind: str) -> str:
        if kind == "money":
            return "—" if value is None else str(Money(value, currency))
        if kind == "count":
            return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
        return rules_words[kind](value)

    def number(value: Any) -> Any:
        return str(value) if isinstance(value, Decimal) else value

    def row(key: str, label: str, kind: str, now: Any, before: Any, note: str = "") -> dict[str, Any]:
        return {
            "key": key,
            "label": label,
            "kind": kind,
            "now": number(now),
            "before": number(before),
            "now_text": words(now, kind),
            "before_text": words(before, kind),
            "change": rules.change(now, before, kind="count" if kind == "money" else kind).strip("()"),
            "note": note,
        }

    rows = [
        row("leads", "New leads", "count", m.leads, b.leads),
        row(
            "first_auto_p50_s",
            "First reply, automated (p50)",
            "duration",
            m.first_auto_p50_s,
            b.first_auto_p50_s,
        ),
        row(
            "first_auto_p90_s",
            "First reply, automated (p90)",
            "duration",
            m.first_auto_p90_s,
            b.first_auto_p90_s,
        ),
        row(
            "first_human_p50_s",
            "First reply, human (p50)",
            "duration",
            m.first_human_p50_s,
            b.first_human_p50_s,
        ),
        row(
            "first_human_p90_s",
            "First reply, human (p90)",
            "duration",
            m.first_human_p90_s,
            b.first_human_p90_s,
        ),
        row(
            "first_touch_p50_s",
            "First meaningful touch (p50)",
            "duration",
            m.first_touch_p50_s,
            b.first_touch_p50_s,
        ),
        row(
            "first_touch_p90_s",
            "First meaningful touch (p90)",
            "duration",
            m.first_touch_p90_s,
            b.first_touch_p90_s,
        ),
        row("reply_rate", "Reply rate", "rate", m.reply_rate, b.reply_rate),
        row("qualification_rate", "Qualification rate", "rate", m.qualification_rate, b.qualification_rate),
        row("handoff_rate", "Handoff rate", "rate", m.handoff_rate, b.handoff_rate),
        row("conversion", "Conversion", "rate", m.conversion, b.conversion, f"{m.won} won, {m.lost} lost"),
        row("won_value", "Won value", "money", m.won_value, b.won_value),
        row(
            "revenue_per_closer_hour",
            "Revenue per closer hour",
            "money",
            m.revenue_per_closer_hour,
            b.revenue_per_closer_hour,
            f"{words(m.revenue, 'money')} won over {m.closer_hours:g} h of team time",
        ),
        row(
            "support_resolved_rate",
            "Support resolved without escalation",
            "rate",
            m.support_resolved_rate,
            b.support_resolved_rate,
            f"of {m.support_messages} support messages",
        ),
        row(
            "owner_share",
            "Messages that needed the owner",
            "rate",
            m.owner_share,
            b.owner_share,
            f"{m.owner_messages} of {m.messages}",
        ),
    ]
    return {
        "period": {
            "label": c.period.label,
            "start": c.period.start.isoformat(),
            "end": c.period.end.isoformat(),
        },
        "before": {
            "label": c.period.previous().label,
            "start": c.period.previous().start.isoformat(),
            "end": c.period.previous().end.isoformat(),
        },
        "metrics": rows,
        "conversion_by_stage": [
            {
                "stage": stage,
                "reached": m.stage_reached.get(stage, 0),
                "rate": rate,
                "rate_text": rules.percent(rate),
                "before_text": rules.percent(b.conversion_by_stage.get(stage)),
                "change": rules.change(rate, b.conversion_by_stage.get(stage)).strip("()"),
            }
            for stage, rate in m.conversion_by_stage.items()
        ],
        "opt_out_by_cadence": [
            {
                "cadence": name,
                "rate": rate,
                "rate_text": rules.percent(rate),
                "before_text": rules.percent(b.opt_out_by_cadence.get(name)),
                "change": rules.change(rate, b.opt_out_by_cadence.get(name)).strip("()"),
            }
            for name, rate in m.opt_out_by_cadence.items()
        ],
        "text": metrics_text(c, currency),
    }


# ---- pipeline -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineLead:
    id: int
    title: str
    stage: str
    owner: str | None
    score: int | None
    stuck: str | None


@dataclass
class PipelineStage:
    stage: str
    leads: list[PipelineLead] = field(default_factory=list)
    owners: dict[str, int] = field(default_factory=dict)
    value: Decimal | None = None  # expected value: count × the average won deal, when there is one


@dataclass(frozen=True)
class Pipeline:
    stages: list[PipelineStage]
    stuck: list[PipelineLead]
    average_win: Decimal | None
    currency: str

    def as_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "average_win": None if self.average_win is None else str(self.average_win),
            "average_win_text": None
            if self.average_win is None
            else str(Money(self.average_win, self.currency)),
            "stages": [
                {
                    "stage": st.stage,
                    "count": len(st.leads),
                    "owners": st.owners,
                    "value": None if st.value is None else str(st.value),
                    "value_text": None if st.value is None else str(Money(st.value, self.currency)),
                    "leads": [lead.__dict__ for lead in st.leads],
                }
                for st in self.stages
            ],
            "stuck": [lead.__dict__ for lead in self.stuck],
        }


def pipeline(db: Database, now: datetime, claim_sla_s: float, currency: str) -> Pipeline:
    """Open leads by stage with owners and expected value, and the stuck ones (domain.metrics.stuck_reason)."""
    from datetime import timedelta

    sla = timedelta(seconds=claim_sla_s)
    with db.session() as s:
        leads = s.scalars(select(Lead).where(Lead.stage.in_(OPEN_STAGES)).order_by(Lead.id)).all()
        ids = [lead.id for lead in leads]
        last = (
            dict(
                s.execute(
                    select(Event.lead_id, func.max(Event.at))
                    .where(Event.lead_id.in_(ids))
                    .group_by(Event.lead_id)
                ).all()
            )
            if ids
            else {}
        )
        avg = s.scalar(select(func.avg(Lead.outcome_value)).where(Lead.stage == Stage.WON.value))
        average_win = Decimal(str(avg)).quantize(Decimal("0.01")) if avg is not None else None
        by_stage: dict[str, PipelineStage] = {st: PipelineStage(st) for st in OPEN_STAGES}
        stuck: list[PipelineLead] = []
        for lead in leads:
            contact: Contact = lead.contact
            state = rules.LeadState(
                stage=lead.stage,
                owner=lead.owner,
                needs_attention=lead.needs_attention,
                created_at=lead.created_at,
                last_activity_at=last.get(lead.id),
                opted_out=contact.opted_out,
            )
            row = PipelineLead(
                lead.id,
                contact.name or contact.email or contact.phone or f"Lead #{lead.id}",
                lead.stage,
                lead.owner,
                lead.score,
                rules.stuck_reason(state, now, sla),
            )
            st = by_stage.setdefault(lead.stage, PipelineStage(lead.stage))
            st.leads.append(row)
            if row.stuck:
                stuck.append(row)
    for st in by_stage.values():
        owners: dict[str, int] = defaultdict(int)
        for lead in st.leads:
            owners[lead.owner or "unclaimed"] += 1
        st.owners = dict(sorted(owners.items(), key=lambda kv: (-kv[1], kv[0])))
        if average_win is not None and st.leads:
            st.value = average_win * len(st.leads)
    return Pipeline([st for st in by_stage.values()], stuck, average_win, currency)


def pipeline_text(p: Pipeline, limit: int = 10) -> str:
    lines = ["*Pipeline*"]
    for st in p.stages:
        if not st.leads:
            continue
        who = ", ".join(f"{name} {n}" for name, n in st.owners.items())
        value = f", ≈ {Money(st.value, p.currency)}" if st.value is not None else ""
        lines.append(f"• {st.stage.replace('_', ' ')}: {len(st.leads)} ({who}){value}")
    if len(lines) == 1:
        lines.append("No open leads.")
    elif p.average_win is not None:
        lines.append(f"_≈ value: leads × the average win ({Money(p.average_win, p.currency)})_")
    if p.stuck:
        lines.append(f"*Stuck* ({len(p.stuck)})")
        for lead in p.stuck[:limit]:
            owner = f" · {lead.owner}" if lead.owner else ""
            lines.append(f"• #{lead.id} {lead.title} ({lead.stage.replace('_', ' ')}{owner}) — {lead.stuck}")
        if len(p.stuck) > limit:
            lines.append(f"… and {len(p.stuck) - limit} more")
    return "\n".join(lines)
