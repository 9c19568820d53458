"""Lead scoring against the business's rubric: deterministic, so both backends agree on the number.

The score starts at 40, each matching rubric line adds its points, the result is clamped to
1..100 and graded A >= 80, B >= 60, C >= 40, else D (see config.example.toml).
"""

from __future__ import annotations

import re

from sheepdog.domain.extract import extract_service
from sheepdog.domain.models import Category, Direction, LeadContext, NextAction, SignalName

BASE_SCORE = 40
GRADES = ((80, "A"), (60, "B"), (40, "C"))


def grade_for(score: int) -> str:
    return next((g for floor, g in GRADES if score >= floor), "D")


def lead_text(lead: LeadContext) -> str:
    """Everything the lead wrote, oldest first (what keyword rules look at)."""
    return "\n".join(h.text for h in lead.history if h.direction == Direction.INBOUND)


def lead_service(lead: LeadContext) -> str | None:
    """The service asked about: the one they picked on the form (a choice beats a word their
    message happens to mention: "heat pump install" with "our furnace is old"), else the one
    triage found in the message, else the whole conversation's."""
    field_value = lead.fields.get("service")
    if field_value:
        return extract_service(field_value, lead.business) or field_value
    if lead.triage.extracted.service:
        return lead.triage.extracted.service
    return extract_service(lead_text(lead), lead.business)


def _matches(when: str, lead: LeadContext, service: str | None, text: str) -> bool:
    kind, _, arg = when.partition(":")
    arg_l = arg.strip().lower()
    if kind == "service":
        return service is not None and (arg_l == "any" or service.lower() == arg_l)
    if kind == "channel":
        return lead.channel.value == arg_l
    if kind == "source":
        src = f"{lead.source or ''} {'referral' if lead.referral else ''}".lower()
        return arg_l in src
    if kind == "keyword":
        return re.search(rf"\b{re.escape(arg_l)}\b", text.lower()) is not None
    if kind == "signal":
        if arg_l == "referral" and lead.referral:
            return True
        if arg_l == "returning_customer" and lead.returning_customer:
            return True
        return any(s.name.value == arg_l for s in lead.triage.signals)
    if kind == "has":
        ex = lead.triage.extracted
        return bool(
            {
                "phone": lead.contact_phone,
                "email": lead.contact_email,
                "name": lead.contact_name or ex.name,
                "company": lead.fields.get("company") or ex.company,
            }.get(arg_l)
        )
    return False


def score_lead(lead: LeadContext) -> tuple[int, str, tuple[str, ...]]:
    """(score, grade, reasons) where each reason reads like '+25 heat pump install is our highest-value job'."""
    service = lead_service(lead)
    text = lead_text(lead)
    score = BASE_SCORE
    reasons: list[str] = []
    for rule in lead.business.rubric:
        if _matches(rule.when, lead, service, text):
            score += rule.points
            reasons.append(f"{rule.points:+d} {rule.reason}")
    score = max(1, min(100, score))
    return score, grade_for(score), tuple(reasons)


def next_action(lead: LeadContext, grade: str) -> NextAction:
    """Call the hot ones now, chase the warm ones fast, nurture the rest, decline what is not a lead."""
    cat = lead.triage.category
    if cat in (Category.SPAM, Category.OPT_OUT):
        return NextAction.POLITE_DECLINE
    if grade == "A" or lead.triage.has(SignalName.URGENT) or cat == Category.HUMAN_REQUEST:
        return NextAction.CALL_NOW
    if grade == "D":
        return NextAction.NURTURE
    if grade == "C" and cat not in (Category.SALES_INQUIRY, Category.PRICING_QUESTION, Category.BOOKING):
        return NextAction.NURTURE
    return NextAction.FAST_CADENCE


def brief_flags(lead: LeadContext, service: str | None) -> list[str]:
    """Where a closer should look twice."""
    flags = list(lead.triage.flags)
    if service is None:
        flags.append("no service of ours named: check what they need")
    if not (lead.contact_phone or lead.contact_email):
        flags.append("no phone or email on file")
    if lead.triage.has(SignalName.MENTIONS_COMPETITOR):
        flags.append("mentions a competitor or other quotes")
    if lead.triage.has(SignalName.PROMPT_INJECTION):
        flags.append("message tries to instruct the assistant")
    if lead.triage.category not in (
        Category.SALES_INQUIRY,
        Category.PRICING_QUESTION,
        Category.BOOKING,
        Category.LEAD_REPLY,
    ):
        flags.append(f"triaged as {lead.triage.category.value}, not a sales inquiry")
    return flags
