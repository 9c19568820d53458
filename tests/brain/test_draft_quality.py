"""Draft quality over a table of realistic messages: every category, every channel, with and
without dates, services, amounts, another language. For each: the service named (and never a
different one), the date confirmed as asked (or none invented), first person with a signature,
no price that is not in the price list, and what policy decides (send on its own or a person)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from sheepdog.brain.drafts import faq_answer
from sheepdog.brain.offline import OfflineBrain
from sheepdog.domain.guardrails import check_draft
from sheepdog.domain.models import (
    Autonomy,
    Business,
    Category,
    Channel,
    DecisionKind,
    Direction,
    DraftRequest,
    HistoryItem,
    LeadContext,
)
from sheepdog.domain.policy import PolicyInput, decide

NOW = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # a Sunday; Thursday Dec 3 is four days ahead
SERVICES = ("Heat pump installation", "AC repair", "Furnace tune-up", "Duct cleaning")
LIMITS = {Channel.SMS: 320}


@dataclass(frozen=True)
class Case:
    text: str
    channel: Channel
    category: Category | None = None  # None: any category (the point of the row is elsewhere)
    service: str | None = None  # the service the draft must name (and no other service)
    not_service: str | None = None  # a service the draft must never name
    when: str | None = None  # the requested time the draft repeats as asked
    sent_alone: bool = False  # at L4 the first reply goes out on its own
    fields: tuple[tuple[str, str], ...] = ()


CASES = [
    Case(
        "Hi, our AC is making a loud rattling noise since yesterday. Can someone take a look?",
        Channel.WEBFORM,
        service="AC repair",
        not_service="Furnace tune-up",
        sent_alone=True,
        fields=(("service", "Furnace tune-up"),),  # the form's default never beats their words
    ),
    Case(
        "Our heat pump buzzes really loudly at night, is that something you can fix?",
        Channel.SMS,
        not_service="Heat pump installation",
        sent_alone=True,
    ),
    Case(
        "Hi, we'd like a quote to install a heat pump in our 3-bed house.",
        Channel.EMAIL,
        category=Category.SALES_INQUIRY,
        service="Heat pump installation",
    ),
    Case(
        "Could you come out for the AC on Thursday Dec 3, 8–11? It is not cooling at all.",
        Channel.EMAIL,
        service="AC repair",
        when="Thursday Dec 3, 8–11",
    ),
    Case(
        "I'd like to book a furnace tune-up, Friday at 10 if you have it",
        Channel.TELEGRAM,
        category=Category.BOOKING,
        when="Friday at 10",
    ),
    Case(
        "I asked about a furnace tune-up on Nov 10 and never heard back. Still need it done.",
        Channel.EMAIL,
        service="Furnace tune-up",
        # Since issue 16b's real training data this reads 59% sales inquiry, 15% complaint ("never
        # heard back"): under the auto-reply floor, so it waits for a person (it was sent alone).
        sent_alone=False,
    ),
    Case(
        "How much is a furnace tune-up?",
        Channel.SMS,
        category=Category.PRICING_QUESTION,
        service="Furnace tune-up",
    ),
    Case("Are you open on Saturdays?", Channel.WEBHOOK, category=Category.ROUTINE_QUESTION, sent_alone=True),
    Case("Where is my technician? He was due at 9 this morning", Channel.SMS),
    Case(
        "The crew damaged my fence and left a mess. Very disappointed.",
        Channel.EMAIL,
        category=Category.COMPLAINT,
    ),
    Case(
        "You charged me twice for the tune-up, $129 each. Please refund one. Thanks!",
        Channel.EMAIL,
        category=Category.REFUND_REQUEST,
    ),
    Case("Please cancel my appointment next week", Channel.SMS, category=Category.CANCELLATION),
    Case("Can I talk to a real person please?", Channel.TELEGRAM, category=Category.HUMAN_REQUEST),
    Case("STOP", Channel.SMS, category=Category.OPT_OUT),
    Case("how can I file a complaint against your business?", Channel.WEBFORM),
    Case(
        "Hola, mi aire acondicionado hace un ruido muy fuerte. ¿Pueden venir el jueves por la mañana?",
        Channel.WEBFORM,
    ),
    Case(
        "Bonjour, je voudrais un devis pour l'installation d'une pompe à chaleur, merci.",
        Channel.EMAIL,
    ),
    Case(
        "Any update on my quote #4471? You were going to send it Friday",
        Channel.EMAIL,
        Category.STATUS_INQUIRY,
    ),
    Case(
        "Can you do the heat pump install for $2,000 flat? That's what the other guys quoted.",
        Channel.SMS,
        service="Heat pump installation",  # the draft never names a price of its own, least of all $2,000
    ),
    Case(
        "WINNER!! You have been selected for a £900 prize. To claim call 09061701461. Claim code KL341.",
        Channel.SMS,
        Category.SPAM,
    ),
    Case("How do I reset the password for your customer portal?", Channel.WEBHOOK, Category.OTHER),
]


@pytest.fixture(scope="module")
def brain() -> OfflineBrain:
    return OfflineBrain(clock=lambda: NOW)


def _lead(business: Business, case: Case, brain: OfflineBrain) -> LeadContext:
    triage = brain.triage(case.text, business)
    return LeadContext(
        business=business,
        channel=case.channel,
        contact_name="Sam Rivera",
        contact_email="sam@example.com",
        contact_phone="+15125550100",
        source=None,
        history=(HistoryItem(Direction.INBOUND, case.text, NOW, case.channel),),
        triage=triage,
        fields=dict(case.fields),
    )


def _named(body: str, service: str) -> bool:
    return service.lower() in body.lower()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.channel.value}:{c.text[:30]}" for c in CASES])
def test_draft_quality(case: Case, business: Business, brain: OfflineBrain) -> None:
    lead = _lead(business, case, brain)
    triage = lead.triage
    if case.category is not None:
        assert triage.category == case.category, (case.text, triage)
    limit = LIMITS.get(case.channel)
    draft = brain.draft(DraftRequest(lead, "first_reply", max_chars=limit))
    body = draft.body
    if limit:
        assert len(body) <= limit
    # The service: the one they wrote about, never another one and never an installation for a repair.
    if case.service:
        assert _named(body, case.service) or case.service.split()[0].lower() in body.lower(), body
    for other in SERVICES:
        if other != case.service and triage.category not in (Category.OPT_OUT,):
            assert not _named(body, other), f"names {other!r}: {body}"
    if case.not_service:
        assert not _named(body, case.not_service), body
    # The date: repeated exactly as asked when they asked for a time still to come; never a past one.
    if case.when:
        assert triage.extracted.requested_time == case.when
        assert case.when in body and "confirm" in body, body
    else:
        assert ("Nov 10" not in body and "You asked for" not in body) or triage.extracted.requested_time
    # First person with a signature: the signer never speaks of themself in the third person.
    assert business.signature and business.signature.startswith("Dana")
    assert not re.search(r"\bDana (?:will|who will)\b|\bpassed [^.]* to Dana\b|\bcheck with Dana\b", body), (
        body
    )
    # No price that is not in the price list.
    allowed = {str(s.price) for s in business.services if s.price is not None}
    for price in re.findall(r"\$\s?\d[\d,.]*", body):
        assert price.replace(" ", "").rstrip(".,") in allowed, f"price {price} not in the list: {body}"
    # The decision: at L4 only a confident, plain, English first reply goes out on its own.
    checked = check_draft(
        body, business, inbound_text=case.text, triage=triage, channel=case.channel, max_chars=limit
    )
    from_faq = triage.category == Category.ROUTINE_QUESTION and faq_answer(case.text, business) is not None
    decision = decide(triage, PolicyInput(Autonomy.L4, "first_reply", checked, answered_from_faq=from_faq))
    if case.sent_alone:
        assert decision.kind == DecisionKind.SEND, decision
    else:
        assert decision.kind != DecisionKind.SEND, (case.text, decision)
    # Nothing a customer with a problem wrote is dropped as spam.
    if triage.category != Category.SPAM:
        assert decision.kind != DecisionKind.DROP or triage.category == Category.OPT_OUT


def test_another_language_is_flagged_for_a_person_and_never_sent_alone(
    business: Business, brain: OfflineBrain
) -> None:
    text = "Hola, mi aire acondicionado hace un ruido muy fuerte. ¿Pueden venir el jueves por la mañana?"
    lead = _lead(business, Case(text, Channel.WEBFORM), brain)
    assert lead.triage.extracted.language == "es"
    assert any("Spanish" in f for f in lead.triage.flags)
    draft = brain.draft(DraftRequest(lead, "first_reply"))
    assert draft.note and "Spanish" in draft.note
    brief = brain.brief(lead)
    assert "writes in Spanish" in brief.summary
    for level in Autonomy:
        checked = check_draft(
            draft.body,
            business,
            inbound_text=text,
            triage=lead.triage,
            channel=Channel.WEBFORM,
            max_chars=None,
        )
        assert decide(lead.triage, PolicyInput(level, "first_reply", checked)).kind != DecisionKind.SEND


def test_brief_says_price_only_when_asked_and_dates_only_when_ahead(
    business: Business, brain: OfflineBrain
) -> None:
    def summary(text: str) -> str:
        return brain.brief(_lead(business, Case(text, Channel.EMAIL), brain)).summary

    assert "asked about price" not in summary("You charged me twice for the tune-up, $129 each... thanks!")
    assert "asked about price" in summary("How much do you charge for duct cleaning?")
    past = summary("I asked about a furnace tune-up on Nov 10 and never heard back.")
    assert "asked for Nov 10" not in past
    assert "asked for Thursday Dec 3, 8–11" in summary("Can you come Thursday Dec 3, 8–11 for the AC?")
    assert "Heat pump installation" not in summary("Our heat pump buzzes really loudly at night")


def test_a_polite_wrong_charge_is_not_frustrated(business: Business, brain: OfflineBrain) -> None:
    triage = brain.triage("Hi, I think I was charged twice for last week's visit... thanks!", business)
    assert all(s.name.value != "frustrated" for s in triage.signals)


def test_spam_only_on_evidence(business: Business, brain: OfflineBrain) -> None:
    """A complaint is never held as spam; a bulk pitch is, whatever the classifier thought."""
    complaint = brain.triage("how can I file a complaint against your business?", business)
    assert complaint.category != Category.SPAM
    pitch = brain.triage(
        "WINNER!! You have been selected for a £900 prize. To claim call 09061701461. Claim code KL341. "
        "Valid 12 hours only. T&Cs apply",
        business,
    )
    assert pitch.category == Category.SPAM
    # The classifier's word alone holds nothing: a plain message it scores as spam is let through.
    plain = brain.triage("Get to page one fast with our team", business)
    if plain.category == Category.SPAM:
        from sheepdog.brain import rules

        assert rules.spam_evidence("Get to page one fast with our team") is not None


def test_demoting_an_untrusted_opt_out_never_promotes_spam(business: Business) -> None:
    """A guess of opt-out without a word about contact is set aside, and so is a guess of spam
    without evidence: setting one aside must not put the other on top. (A model whose first guess
    was opt-out and second spam held "Pls pls find out from aunt nike." as spam.)"""
    from sheepdog.brain import classifier as C
    from sheepdog.brain import rules

    text = "Pls pls find out from aunt nike."
    assert rules.spam_evidence(text) is None
    examples = [("pls pls aunt nike", "opt_out")] * 6 + [("find out", "spam")] * 3
    examples += [
        (f"{c.value.replace('_', ' ')} example {word}", c.value)
        for c in Category
        for word in ("one", "two", "three")
    ]
    model = C.fit([t for t, _ in examples], [c for _, c in examples])
    ranked = sorted(C.Classifier(model=model).predict_proba(text).items(), key=lambda kv: -kv[1])
    assert [c for c, _ in ranked[:2]] == ["opt_out", "spam"]  # the situation the fix is for
    brain = OfflineBrain()
    brain.classifier = C.Classifier(model=model)
    assert brain.triage(text, business).category not in (Category.SPAM, Category.OPT_OUT)


def test_unsure_or_sensitive_first_replies_wait_for_a_person(business: Business, brain: OfflineBrain) -> None:
    lead = _lead(
        business, Case("Do you install heat pumps? Also I want to cancel my old plan", Channel.EMAIL), brain
    )
    checked = check_draft(
        "Hi", business, inbound_text="x", triage=lead.triage, channel=Channel.EMAIL, max_chars=None
    )
    decision = decide(lead.triage, PolicyInput(Autonomy.L4, "first_reply", checked))
    assert decision.kind != DecisionKind.SEND
    assert any("cancel" in r for r in decision.reasons) or lead.triage.category == Category.CANCELLATION
    # Confident and plain: the same kind of message goes out on its own; unsure: a person first.
    sure = replace(lead.triage, category=Category.SALES_INQUIRY, confidence=0.9, signals=())
    assert decide(sure, PolicyInput(Autonomy.L4, "first_reply", checked)).kind == DecisionKind.SEND
    unsure = brain.triage("heat pump?? maybe", business)
    if unsure.confidence < 0.7 and unsure.category == Category.SALES_INQUIRY:
        assert decide(unsure, PolicyInput(Autonomy.L4, "first_reply", checked)).kind != DecisionKind.SEND


def test_an_owner_edit_shifts_later_drafts(business: Business, brain: OfflineBrain) -> None:
    """The phrase the owner wrote into an edited draft is the one the next draft uses."""
    case = Case("Do you do duct cleaning? Our vents are dusty.", Channel.EMAIL)
    lead = _lead(business, case, brain)
    before = brain.draft(DraftRequest(lead, "first_reply")).body
    edited = (
        "Hi Jo, thanks a million for getting in touch! We can clean the ducts this month. "
        "Book here: https://brightside.example/book - Dana"
    )
    after_lead = replace(lead, voice_examples=(*business.voice_examples, edited))
    after = brain.draft(DraftRequest(after_lead, "first_reply")).body
    assert "thanks a million for getting in touch!" not in before
    assert "thanks a million for getting in touch!" in after, after
