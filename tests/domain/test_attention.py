"""domain.attention: which lead needs a person first, and the sentence that says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sheepdog.domain.attention import LeadFacts, Level, attention

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def facts(**kw: object) -> LeadFacts:
    base: dict[str, object] = {"now": NOW, "stage": "new", "last_at": NOW - timedelta(minutes=5)}
    return LeadFacts(**{**base, **kw})  # type: ignore[arg-type]


def test_a_pricing_question_waits_with_its_deadline_in_words() -> None:
    fresh = attention(
        facts(
            category="pricing_question",
            pending_draft=True,
            draft_reasons=("pricing question: a human within 15 minutes",),
            waiting_since=NOW - timedelta(minutes=4),
        )
    )
    assert fresh.level == Level.WAITING
    assert fresh.reason == "Waiting for you: a pricing question — answer within 15 minutes"
    late = attention(
        facts(category="pricing_question", pending_draft=True, waiting_since=NOW - timedelta(minutes=40))
    )
    assert (
        late.reason == "Waiting for you: a pricing question — answer now, 25 minutes past the 15 minutes goal"
    )


def test_urgent_words_for_complaints_upset_customers_refunds_failures_and_hot_leads() -> None:
    cases = {
        "Urgent: a complaint — answer now; follow-ups are paused": facts(
            category="complaint", pending_draft=True, draft_reasons=("complaint: alert now, cadence paused",)
        ),
        "Urgent: the customer sounds upset (a booking request) — answer now": facts(
            category="booking",
            signals=frozenset({"frustrated"}),
            needs_attention="customer sounds frustrated",
        ),
        "Urgent: a refund of $450.00, above your limit — you decide": facts(
            category="refund_request",
            pending_draft=True,
            draft_reasons=("refund of $450.00 is above your $200.00 threshold: escalated",),
        ),
        "Urgent: a new inquiry that cannot wait — answer now": facts(
            category="sales_inquiry", signals=frozenset({"urgent"}), pending_draft=True
        ),
        "Urgent: the reply did not go out (mailbox full) — reach them another way": facts(
            needs_attention="send failed: mailbox full"
        ),
        "Urgent: a hot lead — call them now, then claim it": facts(
            next_action="call_now", auto_sent_at=NOW - timedelta(minutes=1)
        ),
    }
    for words, f in cases.items():
        seen = attention(f)
        assert (seen.level, seen.reason) == (Level.URGENT, words)
    # Within the owner's refund threshold: a confirmation, not an emergency.
    small = attention(
        facts(
            category="refund_request",
            pending_draft=True,
            draft_reasons=("refund of $40.00 is within your $200.00 threshold: confirm",),
        )
    )
    assert small.reason == "Waiting for you: a refund within your limit — confirm it"
    # Claimed, the hot lead is someone's: no longer urgent.
    assert attention(facts(next_action="call_now", owner="Dana")).level == Level.OPEN


def test_policy_jargon_becomes_plain_words() -> None:
    said = {
        "L4: other waits for approval": "Waiting for you: a message — approve, edit or skip the reply",
        "L3: every message waits for approval": "Waiting for you: a message — every reply waits for your approval",
        "guardrail: mentions a price not in your price list": (
            "Waiting for you: a message — check the draft first: mentions a price not in your price list"
        ),
        "unsure what this is (other, 41% confident)": (
            "Waiting for you: Sheepdog is not sure what this message is — read it and choose"
        ),
        "referral from Sam Ortiz: a human answers personally": (
            "Waiting for you: referred by Sam Ortiz (a message) — answer personally"
        ),
    }
    for reason, words in said.items():
        assert attention(facts(category="other", pending_draft=True, draft_reasons=(reason,))).reason == words
    # With only the lead's attention line, that line names the category.
    assert attention(facts(needs_attention="booking: a human confirms personally")).reason == (
        "Waiting for you: a booking request — confirm the time personally"
    )


def test_order_urgent_then_waiting_oldest_first_then_sent_on_its_own_then_the_rest() -> None:
    leads = {
        1: facts(stage="contacted", last_at=NOW - timedelta(minutes=1)),
        2: facts(category="pricing_question", pending_draft=True, waiting_since=NOW - timedelta(minutes=3)),
        3: facts(category="booking", pending_draft=True, waiting_since=NOW - timedelta(minutes=30)),
        4: facts(auto_sent_at=NOW - timedelta(minutes=2), category="sales_inquiry"),
        5: facts(category="complaint", pending_draft=True, waiting_since=NOW - timedelta(seconds=10)),
        6: facts(stage="won"),
        7: facts(held_as_spam=True, category="spam"),
        8: facts(auto_sent_at=NOW - timedelta(minutes=20), category="sales_inquiry"),
        9: facts(next_action="call_now", pending_draft=True, waiting_since=NOW - timedelta(hours=1)),
    }
    order = sorted(leads, key=lambda i: attention(leads[i]).sort_key(i))
    assert order[:7] == [5, 9, 3, 2, 4, 8, 1]  # trouble, then the hot lead, then what waits
    assert set(order[7:]) == {6, 7}
    assert attention(leads[4]).reason == "Sent on its own: the answer to a new inquiry went out"
    assert attention(leads[7]).reason == "Held as spam — nothing was sent"
