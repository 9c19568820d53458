"""The mapping of the real evaluation sources onto TRIAGE.md's categories (bench/triage/datagen):
a source label that is wider than our category must not be scored as that category."""

from __future__ import annotations

import pytest

from bench.triage.datagen.import_real import _QUESTION, nlupp_label
from bench.triage.datagen.import_sgd import label_of


@pytest.mark.parametrize(
    ("text", "intents", "domain", "label"),
    [
        ("Let me talk to a person", {"handoff"}, "banking", "human_request"),
        ("this is really frustrating", {"handoff"}, "banking", None),  # no one asked for
        ("I want to cancel my card", {"cancel_close_leave_freeze"}, "banking", "cancellation"),
        ("Someone stole my card, freeze it now!", {"cancel_close_leave_freeze"}, "banking", None),
        ("thanks, I'll leave the room before 7", {"cancel_close_leave_freeze"}, "hotels", None),
        ("I want a refund", {"refund"}, "banking", "refund_request"),
        ("I don't want a refund", {"refund"}, "banking", None),
        ("I asked for a refund but it hasnt arrived", {"refund"}, "banking", "status_inquiry"),
        ("when will I get the refund?", {"refund", "when"}, "banking", "status_inquiry"),
    ],
)
def test_nlupp_labels_follow_triage_md(text: str, intents: set[str], domain: str, label: str | None) -> None:
    assert nlupp_label(text, intents, domain) == label


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("What's the neighborhood?", True),
        ("Is there room on the patio", True),
        ("For 11:45 for 3 of us", False),
        ("I will be 4 people", False),
        ("Yes, 2018/05/02", False),
    ],
)
def test_restaurant8k_questions_are_not_counted_as_replies(text: str, question: bool) -> None:
    assert bool(_QUESTION.search(text)) is question


def test_sgd_turns_map_only_without_doubt() -> None:
    book = [("INFORM_INTENT", "intent", ["ReserveRestaurant"]), ("INFORM", "time", ["7 pm"])]
    assert label_of(book, False, "I'd like a table at 7 pm") == "booking"
    assert label_of([("AFFIRM", "", [])], True, "Yes, that works for me") == "lead_reply"
    assert label_of([("NEGATE", "", [])], True, "No, that doesn't work") is None
    assert label_of([("INFORM", "party_size", ["2"])], True, "Just the two of us") == "lead_reply"
    assert label_of([("INFORM", "time", ["noon"])], False, "Just the two of us") is None  # no booking open
    assert label_of([("REQUEST", "phone_number", [])], True, "What's their number?") == "routine_question"
    assert label_of([("REQUEST", "price_per_night", [])], True, "How much a night?") == "pricing_question"
    assert label_of([("INFORM_INTENT", "intent", ["FindRestaurants"])], False, "Find me food") is None


def test_training_letters_are_long_deterministic_and_not_all_complaints() -> None:
    """train_letters.py: long complaints told as a story beside at least as many long messages that are
    not complaints (so length never reads as complaint), the same for a seed, and shipped."""
    from collections import Counter

    from bench.triage.datagen.train_letters import letters
    from sheepdog.brain import rules
    from sheepdog.brain.classifier import load_examples

    rows = letters()
    assert rows == letters()
    counts = Counter(r["label"] for r in rows)
    assert counts["complaint"] == 220
    # needs told without a question (sales inquiries) and thanks (other): long, past tense, no ask
    assert counts["sales_inquiry"] >= 80 and counts["other"] >= 30
    assert not any("?" in r["text"] for r in rows if r["label"] == "other")
    assert sum(counts.values()) - counts["complaint"] >= counts["complaint"]
    assert min(len(r["text"].split()) for r in rows if r["label"] == "complaint") >= 20
    # a complaint letter never asks for money back or to cancel: those would be other categories
    assert not any(rules.is_refund_request(r["text"]) for r in rows if r["label"] == "complaint")
    assert not any(rules.CANCEL_ASK.search(r["text"]) for r in rows if r["label"] == "complaint")
    shipped = {t for t, _ in load_examples()}
    assert all(r["text"] in shipped for r in rows)


def test_narrative_letters_are_deterministic_consistent_and_shipped() -> None:
    """train_narratives.py (seventh round): complaint letters about the paperwork around a job, and
    calm letters in the same words. A complaint letter asks for no money back, no cancellation and
    no end to contact (those are other categories by TRIAGE.md); the calm ones are not complaints."""
    from collections import Counter

    from bench.triage.datagen.train_narratives import narratives
    from sheepdog.brain import rules
    from sheepdog.brain.classifier import load_examples

    rows = narratives()
    assert rows == narratives()
    counts = Counter(r["label"] for r in rows)
    assert counts == {"complaint": 240, "sales_inquiry": 15, "status_inquiry": 15, "other": 15}
    complaints = [r["text"] for r in rows if r["label"] == "complaint"]
    assert min(len(t.split()) for t in complaints) >= 20
    assert not any(rules.is_refund_request(t) or rules.CANCEL_ASK.search(t) for t in complaints)
    assert not any(rules.is_opt_out(t) for t in complaints)
    assert not any(" a a" in r["text"].lower() or " a account" in r["text"].lower() for r in rows)
    shipped = {t for t, _ in load_examples()}
    assert all(r["text"] in shipped for r in rows)
