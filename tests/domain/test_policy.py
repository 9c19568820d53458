"""Policy decides from structured triage: every handoff rule and every autonomy level."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from sheepdog.domain.models import (
    Autonomy,
    Category,
    DecisionKind,
    Extracted,
    GuardrailResult,
    Money,
    Signal,
    SignalName,
    Triage,
)
from sheepdog.domain.policy import PolicyInput, decide

OK = GuardrailResult(True)
FACTS = PolicyInput(
    autonomy=Autonomy.L4, purpose="first_reply", guardrails=OK, refund_threshold=Money(Decimal(150), "USD")
)


def t(cat: Category, conf: float = 0.9, *signals: SignalName, refund: str | None = None) -> Triage:
    ex = Extracted(refund_amount=Money(Decimal(refund), "USD") if refund else None)
    return Triage(cat, conf, tuple(Signal(s, 0.9) for s in signals), ex)


def test_L4_sends_first_reply_to_a_new_inquiry() -> None:
    assert decide(t(Category.SALES_INQUIRY), FACTS).kind == DecisionKind.SEND


def test_L3_makes_everything_wait() -> None:
    d = decide(t(Category.SALES_INQUIRY), replace(FACTS, autonomy=Autonomy.L3))
    assert d.kind == DecisionKind.APPROVE and "L3" in d.reasons[0]


def test_L5_sends_but_never_past_a_guardrail() -> None:
    facts = replace(FACTS, autonomy=Autonomy.L5)
    assert decide(t(Category.LEAD_REPLY), replace(facts, purpose="reply")).kind == DecisionKind.SEND
    failed = replace(facts, guardrails=GuardrailResult(False, ("quotes a price not in your price list",)))
    d = decide(t(Category.SALES_INQUIRY), failed)
    assert d.kind == DecisionKind.APPROVE and "price" in d.reasons[0]


@pytest.mark.parametrize("autonomy", list(Autonomy))
def test_complaint_alerts_now_and_pauses_the_cadence_at_every_level(autonomy: Autonomy) -> None:
    d = decide(t(Category.COMPLAINT), replace(FACTS, autonomy=autonomy, purpose="reply"))
    assert d.kind == DecisionKind.HANDOFF and d.urgent and d.pause_cadence


def test_frustration_signal_is_handed_off_even_on_a_question() -> None:
    d = decide(t(Category.ROUTINE_QUESTION, 0.9, SignalName.FRUSTRATED), replace(FACTS, purpose="reply"))
    assert d.kind == DecisionKind.HANDOFF and d.urgent


def test_pricing_question_reaches_a_human_within_15_minutes() -> None:
    d = decide(t(Category.PRICING_QUESTION), replace(FACTS, purpose="reply"))
    assert d.kind == DecisionKind.HANDOFF and d.notify and d.notify_within_s == 900
    d = decide(t(Category.SALES_INQUIRY, 0.9, SignalName.PRICE_ASKED), FACTS)
    assert d.kind == DecisionKind.HANDOFF and "pricing" in d.reasons[0]


def test_refunds_within_and_above_the_threshold() -> None:
    within = decide(t(Category.REFUND_REQUEST, refund="120"), FACTS)
    assert within.kind == DecisionKind.HANDOFF and not within.urgent and "within" in within.reasons[0]
    above = decide(t(Category.REFUND_REQUEST, refund="900"), FACTS)
    assert above.kind == DecisionKind.HANDOFF and above.urgent and "above" in above.reasons[0]
    unknown = decide(t(Category.REFUND_REQUEST), FACTS)
    assert unknown.kind == DecisionKind.HANDOFF and unknown.urgent
    # L5 never refunds on its own.
    assert (
        decide(t(Category.REFUND_REQUEST, refund="20"), replace(FACTS, autonomy=Autonomy.L5)).kind
        == DecisionKind.HANDOFF
    )


def test_referral_and_returning_customer_go_straight_to_a_human() -> None:
    assert decide(t(Category.SALES_INQUIRY), replace(FACTS, referral="Maria")).kind == DecisionKind.HANDOFF
    assert (
        decide(t(Category.SALES_INQUIRY), replace(FACTS, returning_customer=True)).kind
        == DecisionKind.HANDOFF
    )


def test_booking_is_confirmed_by_a_human() -> None:
    assert decide(t(Category.BOOKING), replace(FACTS, purpose="reply")).kind == DecisionKind.HANDOFF


def test_nothing_is_sent_to_spam_bounces_or_people_who_opted_out() -> None:
    assert decide(t(Category.SPAM), FACTS).kind == DecisionKind.DROP
    assert decide(t(Category.SALES_INQUIRY), replace(FACTS, auto_message=True)).kind == DecisionKind.DROP
    opt = decide(t(Category.OPT_OUT), FACTS)
    assert opt.kind == DecisionKind.DROP and opt.stop_cadence
    # Someone who opted out and writes again: a person decides, nothing automated goes out.
    wrote_again = decide(t(Category.SALES_INQUIRY), replace(FACTS, opted_out=True))
    assert wrote_again.kind == DecisionKind.HANDOFF and "opted out earlier" in wrote_again.reasons[0]
    touch = decide(t(Category.SALES_INQUIRY), replace(FACTS, opted_out=True, purpose="follow_up"))
    assert touch.kind == DecisionKind.DROP


def test_L5_never_automates_referrals_or_returning_customers() -> None:
    facts = replace(FACTS, autonomy=Autonomy.L5)
    assert decide(t(Category.SALES_INQUIRY), replace(facts, referral="Maria")).kind == DecisionKind.HANDOFF
    assert (
        decide(t(Category.SALES_INQUIRY), replace(facts, returning_customer=True)).kind
        == DecisionKind.HANDOFF
    )


def test_low_confidence_is_flagged_never_guessed() -> None:
    d = decide(t(Category.SALES_INQUIRY, 0.3), FACTS)
    assert d.kind == DecisionKind.APPROVE and "unsure" in d.reasons[0]


def test_prompt_injection_waits() -> None:
    d = decide(
        t(Category.SALES_INQUIRY, 0.9, SignalName.PROMPT_INJECTION), replace(FACTS, autonomy=Autonomy.L5)
    )
    assert d.kind == DecisionKind.APPROVE


def test_routine_question_goes_out_only_when_answered_from_the_faq() -> None:
    facts = replace(FACTS, purpose="reply")
    assert decide(t(Category.ROUTINE_QUESTION), facts).kind == DecisionKind.APPROVE
    assert (
        decide(t(Category.ROUTINE_QUESTION), replace(facts, answered_from_faq=True)).kind == DecisionKind.SEND
    )


def test_cadence_step_marked_for_approval_always_waits() -> None:
    facts = replace(FACTS, purpose="final_outreach", step_needs_approval=True, autonomy=Autonomy.L5)
    assert decide(t(Category.SALES_INQUIRY), facts).kind == DecisionKind.APPROVE
    assert decide(
        t(Category.SALES_INQUIRY), replace(facts, step_needs_approval=False, autonomy=Autonomy.L4)
    ).kind == (DecisionKind.SEND)


def test_a_guess_never_drops_a_lead_or_opts_anyone_out() -> None:
    unsure_spam = decide(t(Category.SPAM, 0.3), FACTS)
    assert unsure_spam.kind == DecisionKind.APPROVE and "unsure" in unsure_spam.reasons[0]
    unsure_stop = decide(t(Category.OPT_OUT, 0.3), FACTS)
    assert unsure_stop.kind == DecisionKind.APPROVE and not unsure_stop.stop_cadence
    assert decide(t(Category.SPAM, 0.9), FACTS).kind == DecisionKind.DROP
    # A channel that knows (honeypot, carrier keyword) drops whatever the confidence.
    assert (
        decide(t(Category.SALES_INQUIRY, 0.2), replace(FACTS, spam_reason="honeypot")).kind
        == DecisionKind.DROP
    )


def test_an_unsure_complaint_waits_without_an_alert_but_anger_still_alerts() -> None:
    """A guess never acts: 35% 'complaint' waits for a person with the doubt shown, and pauses
    nothing; anger the rules are sure of still raises the alert."""
    unsure = decide(t(Category.COMPLAINT, 0.35), FACTS)
    assert unsure.kind == DecisionKind.APPROVE and not unsure.urgent and not unsure.pause_cadence
    assert any("unsure" in r for r in unsure.reasons)
    angry = decide(t(Category.COMPLAINT, 0.35, SignalName.FRUSTRATED), FACTS)
    assert angry.kind == DecisionKind.HANDOFF and angry.urgent and angry.pause_cadence
    sure = decide(t(Category.COMPLAINT, 0.9), FACTS)
    assert sure.kind == DecisionKind.HANDOFF and sure.urgent


def test_an_unsure_guess_about_a_referral_still_goes_to_a_human() -> None:
    decision = decide(t(Category.OTHER, 0.3), replace(FACTS, referral="Maria"))
    assert decision.kind == DecisionKind.HANDOFF
