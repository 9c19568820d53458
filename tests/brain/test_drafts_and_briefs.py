"""Offline briefs (rubric score, grade, reasons, next action) and drafts (voice, channel fit, guardrails)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sheepdog.brain.drafts import PURPOSES
from sheepdog.brain.offline import OfflineBrain
from sheepdog.brain.voice import learn_style
from sheepdog.domain.guardrails import check_draft
from sheepdog.domain.models import (
    Business,
    Category,
    Channel,
    Direction,
    DraftRequest,
    HistoryItem,
    LeadContext,
    NextAction,
)


def lead_for(
    brain: OfflineBrain,
    business: Business,
    text: str,
    *,
    channel: Channel = Channel.SMS,
    name: str | None = "Sam Lee",
    phone: str | None = "+15125550100",
    **kw: object,
) -> LeadContext:
    triage = brain.triage(text, business)
    history = (HistoryItem(Direction.INBOUND, text, datetime.now(UTC), channel),)
    return LeadContext(business, channel, name, None, phone, "website", history, triage, **kw)  # type: ignore[arg-type]


def test_brief_scores_against_the_rubric(brain: OfflineBrain, business: Business) -> None:
    lead = lead_for(brain, business, "Our heat pump died, need a new one installed today")
    b = brain.brief(lead)
    assert b.score == 40 + 25 + 10 + 15 + 10 and b.grade == "A"
    assert "+25 heat pump install is our highest-value job" in b.reasons
    assert b.next_action == NextAction.CALL_NOW
    assert "Sam Lee" in b.summary and "Heat pump installation" in b.summary and "Score 100" in b.summary


def test_brief_penalty_and_flags(brain: OfflineBrain, business: Business) -> None:
    lead = lead_for(brain, business, "I rent a flat, can someone look at the AC?", phone=None)
    b = brain.brief(lead)
    assert b.score == 40 + 10 - 10 and b.grade == "C"
    assert any("tenant" in r for r in b.reasons)
    assert "no phone or email on file" in b.flags


def test_keyword_rules_match_whole_words(brain: OfflineBrain, business: Business) -> None:
    b = brain.brief(lead_for(brain, business, "The current AC is weak", phone=None))
    assert not any("tenant" in r for r in b.reasons)


def test_brief_without_service_is_flagged_and_nurtured(brain: OfflineBrain, business: Business) -> None:
    b = brain.brief(lead_for(brain, business, "Do you sell garden gnomes?", phone=None))
    assert b.grade == "C" and b.score == 40
    assert any("no service of ours" in f for f in b.flags)


def test_spam_gets_a_polite_decline(brain: OfflineBrain, business: Business) -> None:
    b = brain.brief(lead_for(brain, business, "We can boost your SEO rankings, reply for a free audit"))
    assert b.next_action == NextAction.POLITE_DECLINE


@pytest.mark.parametrize("purpose", sorted(PURPOSES))
@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL])
def test_every_purpose_fits_the_channel_and_passes_guardrails(
    brain: OfflineBrain, business: Business, purpose: str, channel: Channel
) -> None:
    text = "Hi, my AC stopped cooling. Can someone come this week?"
    lead = lead_for(brain, business, text, channel=channel)
    limit = 320 if channel == Channel.SMS else None
    d = brain.draft(DraftRequest(lead, purpose, max_chars=limit))
    assert d.body and d.backend == "offline"
    if limit:
        assert len(d.body) <= limit
    assert d.body.count("?") <= 1, d.body  # at most one qualifying question
    assert "still interested" not in d.body.lower()
    result = check_draft(
        d.body, business, inbound_text=text, triage=lead.triage, channel=channel, max_chars=limit
    )
    assert result.ok, (purpose, d.body, result.reasons)


def test_first_reply_is_personal(brain: OfflineBrain, business: Business) -> None:
    lead = lead_for(brain, business, "Do you install mini splits? Looking at one for the office")
    d = brain.draft(DraftRequest(lead, "first_reply", max_chars=320))
    assert d.body.startswith("Hey Sam,")  # the owner's greeting, the lead's first name
    assert "heat pump installation" in d.body.lower()
    assert business.booking_link in d.body
    assert d.body.rstrip().endswith("- Dana")
    assert d.body.count("?") == 1


def test_routine_question_answered_from_faq(brain: OfflineBrain, business: Business) -> None:
    lead = lead_for(brain, business, "What are your opening hours on Saturday?")
    assert lead.triage.category == Category.ROUTINE_QUESTION
    d = brain.draft(DraftRequest(lead, "reply", max_chars=320))
    assert business.faq["hours"] in d.body


def test_price_only_from_the_price_list(brain: OfflineBrain, business: Business) -> None:
    listed = brain.draft(
        DraftRequest(lead_for(brain, business, "How much is a furnace tune-up?"), "first_reply")
    )
    assert "$129" in listed.body
    unlisted = brain.draft(
        DraftRequest(lead_for(brain, business, "How much for a heat pump install?"), "first_reply")
    )
    assert not re.search(r"[$€£]\s?\d", unlisted.body)


@pytest.mark.parametrize(
    "text",
    [
        "I want my $500 deposit back now",
        "You damaged my fence!!",
        "Can you come Friday at 10?",
        "Where is my technician?",
    ],
)
def test_sensitive_replies_promise_nothing(brain: OfflineBrain, business: Business, text: str) -> None:
    lead = lead_for(brain, business, text)
    d = brain.draft(DraftRequest(lead, "reply", max_chars=320))
    r = check_draft(
        d.body, business, inbound_text=text, triage=lead.triage, channel=Channel.SMS, max_chars=320
    )
    assert r.ok, (d.body, r.reasons)
    assert "$500" not in d.body


def test_voice_learns_from_later_edits(brain: OfflineBrain, business: Business) -> None:
    edits = (
        "Hiya Jo, cheers for getting in touch. Which room is it for? Book: https://brightside.example/book"
        "\n- Dana",
    ) * 3
    lead = lead_for(brain, business, "Need a heat pump", voice_examples=(*business.voice_examples, *edits))
    d = brain.draft(DraftRequest(lead, "first_reply", max_chars=320))
    assert d.body.startswith("Hiya Sam,") and "cheers for getting in touch" in d.body
    style = learn_style(edits)
    assert style.greeting == "Hiya" and not style.exclaim


def test_sms_limit_is_respected_even_when_tight(brain: OfflineBrain, business: Business) -> None:
    lead = lead_for(brain, business, "Do you do duct cleaning?", name="Maximiliana Featherstonehaugh")
    d = brain.draft(DraftRequest(lead, "value", max_chars=120))
    assert len(d.body) <= 120


def test_no_booking_link_falls_back_to_contact(brain: OfflineBrain, business: Business) -> None:
    plain = replace(business, booking_link=None)
    lead = lead_for(brain, plain, "Do you do duct cleaning?")
    d = brain.draft(DraftRequest(lead, "first_reply", max_chars=320))
    assert "http" not in d.body and (plain.phone or plain.email) in d.body
