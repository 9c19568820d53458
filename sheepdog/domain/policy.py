"""decide(): what happens to a draft. The policy decides from structured triage, never the model.

Handoff rules (PRODUCT.md §4): pricing → a human within 15 minutes; complaint or frustration →
immediate alert and the cadence pauses; booking → a human confirms; a question we cannot answer
→ flagged; referral or returning customer → straight to a human at every level; refund within the owner's
threshold → one-click confirmation (auto at L5), above it → escalated with the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sheepdog.domain.models import (
    ANSWER_PURPOSES,
    Autonomy,
    BusinessHours,
    Category,
    Decision,
    DecisionKind,
    GuardrailResult,
    Money,
    SignalName,
    Triage,
)

NO_REPLY = {Category.SPAM, Category.OPT_OUT}


@dataclass(frozen=True)
class PolicyInput:
    """The facts policy looks at besides triage: who the lead is and what kind of touch this is."""

    autonomy: Autonomy
    purpose: str  # "first_reply", "reply" or a cadence template
    guardrails: GuardrailResult
    opted_out: bool = False
    auto_message: bool = False  # bounce / out-of-office: never answered
    spam_reason: str | None = None
    returning_customer: bool = False
    referral: str | None = None
    answered_from_faq: bool = False  # the draft answers with the business's own words
    step_needs_approval: bool = False  # a cadence step configured with approval = true
    refund_threshold: Money | None = None
    pricing_handoff_s: int = 900
    confidence_floor: float = 0.55


def decide(triage: Triage, facts: PolicyInput) -> Decision:
    """Send, wait for approval, hand off to a human, or drop — with the reasons shown on the card."""
    cat = triage.category
    sure = triage.confidence >= facts.confidence_floor  # a guess never drops a lead or opts anyone out
    if facts.auto_message:
        return Decision(DecisionKind.DROP, ("automatic message (bounce or auto-reply): never answered",))
    if facts.spam_reason or (cat == Category.SPAM and sure):
        return Decision(DecisionKind.DROP, (f"held back as spam: {facts.spam_reason or 'looks like spam'}",))
    if cat == Category.OPT_OUT and sure:
        return Decision(DecisionKind.DROP, ("opted out: no more messages",), stop_cadence=True)
    if facts.opted_out:
        if facts.purpose in ANSWER_PURPOSES:
            # They opted out before and wrote again: nothing automated, but a person must see it.
            return Decision(
                DecisionKind.HANDOFF,
                ("opted out earlier and wrote again: a person decides (nothing automated is sent)",),
                notify=True,
                stop_cadence=True,
            )
        return Decision(DecisionKind.DROP, ("contact has opted out: nothing is sent",), stop_cadence=True)

    frustrated = triage.has(SignalName.FRUSTRATED)
    # A guess never acts either: an unsure "complaint" or "pricing question" waits for a person
    # with the doubt on the card instead of raising an alert and pausing the follow-ups.
    handoff = _handoff(triage, facts, frustrated) if sure or frustrated else _personal(facts)
    hold = list(_exceptions(triage, facts))

    if handoff is not None:
        if (
            facts.autonomy == Autonomy.L5
            and not handoff.urgent
            and not facts.referral
            and not facts.returning_customer
            and not hold
            and cat != Category.REFUND_REQUEST
        ):
            return Decision(
                DecisionKind.SEND, ("L5: sent on its own; team notified", *handoff.reasons), notify=True
            )
        return Decision(
            DecisionKind.HANDOFF,
            handoff.reasons + tuple(hold),
            notify=True,
            urgent=handoff.urgent,
            pause_cadence=handoff.pause_cadence,
            notify_within_s=handoff.notify_within_s,
        )
    if hold:
        return Decision(DecisionKind.APPROVE, tuple(hold))
    if facts.autonomy == Autonomy.L3:
        return Decision(DecisionKind.APPROVE, ("L3: every message waits for approval",))
    if facts.autonomy == Autonomy.L5:
        return Decision(DecisionKind.SEND, ("L5: everything goes out on its own",))
    routine = _is_routine(triage, facts)
    if routine:
        return Decision(DecisionKind.SEND, (routine,))
    return Decision(DecisionKind.APPROVE, (f"L4: {cat.value.replace('_', ' ')} waits for approval",))


def _exceptions(triage: Triage, facts: PolicyInput) -> list[str]:
    """Reasons that make any level wait (guardrails, doubt, a step that always asks)."""
    reasons = [f"guardrail: {r}" for r in facts.guardrails.reasons] if not facts.guardrails.ok else []
    if triage.confidence < facts.confidence_floor:
        reasons.append(f"unsure what this is ({triage.category.value}, {triage.confidence:.0%} confident)")
    if triage.has(SignalName.PROMPT_INJECTION):
        reasons.append("the message tries to instruct the assistant")
    reasons += [
        s.value or "a person should read this first"
        for s in triage.signals
        if s.name == SignalName.NEEDS_HUMAN
    ]
    if facts.step_needs_approval:
        reasons.append("this cadence step always waits for approval")
    return reasons


def _personal(facts: PolicyInput) -> Decision | None:
    """Who the lead is, not what they wrote: known people get a human at every level."""
    if facts.returning_customer:
        return Decision(DecisionKind.HANDOFF, ("returning customer: a human answers personally",))
    if facts.referral:
        return Decision(
            DecisionKind.HANDOFF, (f"referral from {facts.referral}: a human answers personally",)
        )
    return None


def _handoff(triage: Triage, facts: PolicyInput, frustrated: bool) -> Decision | None:
    cat = triage.category
    if cat == Category.COMPLAINT or frustrated:
        why = "complaint" if cat == Category.COMPLAINT else "customer sounds frustrated"
        return Decision(
            DecisionKind.HANDOFF, (f"{why}: alert now, cadence paused",), urgent=True, pause_cadence=True
        )
    if cat == Category.REFUND_REQUEST:
        amount = triage.extracted.refund_amount
        threshold = facts.refund_threshold
        if amount is None or threshold is None:
            return Decision(
                DecisionKind.HANDOFF, ("refund request without an amount: a human decides",), urgent=True
            )
        if amount.currency == threshold.currency and amount.amount <= threshold.amount:
            return Decision(
                DecisionKind.HANDOFF, (f"refund of {amount} is within your {threshold} threshold: confirm",)
            )
        return Decision(
            DecisionKind.HANDOFF,
            (f"refund of {amount} is above your {threshold} threshold: escalated",),
            urgent=True,
        )
    personal = _personal(facts)
    if personal is not None:
        return personal
    if cat == Category.PRICING_QUESTION or triage.has(SignalName.PRICE_ASKED):
        minutes = facts.pricing_handoff_s // 60
        return Decision(
            DecisionKind.HANDOFF,
            (f"pricing question: a human within {minutes} minutes",),
            notify_within_s=facts.pricing_handoff_s,
        )
    if cat == Category.BOOKING:
        return Decision(DecisionKind.HANDOFF, ("booking: a human confirms personally",))
    if cat in (Category.HUMAN_REQUEST, Category.CANCELLATION) or triage.has(SignalName.ASKS_FOR_HUMAN):
        return Decision(DecisionKind.HANDOFF, (f"{cat.value.replace('_', ' ')}: a human takes it",))
    return None


def _is_routine(triage: Triage, facts: PolicyInput) -> str | None:
    """At L4 only these go out on their own."""
    cat = triage.category
    if facts.purpose == "first_reply" and cat == Category.SALES_INQUIRY:
        return "L4: first reply to a new inquiry goes out on its own"
    if cat == Category.ROUTINE_QUESTION and facts.answered_from_faq:
        return "L4: routine question answered from your FAQ"
    if facts.purpose not in ANSWER_PURPOSES:
        return f"L4: cadence touch '{facts.purpose}' goes out on its own"
    return None


# ---- holding replies ------------------------------------------------------------------------

HOLDING_KINDS = ("pricing", "complaint", "booking", "refund", "human", "other")
"""What a person is waited for, each with its own promise (config policy.holding_promise_h)."""


def holding_kind(triage: Triage, decision: Decision, facts: PolicyInput) -> str | None:
    """Why this message waits for a person, when a holding reply should say so; None when no
    holding reply is due: nothing waits, or the message must not be answered at all (spam, an
    opt-out, an auto-reply), or someone who opted out wrote again."""
    if decision.kind != DecisionKind.HANDOFF or facts.autonomy == Autonomy.L3:
        return None  # L3: nothing goes out on its own, a holding reply included
    if facts.purpose not in ANSWER_PURPOSES:
        return None
    if facts.auto_message or facts.spam_reason or facts.opted_out:
        return None
    cat = triage.category
    if cat in NO_REPLY or triage.has(SignalName.PROMPT_INJECTION):
        return None
    if cat == Category.COMPLAINT or triage.has(SignalName.FRUSTRATED):
        return "complaint"
    if cat == Category.REFUND_REQUEST:
        # within the threshold the card's one click refunds and confirms at once
        return "refund" if decision.urgent else None
    if cat == Category.PRICING_QUESTION or triage.has(SignalName.PRICE_ASKED):
        return "pricing"
    if cat == Category.BOOKING:
        return "booking"
    if cat in (Category.HUMAN_REQUEST, Category.CANCELLATION) or triage.has(SignalName.ASKS_FOR_HUMAN):
        return "human"
    return "other"


def answer_by(now: datetime, promise: timedelta, hours: BusinessHours, tz: str) -> tuple[datetime, bool]:
    """When a person will answer: `promise` of business time from now (the clock runs only while
    the business is open). Returns (local time, within today's opening)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    left = promise
    day = local
    for _ in range(14):
        span = hours.days.get(day.weekday())
        if span is not None:
            opens = day.replace(hour=span[0].hour, minute=span[0].minute, second=0, microsecond=0)
            closes = day.replace(hour=span[1].hour, minute=span[1].minute, second=0, microsecond=0)
            start = max(opens, local) if day.date() == local.date() else opens
            if start < closes:
                if start + left <= closes:
                    end = start + left
                    return end, end.date() == local.date() and start == local
                left -= closes - start
        day = (day + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return local + promise, False  # no opening hours at all: the plain promise


def _span_words(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(minutes / 60, 1)
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def holding_text(
    *,
    first_name: str | None,
    owner_name: str,
    kind: str,
    now: datetime,
    promise: timedelta,
    hours: BusinessHours,
    tz: str,
    signature: str | None,
) -> str:
    """'Hi Sam, thanks for your message — Dana will get back to you within 2 hours.' in the
    owner's voice; outside opening hours it names the day and time instead of a promise it
    cannot keep."""
    by, same_stretch = answer_by(now, promise, hours, tz)
    local_now = now.astimezone(ZoneInfo(tz))
    if same_stretch:
        when = f"within {_span_words(promise)}"
    elif by.date() == local_now.date():
        when = f"by {by:%H:%M} today"
    elif by.date() == (local_now + timedelta(days=1)).date():
        when = f"by {by:%H:%M} tomorrow"
    else:
        when = f"by {by:%A} at {by:%H:%M}"
    topic = {
        "complaint": "I'm sorry to hear about this. ",
        "refund": "Thanks for letting us know about the refund. ",
        "pricing": "Thanks for asking about pricing. ",
        "booking": "Thanks for reaching out about a time. ",
    }.get(kind, "Thanks for your message. ")
    hello = f"Hi {first_name}," if first_name else "Hi,"
    body = f"{hello}\n\n{topic}{owner_name} will get back to you personally {when}."
    return f"{body}\n\n{signature}" if signature else body


# ---- opt-out ---------------------------------------------------------------------------------

ALL_CHANNELS = "*"


def opted_out_of(channels: list[str] | None, flag: bool, channel: str, scope: str) -> bool:
    """Has the contact closed this channel? With scope "all" any opt-out closes every channel;
    with "channel" only the channels they opted out on (or "*", set by the team) are closed."""
    if scope == "all":
        return flag or bool(channels)
    return ALL_CHANNELS in (channels or []) or channel in (channels or [])
