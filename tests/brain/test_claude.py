"""The Claude backend against a local Messages API server: tool use, caching, retries, fallbacks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sheepdog.brain import make_brain
from sheepdog.brain.claude import ClaudeBrain
from sheepdog.brain.offline import OfflineBrain
from sheepdog.config import Settings, load_settings
from sheepdog.domain.models import (
    Business,
    Category,
    Channel,
    Direction,
    DraftRequest,
    HistoryItem,
    LeadContext,
    Money,
    NextAction,
    SignalName,
    Triage,
)
from tests.brain.messages_server import MessagesServer, Reply, error, text, tool_use


def _settings(url: str, **brain: object) -> Settings:
    cfg = {
        "backend": "claude",
        "anthropic_api_key": "sk-test",
        "base_url": url,
        "timeout_s": 5.0,
        "max_retries": 1,
        "model": "claude-test-model",
        **brain,
    }
    return load_settings(environ={}, overrides={"brain": cfg})


@pytest.fixture
def claude(api: MessagesServer, brain: OfflineBrain) -> ClaudeBrain:
    return ClaudeBrain.from_settings(_settings(api.url), offline=brain)


def _lead(
    business: Business, triage: Triage, text: str = "Need a heat pump installed, it's urgent"
) -> LeadContext:
    return LeadContext(
        business=business,
        channel=Channel.SMS,
        contact_name="Sam Lee",
        contact_email=None,
        contact_phone="+15125550100",
        source="website",
        history=(HistoryItem(Direction.INBOUND, text, datetime.now(UTC), Channel.SMS),),
        triage=triage,
    )


TRIAGE_OK = {
    "category": "refund_request",
    "confidence": 0.93,
    "signals": [{"name": "frustrated", "confidence": 0.8}],
    "extracted": {"refund_amount": "120.00 USD", "order_ref": "A1234", "service": "AC repair", "name": "Sam"},
    "flags": [],
}


def test_triage_uses_tool_and_caches_the_profile(
    api: MessagesServer, claude: ClaudeBrain, business: Business
) -> None:
    api.script(tool_use("record_triage", TRIAGE_OK))
    t = claude.triage("You charged me twice for the AC repair on #A1234, I want my $120 back", business)
    assert t.backend == "claude"
    assert t.category == Category.REFUND_REQUEST
    assert t.extracted.refund_amount == Money(Decimal("120.00"), "USD")
    assert t.extracted.order_ref == "A1234"
    assert t.has(SignalName.FRUSTRATED)
    sent = api.requests[0]
    assert sent["model"] == "claude-test-model"
    assert sent["tool_choice"] == {"type": "tool", "name": "record_triage"}
    assert sent["tools"][0]["input_schema"]["properties"]["category"]["enum"][0] == "sales_inquiry"
    assert sent["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert any("Brightside Heating & Cooling" in block["text"] for block in sent["system"])
    assert "<customer_message>" in sent["messages"][0]["content"]
    key_headers = (api.headers[0].get("x-api-key"), api.headers[0].get("authorization"))
    assert "sk-test" in key_headers or "Bearer sk-test" in key_headers
    assert "anthropic-version" in api.headers[0]
    assert claude.last_usage["cache_read_input_tokens"] == 1830


def test_opt_out_rule_overrides_claude(api: MessagesServer, claude: ClaudeBrain, business: Business) -> None:
    api.script(tool_use("record_triage", {"category": "complaint", "confidence": 0.9}))
    t = claude.triage("This is awful service. Stop texting me.", business)
    assert t.category == Category.OPT_OUT
    assert any("opt-out rule overrode" in f for f in t.flags)


def test_low_confidence_from_claude_is_flagged(
    api: MessagesServer, claude: ClaudeBrain, business: Business
) -> None:
    api.script(tool_use("record_triage", {"category": "other", "confidence": 0.3}))
    t = claude.triage("hmm about the thing", business)
    assert any(f.startswith("low confidence") for f in t.flags)


@pytest.mark.parametrize(
    "bad",
    [
        tool_use("record_triage", {"category": "definitely_a_booking", "confidence": 0.9}),
        tool_use("record_triage", {"confidence": 2}),
        text("It's a booking."),  # no tool call at all
    ],
)
def test_malformed_tool_response_falls_back(
    api: MessagesServer, claude: ClaudeBrain, business: Business, bad: dict
) -> None:
    api.script(bad)
    t = claude.triage("Can I book a furnace tune-up for Friday at 10?", business)
    assert t.backend == "offline"
    assert t.category == Category.BOOKING
    assert any(
        f.startswith("Claude failed (malformed tool response") and "offline brain used" in f for f in t.flags
    )


def test_timeout_falls_back_and_says_so(api: MessagesServer, brain: OfflineBrain, business: Business) -> None:
    api.script(Reply(200, tool_use("record_triage", TRIAGE_OK), delay_s=1.5))
    slow = ClaudeBrain.from_settings(_settings(api.url, timeout_s=0.3, max_retries=0), offline=brain)
    t = slow.triage("STOP", business)
    assert t.backend == "offline"
    assert t.category == Category.OPT_OUT
    assert "Claude failed (timeout); offline brain used" in t.flags


def test_rate_limit_is_retried(api: MessagesServer, claude: ClaudeBrain, business: Business) -> None:
    api.script(
        error(429, "rate limited"), tool_use("record_triage", {"category": "booking", "confidence": 0.9})
    )
    t = claude.triage("Friday at 10 please", business)
    assert t.backend == "claude" and t.category == Category.BOOKING
    assert len(api.requests) == 2


def test_overloaded_twice_falls_back(api: MessagesServer, claude: ClaudeBrain, business: Business) -> None:
    api.script(error(529, "Overloaded"))
    t = claude.triage("Do you install heat pumps?", business)
    assert t.backend == "offline"
    assert "Claude failed (HTTP 529); offline brain used" in t.flags
    assert len(api.requests) == 2  # first try + one retry


def test_owner_correction_beats_claude(api: MessagesServer, claude: ClaudeBrain, business: Business) -> None:
    claude.learn("the blue van thing from yesterday", "booking")
    t = claude.triage("the blue van thing from yesterday", business)
    assert t.category == Category.BOOKING and api.requests == []


def test_brief_score_comes_from_the_rubric(
    api: MessagesServer, claude: ClaudeBrain, brain: OfflineBrain, business: Business
) -> None:
    api.script(
        tool_use(
            "record_brief",
            {"summary": "Sam needs a heat pump urgently.", "flags": [], "next_action": "call_now"},
        )
    )
    lead = _lead(business, brain.triage("Need a heat pump installed, it's urgent", business))
    b = claude.brief(lead)
    assert b.backend == "claude" and b.summary == "Sam needs a heat pump urgently."
    assert b.next_action == NextAction.CALL_NOW
    assert b.score == 40 + 25 + 10 + 15 + 10 and b.grade == "A"
    assert api.requests[0]["tool_choice"]["name"] == "record_brief"


def test_brief_falls_back_on_server_error(
    api: MessagesServer, claude: ClaudeBrain, brain: OfflineBrain, business: Business
) -> None:
    api.script(error(500, "internal"))
    b = claude.brief(_lead(business, brain.triage("Need a heat pump installed", business)))
    assert b.backend == "offline" and any("Claude failed (HTTP 500)" in f for f in b.flags)


def test_draft_sends_voice_with_caching(
    api: MessagesServer, claude: ClaudeBrain, brain: OfflineBrain, business: Business
) -> None:
    api.script(
        text(
            "Hey Sam, thanks for reaching out! Whole house or one room? "
            "Grab a time: https://brightside.example/book - Dana"
        )
    )
    lead = _lead(business, brain.triage("Need a heat pump installed", business))
    lead = LeadContext(
        **{**lead.__dict__, "voice_examples": (*business.voice_examples, "Hey Jo, cheers! - Dana")}
    )
    d = claude.draft(DraftRequest(lead, "first_reply", max_chars=320))
    assert d.backend == "claude" and d.body.startswith("Hey Sam")
    system = api.requests[0]["system"]
    assert system[-1]["cache_control"] == {"type": "ephemeral"}
    assert "Hey Jo, cheers! - Dana" in system[-1]["text"]
    assert "at most 320 characters" in api.requests[0]["messages"][0]["content"]


def test_draft_over_length_is_shortened(
    api: MessagesServer, claude: ClaudeBrain, brain: OfflineBrain, business: Business
) -> None:
    api.script(text("Hi Sam. " + "This sentence is filler. " * 30))
    lead = _lead(business, brain.triage("Need a heat pump installed", business))
    d = claude.draft(DraftRequest(lead, "follow_up", max_chars=160))
    assert len(d.body) <= 160 and d.note and "shortened" in d.note


def test_draft_timeout_falls_back(api: MessagesServer, brain: OfflineBrain, business: Business) -> None:
    api.script(Reply(200, text("late"), delay_s=1.5))
    slow = ClaudeBrain.from_settings(_settings(api.url, timeout_s=0.3, max_retries=0), offline=brain)
    lead = _lead(business, brain.triage("Need a heat pump installed", business))
    d = slow.draft(DraftRequest(lead, "first_reply", max_chars=320))
    assert d.backend == "offline" and d.note == "Claude failed (timeout); offline brain used"
    assert "Sam" in d.body


def test_make_brain_picks_the_backend(api: MessagesServer) -> None:
    assert isinstance(make_brain(_settings(api.url)), ClaudeBrain)
    assert isinstance(make_brain(_settings(api.url, anthropic_api_key=None)), OfflineBrain)
    assert isinstance(make_brain(load_settings(environ={})), OfflineBrain)


def test_triage_brief_and_draft_share_one_cacheable_prefix(
    api: MessagesServer, claude: ClaudeBrain, brain: OfflineBrain, business: Business
) -> None:
    """The prompt cache works on the exact prefix (tools, then system) and only past the model's
    minimum length (about 1,024 tokens): all three calls send the same prefix, long enough to cache,
    and the draft call forces no tool."""
    api.script(tool_use("record_triage", TRIAGE_OK))
    claude.triage("Need a heat pump installed", business)
    api.script(
        tool_use(
            "record_brief", {"summary": "Sam wants a heat pump.", "flags": [], "next_action": "fast_cadence"}
        )
    )
    lead = _lead(business, brain.triage("Need a heat pump installed", business))
    claude.brief(lead)
    api.script(text("Hey Sam, thanks! Whole house or one room? https://brightside.example/book - Dana"))
    claude.draft(DraftRequest(lead, "first_reply", max_chars=320))
    triage, brief, draft = api.requests[-3:]
    prefixes = [json.dumps([r["tools"], r["system"]], sort_keys=True) for r in (triage, brief, draft)]
    assert prefixes[0] == prefixes[1] == prefixes[2]
    assert len(prefixes[0]) >= 4 * 1024  # ~4 characters a token: over the cacheable minimum
    assert [r["tool_choice"] for r in (triage, brief, draft)] == [
        {"type": "tool", "name": "record_triage"},
        {"type": "tool", "name": "record_brief"},
        {"type": "none"},
    ]


def test_a_spanish_message_is_drafted_in_spanish_and_checked_by_a_person(
    api: MessagesServer, claude: ClaudeBrain, business: Business
) -> None:
    """Issue 16: Claude drafts in the customer's language, the brief names it, and a person reads
    the reply before it goes (the offline brain would not answer at all)."""
    said = (
        "Hola, necesito que revisen mi aire acondicionado, hace un ruido muy fuerte. ¿Pueden venir el jueves?"
    )
    api.script(
        tool_use(
            "record_triage", {**TRIAGE_OK, "category": "sales_inquiry", "confidence": 0.92, "signals": []}
        ),
        tool_use(
            "record_brief",
            {"summary": "Sam writes in Spanish about a noisy AC.", "flags": [], "next_action": "call"},
        ),
        text("Hola Sam, gracias por escribirnos. ¿El jueves por la mañana le viene bien? - Dana"),
    )
    triage = claude.triage(said, business)
    assert triage.extracted.language == "es"
    assert any(s.name == SignalName.NEEDS_HUMAN and "Spanish" in (s.value or "") for s in triage.signals)
    lead = _lead(business, triage, said)
    claude.brief(lead)
    assert "language=Spanish" in api.requests[1]["messages"][0]["content"]
    draft = claude.draft(DraftRequest(lead, "first_reply", max_chars=320))
    assert draft.body.startswith("Hola Sam")
    assert "Write the reply in Spanish" in api.requests[2]["messages"][0]["content"]
