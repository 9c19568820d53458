"""Any text at all: triage, extraction and guardrails never crash and always answer in range."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheepdog.brain.offline import OfflineBrain
from sheepdog.domain.extract import extract_all
from sheepdog.domain.guardrails import check_draft
from sheepdog.domain.models import Business, Category, Channel

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(text=TEXT, open_conversation=st.booleans())
def test_triage_total(brain: OfflineBrain, business: Business, text: str, open_conversation: bool) -> None:
    t = brain.triage(text, business, in_open_conversation=open_conversation)
    assert isinstance(t.category, Category) and 0.0 <= t.confidence <= 1.0


@FAST
@given(text=TEXT)
def test_extraction_total(business: Business, text: str) -> None:
    extract_all(text, business)


@FAST
@given(draft=TEXT, inbound=TEXT, channel=st.sampled_from(list(Channel)))
def test_guardrails_total(
    brain: OfflineBrain, business: Business, draft: str, inbound: str, channel: Channel
) -> None:
    triage = brain.triage(inbound, business)
    result = check_draft(draft, business, inbound_text=inbound, triage=triage, channel=channel, max_chars=320)
    assert result.ok == (not result.reasons)
